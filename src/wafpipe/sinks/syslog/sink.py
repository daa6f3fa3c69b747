"""The syslog sink: the shared fsync'd spool (:mod:`wafpipe.sinks.common.spool`) in front of one
sender thread that forwards each event as a syslog message.

Why this shape (DESIGN §2), as for the cluster sinks: ``write`` must return only when a Batch is
durable, yet a receiver can be down for hours. So ``write`` renders each event's whole message
(:mod:`wafpipe.sinks.syslog.messages`), appends it to the spool and returns ``spooled``; the sender
reads the spool in order, sends, and moves the cursor only after a send succeeded; while the
receiver is down it retries with exponential backoff and jitter, the spool being the buffer.

Syslog cannot say "already have it" as a cluster answers 409, so the sink itself keeps Batches it
already spooled from being spooled again when the pipeline replays them after a crash
(:class:`~wafpipe.sinks.common.marks.Marks`). What stays at-least-once: a crash after a send and
before its cursor moved sends those messages again (RFC 5424 messages carry the event id so a
receiver can tell), and UDP confirms nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from wafpipe.failpoints import failpoint
from wafpipe.model import Batch
from wafpipe.sinks.base import Sink, WriteResult
from wafpipe.sinks.common.marks import Marks
from wafpipe.sinks.common.sending import SenderHealth, backoff_delay
from wafpipe.sinks.common.spool import Spool
from wafpipe.sinks.syslog.messages import Header, messages
from wafpipe.sinks.syslog.transport import Connection, TransportError

if TYPE_CHECKING:
    from wafpipe.model import StateRecorder

log = logging.getLogger("wafpipe.sinks.syslog")


class SyslogSink(Sink):
    """Spool + one sender for one ``[[sinks]]`` entry of type syslog."""

    def __init__(
        self, connection: Connection, *, name: str, spool_dir: Path, header: Header, fmt: str = "cef",
        batch_size: int = 500, spool_max_bytes: int = 1 << 30, state: StateRecorder | None = None,
        retry_backoff_s: float = 0.5, retry_max_backoff_s: float = 30.0, spool_block_timeout_s: float = 300.0,
    ) -> None:
        self.name = name
        self.connection = connection
        self.header = header
        self.format = fmt
        self.needs_documents = fmt == "json"  # CEF is built from the typed columns
        self.batch_size = batch_size
        self.spool = Spool(spool_dir, max_bytes=spool_max_bytes)
        self.marks = Marks(Path(spool_dir))
        self.health = SenderHealth(lambda: self.name, log, lambda: self.spool.pending_bytes, state)
        self.stats = self.health.stats
        self.backoff = (retry_backoff_s, retry_max_backoff_s)
        self.spool_block_timeout_s = spool_block_timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wlock = threading.Lock()

    # ------------------------------------------------------------------------------ Sink API
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
            rendered = list(messages(batch, self.header, self.format))
            keep = self.marks.keep(batch, [o for _, o, _ in rendered])
            fresh = [r for r, k in zip(rendered, keep, strict=True) if k]
            if fresh:
                self.spool.append(self._records(batch.file_key if batch.file_read else "", fresh),
                                  timeout=self.spool_block_timeout_s)  # fmt: skip
                failpoint("sink.syslog.after_write")  # durable in the spool; the marks not yet written
                self.marks.save(batch, max((o for _, o, _ in fresh if o is not None), default=None))
        skipped = len(rendered) - len(fresh)
        if skipped:
            with self.stats.lock:
                self.stats.duplicates += skipped
        return WriteResult(spooled=len(fresh), duplicates=skipped)

    @staticmethod
    def _records(file_key: str, fresh: list[tuple[str, int | None, bytes]]) -> Iterator[bytes]:
        """Two JSON lines per event: where it comes from, then the message (as a JSON string, so a
        message can hold any character and the spool still finds whole records)."""
        dumps = orjson.dumps
        for event_id, ordinal, message in fresh:
            yield dumps({"id": event_id, "f": file_key, "o": ordinal}) + b"\n"
            yield b'{"m":' + dumps(message.decode("utf-8", "replace")) + b"}\n"

    def flush(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            return True
        return self.spool.wait_empty(timeout)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=min(10.0, self.backoff[1] + 1))
        self.spool.close()
        self.connection.close()

    @property
    def pending_bytes(self) -> int:
        """Bytes spooled but not yet sent."""
        return self.spool.pending_bytes

    # ------------------------------------------------------------------------------ sender
    def _run(self) -> None:
        """Thread body: the oldest chunk is sent until it goes through, then acknowledged; one
        thread, so messages reach the receiver in the order they were spooled."""
        while not self._stop.is_set():
            try:
                chunk = self.spool.read(self.batch_size, 4 << 20, timeout=0.5)
            except Exception as exc:  # noqa: BLE001 - a spool failure is reported and retried
                self.health.failed(f"cannot read the spool: {type(exc).__name__}: {exc}")
                self._stop.wait(self.backoff[1])
                continue
            if chunk is None:
                continue
            lines = chunk.body.split(b"\n")
            batch = [orjson.loads(line)["m"].encode() for line in lines[1 : 2 * chunk.records : 2]]
            attempt = 0
            while not self._stop.is_set():
                with self.stats.lock:
                    self.stats.requests += 1
                try:
                    self.connection.send(batch)
                except TransportError as exc:
                    self.health.failed(str(exc))
                    self._stop.wait(backoff_delay(attempt, *self.backoff))
                    attempt += 1
                    continue
                self.health.delivered(len(batch))
                self.spool.ack(chunk)
                break
