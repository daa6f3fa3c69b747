"""The shape of a sink that forwards to a receiver which cannot say "already have it" (syslog,
Splunk HEC): each Batch made durable in the sink's own spool, then delivered by one sender thread,
in order (DESIGN §2).

``write`` returns once the Batch's records are fsync'd in the spool (:mod:`.spool`): a receiver
down for hours neither blocks the pipeline nor loses anything. Because such a receiver takes a
repeat as new, a Batch the pipeline replays after a crash is not spooled again (:mod:`.marks`).
The sender reads the spool's oldest chunk, hands it to the sink's ``_deliver`` and moves the
cursor only when that says it went through; one thread, so records leave in the order they were
spooled.

A sink gives what differs: ``_prepare`` (each event's line ordinal, and whatever its records are
made from), ``_records`` (two JSON lines per event: where it comes from, then what is sent),
``_deliver`` (send one chunk, retrying as the receiver needs; False when the sink stops first) and
``_close_client``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wafpipe.failpoints import failpoint
from wafpipe.model import Batch
from wafpipe.sinks.base import Sink, WriteResult
from wafpipe.sinks.common.marks import Marks
from wafpipe.sinks.common.sending import SenderHealth
from wafpipe.sinks.common.spool import Chunk, Spool

if TYPE_CHECKING:
    from wafpipe.model import StateRecorder


class SpoolingSink(Sink):
    """Spool + marks + one sender thread; see the module docstring for what a sink adds."""

    def __init__(self, *, name: str, spool_dir: Path, spool_max_bytes: int, log: logging.Logger,
                 state: StateRecorder | None, batch_size: int, read_bytes: int, max_backoff_s: float,
                 spool_block_timeout_s: float, after_write: str,
                 redact: Callable[[str], str] = str) -> None:  # fmt: skip
        self.name = name
        self.spool = Spool(spool_dir, max_bytes=spool_max_bytes)
        self.marks = Marks(Path(spool_dir))
        self.health = SenderHealth(lambda: self.name, log, lambda: self.spool.pending_bytes, state, redact)
        self.stats = self.health.stats
        self.batch_size = batch_size
        self._read_bytes = read_bytes
        self._max_backoff_s = max_backoff_s
        self._spool_block_timeout_s = spool_block_timeout_s
        self._after_write = after_write  # the failpoint between the spool append and the marks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wlock = threading.Lock()

    # -- what a sink gives -------------------------------------------------------------------------
    def _prepare(self, batch: Batch) -> tuple[list[int | None], Any]:
        """Each event's line ordinal (None: not read from a file in order), and what ``_records``
        needs to write them."""
        raise NotImplementedError

    def _records(self, batch: Batch, prepared: Any, keep: list[bool]) -> Iterator[bytes]:
        """The spool records of the events ``keep`` marks: per event a JSON line of where it comes
        from, then a JSON line of what is sent."""
        raise NotImplementedError

    def _deliver(self, chunk: Chunk) -> bool:
        """Deliver (or dead-letter) every record of ``chunk``; False when the sink stopped first."""
        raise NotImplementedError

    def _close_client(self) -> None:
        raise NotImplementedError

    # -- the Sink API ------------------------------------------------------------------------------
    def open(self) -> None:
        if self._thread is not None:
            return
        self.spool.dir.mkdir(parents=True, exist_ok=True)
        self.marks.load()
        self.spool.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-sender", daemon=True)
        self._thread.start()

    def write(self, batch: Batch) -> WriteResult:
        if not len(batch):
            return WriteResult()
        self.open()
        with self._wlock:
            ordinals, prepared = self._prepare(batch)
            keep = self.marks.keep(batch, ordinals)
            fresh = sum(keep)
            if fresh:
                self.spool.append(self._records(batch, prepared, keep), timeout=self._spool_block_timeout_s)
                failpoint(self._after_write)  # durable in the spool; the marks not yet written
                self.marks.save(batch, max((o for o, k in zip(ordinals, keep, strict=True) if k and o is not None),
                                           default=None))  # fmt: skip
        if fresh < len(batch):
            with self.stats.lock:
                self.stats.duplicates += len(batch) - fresh
        return WriteResult(spooled=fresh, duplicates=len(batch) - fresh)

    def flush(self, timeout: float | None = None) -> bool:
        return True if self._thread is None else self.spool.wait_empty(timeout)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=min(10.0, self._max_backoff_s + 1))
        self.spool.close()
        self._close_client()

    @property
    def pending_bytes(self) -> int:
        """Bytes spooled but not yet delivered."""
        return self.spool.pending_bytes

    # -- the sender --------------------------------------------------------------------------------
    def _run(self) -> None:
        """Thread body: the oldest chunk until it is delivered, then the cursor past it."""
        while not self._stop.is_set():
            try:
                chunk = self.spool.read(self.batch_size, self._read_bytes, timeout=0.5)
            except Exception as exc:  # noqa: BLE001 - a spool failure is reported and retried
                self.health.failed(f"cannot read the spool: {type(exc).__name__}: {exc}")
                self._stop.wait(self._max_backoff_s)
                continue
            if chunk is not None and self._deliver(chunk):
                self.spool.ack(chunk)
