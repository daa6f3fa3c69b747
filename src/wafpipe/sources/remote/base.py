"""What every remote source does the same way: fetch into the spool, report failures once, back
off, report its health, and run as a poll loop (``watch``) or as ``--once`` snapshots.

A subclass lists its server in :meth:`RemoteSource._poll` and hands each wanted file to
:meth:`RemoteSource._take` with a function that downloads it; everything after that is here:

* **Fetching** goes through the bounded spool (:mod:`.spool`): in ``watch`` the fetch waits for room
  (back-pressure); in a ``--once`` snapshot it stops at a full spool and sets :attr:`has_more`, and
  the collector asks again once it has stored what it got.
* **Failures** are :class:`RemoteError` s. ``auth`` and ``config`` ones (the source cannot work as
  configured) are reported once as a ``missing`` problem with the fix, which makes ``--once`` exit 2;
  ``transient`` ones (429, 5xx, a dropped connection) back off, doubling up to ``max_backoff_s``
  with jitter (or the server's ``Retry-After``). In ``--once`` a transient failure is retried a few
  times in the same run, then reported as ``unreachable`` (exit 1). ``missing`` (a file that is
  not there) is the subclass's to decide.
* **Health** is one state component per source, ``source:<name>``, with the spool's fill and what
  the subclass adds; ``/api/health`` shows it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from wafpipe import clock
from wafpipe.errors import ConfigError
from wafpipe.model import SOURCE_HEALTH_PREFIX, Context, FileRef, Problem, StateRecorder
from wafpipe.sources.base import Source
from wafpipe.sources.remote.config import RemoteSourceConfigBase
from wafpipe.sources.remote.spool import Spool, UnsafeName

log = logging.getLogger("wafpipe.sources.remote")
ONCE_ATTEMPTS = 5


def spool_and_state(config: RemoteSourceConfigBase, context: Context, default_name: str) -> tuple[Spool, StateRecorder]:
    """What every remote source's ``build`` needs: its bounded spool, and the collector's state
    (where its progress lives: a remote source runs only inside ``wafpipe run``)."""
    if context.state is None:
        raise ConfigError(f"the {default_name} source keeps its progress in the collector's state: run it "
                          "with `wafpipe run`")
    name = config.name or default_name
    spool = Spool(config.spool_path(context.data_dir, name), max_bytes=config.spool_max_bytes,
                  max_files=config.spool_max_files)
    return spool, context.state


class RemoteError(Exception):
    """A failed request. ``kind``: ``auth`` (fix the credentials), ``config`` (fix the address or the
    server's setup), ``missing`` (a file that is not there), ``denied`` (this file may not be read),
    ``unsafe`` (a name that would leave the spool: reported, never fetched), ``transient`` (retry later)."""

    def __init__(self, kind: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s


class RemoteSource(Source):
    """The shared half of a remote source; see the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        where: str,
        spool: Spool,
        state: StateRecorder,
        poll_interval_s: float,
        max_backoff_s: float,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(name, on_problem)
        self.where = where  # the server as messages show it (no credentials)
        self.spool = spool
        self.state = state
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self._failures = 0
        self._retry_after_s: float | None = None
        self._last_kind = ""
        self._once_retries = 0
        self._inflight: set[str] = set()  # remote names handed to the collector, not yet acknowledged
        self._lock = threading.Lock()
        self._newest_file_s: float | None = None  # the newest file seen on the server: lag = now - it

    @property
    def gave_up(self) -> bool:
        """``--once``: downloads failed too often in this run; stop asking again."""
        return self._once_retries >= ONCE_ATTEMPTS

    @property
    def health_name(self) -> str:
        return f"{SOURCE_HEALTH_PREFIX}{self.name}"

    # -- for subclasses --------------------------------------------------------------------------
    def _poll(self, stop: threading.Event, *, block: bool) -> list[FileRef]:
        """List the server and :meth:`_take` what is wanted; return the refs."""
        raise NotImplementedError

    def _details(self) -> dict[str, Any]:
        """What the subclass adds to its health record."""
        return {}

    def _take(
        self, remote: str, download: Callable[[BinaryIO], Any], stop: threading.Event, *, block: bool, size: int = 0
    ) -> Path | None:
        """The spool file of ``remote``: already there from an earlier run, or fetched now with
        ``download``. None when it is not (yet) to be had; :attr:`has_more` or the failure count
        then say whether the poll should stop here. Raises :class:`RemoteError` for what concerns
        this one file: ``missing``, ``denied``, ``unsafe`` (already reported)."""
        try:
            path = self.spool.existing(remote)
        except UnsafeName as exc:
            self.report("unsafe_name", remote[:200], f"{exc}: ignored, it never reaches the disk")
            raise RemoteError("unsafe", str(exc)) from None
        if path is not None:
            return path
        estimate = size or (self.spool.bytes // self.spool.files if self.spool.files else 0)
        if block:
            if not self.spool.reserve(estimate, stop, on_wait=self._spool_full):
                return None
        elif not self.spool.try_reserve(estimate):
            self.has_more = True
            return None
        try:
            return self.spool.fetch(remote, download, reserved=estimate)
        except RemoteError as exc:
            if exc.kind in ("missing", "denied"):
                raise  # about this one file: the subclass decides (a gap? a permission to report?)
            self._failed(exc)
            if not block and exc.kind == "transient":
                self._once_retry()
            return None
        except OSError as exc:
            self._failed(RemoteError("transient", f"{remote}: writing to the spool {self.spool.directory}: {exc}"))
            return None

    def _recovered(self) -> None:
        """The server answered: forget earlier failures."""
        if self._failures:
            log.info("source %s: %s answers again", self.name, self.where)
        self.resolve(self.where)
        self._failures, self._retry_after_s = 0, None

    def _failed(self, exc: RemoteError) -> None:
        self._failures += 1
        self._retry_after_s, self._last_kind = exc.retry_after_s, exc.kind
        self.counters[f"error_{exc.kind}"] += 1
        if exc.kind in ("auth", "config"):  # the source cannot work as configured: said once, with the fix
            self.report("missing", self.where, str(exc))
        elif self._failures == 1:
            log.warning("source %s: %s; retrying with back-off", self.name, exc)
        else:
            log.info("source %s: %s", self.name, exc)
        self.state.set_health(self.health_name, last_error=clock.now(), error=str(exc), details=self._health())

    def _healthy(self) -> None:
        self.state.set_health(self.health_name, last_success=clock.now(), details=self._health())

    def _saw_file(self, when_s: float | None) -> None:
        """A file of the server's, of this time (its modification or its last event): the newest one
        gives the source's lag, which grows when the server stops delivering."""
        if when_s is not None and (self._newest_file_s is None or when_s > self._newest_file_s):
            self._newest_file_s = when_s

    def _health(self) -> dict[str, Any]:
        out = {"files_in_spool": self.spool.files, "bytes_in_spool": self.spool.bytes,
               "gaps": sum(v for k, v in self.counters.items() if k.startswith("gap_")), **self._details()}
        if self._newest_file_s is not None:
            out["newest_file_s"] = self._newest_file_s
            out["lag_s"] = round(max(0.0, clock.now() - self._newest_file_s), 1)
        return out

    def _once_retry(self) -> None:
        """``--once``: a download that failed on the way is tried again in this run, a few times."""
        self._once_retries += 1
        if self._once_retries < ONCE_ATTEMPTS:
            self.has_more = True
            return
        self.report("unreachable", self.where, f"{self.where}: downloads kept failing ({self._once_retries} "
                    "attempts); the next run fetches what is left")

    def _spool_full(self) -> None:
        log.info("source %s: the spool %s is full (%d files): waiting for the collector to store some",
                 self.name, self.spool.directory, self.spool.files)

    def _wait_s(self) -> float:
        """The poll interval; after a failure the server's Retry-After, or a doubling back-off with
        jitter (so many collectors do not return at once), never longer than ``max_backoff_s``."""
        if not self._failures:
            return self.poll_interval_s
        if self._retry_after_s is not None:
            return min(self.max_backoff_s, self._retry_after_s)
        doubling = min(self.max_backoff_s, 2.0 ** min(self._failures, 16))
        return doubling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not secrecy

    def _starting_point(self, start_from: str, start_ms: int | None) -> int | None:
        """``start_from`` as epoch ms: a time as given; ``now`` as the source's first start, kept in
        the state so that a restart does not move it; ``beginning`` as None."""
        if start_from != "now":
            return start_ms
        mark = f"source:{self.name}:start_from"
        kept = self.state.sink_cursor_get(mark)
        if kept is None:
            kept = int(clock.now() * 1000)
            self.state.sink_cursor_set(mark, kept)
        return int(kept)

    def _handed(self, remote: str) -> None:
        with self._lock:
            self._inflight.add(remote)

    def _released(self, remote: str, path: str | Path) -> None:
        self.spool.remove(path)
        with self._lock:
            self._inflight.discard(remote)

    # -- the Source API --------------------------------------------------------------------------
    def snapshot_complete(self) -> list[FileRef]:
        """``--once``: what is there now and fits in the spool; :attr:`has_more` says to call again
        once those are stored (the collector does). A server that keeps failing is retried with
        back-off ``ONCE_ATTEMPTS`` times, then reported as unreachable (exit 1)."""
        self.has_more = False
        refs: list[FileRef] = []
        for _attempt in range(ONCE_ATTEMPTS):
            refs = self._poll(threading.Event(), block=False)
            if refs or not self._failures or self._last_kind != "transient":
                return refs
            time.sleep(self._wait_s())
        self.report("unreachable", self.where,
                    f"{self.where} did not answer after {ONCE_ATTEMPTS} attempts; the next run starts where this one stopped")
        return refs

    def scan(self) -> list[FileRef]:
        return self.snapshot_complete()

    def watch(self, stop: threading.Event) -> Iterator[FileRef]:
        while not stop.is_set():
            self.has_more = False
            yield from self._poll(stop, block=True)
            if stop.wait(self._wait_s()):
                return
