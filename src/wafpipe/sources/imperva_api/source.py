"""Imperva's log API as a source: poll ``logs.index``, fetch each new ``<apiId>_<seq>.log`` into the
spool, hand it to the collector, and count it processed only once it is stored.

Why it works the way it does (FORMATS §1.8, and what went wrong for the peers):

* **The cursor is a set of names, never "last + 1".** Sequence numbers skip values, and a client
  that predicted the next name looped forever. The names processed are kept in the state and
  trimmed to those still listed (plus the newest, to notice a return after a long absence).
* **Processed means stored.** A name joins the cursor in :meth:`ack`, which the collector calls
  after every sink holds the file's events, never when the download ends (a peer that saved its
  marker first lost files, one that saved ``max(processed)`` skipped failed ones). A crash in
  between fetches or re-offers the file, and the collector recognises the events it already holds.
* **Gaps are told, not hidden.** A file listed but gone from the index before we fetched it is a
  gap (warned, counted, recorded in the state and shown on ``/health``). When even the newest name
  we processed has left the index and every listed file is newer, we were away longer than Imperva
  keeps files: the gap is recorded with the time span lost (from the end of our last file to the
  start of the first one still there). Names that were never listed cannot be counted.
* **Back-off, the spool, health** are those of every remote source (:mod:`wafpipe.sources.remote.base`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from wafpipe.errors import ContainerError
from wafpipe.imperva.container import ImpervaFile
from wafpipe.model import FileRef, Problem, StateRecorder
from wafpipe.sources.base import file_key
from wafpipe.sources.imperva_api.client import ApiError, LogApi, seq_of
from wafpipe.sources.imperva_api.config import ImpervaApiSourceConfig
from wafpipe.sources.remote.base import RemoteError, RemoteSource
from wafpipe.sources.remote.spool import Spool

log = logging.getLogger("wafpipe.sources.imperva_api")


def header_times(path: str) -> tuple[int, int] | None:
    """(startTime, endTime) in epoch ms from a fetched file's header; None when it has none."""
    container = ImpervaFile.from_path(path)
    with contextlib.suppress(ContainerError, OSError):  # e.g. no key here: the header is read all the same
        container.compressed_body()
    head = container.info.header
    try:
        return int(head["starttime"]), int(head["endtime"])
    except (KeyError, ValueError):
        return None


class ImpervaApiSource(RemoteSource):
    """See the module docstring. ``ack`` may come from another thread than the polling one."""

    def __init__(
        self,
        config: ImpervaApiSourceConfig,
        api: LogApi,
        spool: Spool,
        state: StateRecorder,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(config.name or "imperva_api", where=api.shown(api.base), spool=spool, state=state,
                         poll_interval_s=config.poll_interval_s, max_backoff_s=config.max_backoff_s,
                         on_problem=on_problem)
        self.config = config
        self.api = api
        self._waiting: set[str] = set()  # listed and not processed at the last poll (also in the state)
        self._lost_after: tuple[str, int | None] | None = None  # newest processed name that left the index
        self._listed = 0

    # -- one poll --------------------------------------------------------------------------------
    def _poll(self, stop: threading.Event, *, block: bool) -> list[FileRef]:
        try:
            names, other = self.api.index()
        except ApiError as exc:
            self._failed(exc)
            return []
        self._recovered()
        self._odd_lines(other)
        listed, self._listed = set(names), len(names)
        processed = self.state.api_processed_list(self.name)
        if not processed and self.config.start_from == "now" and names:
            self.state.api_processed_add(self.name, names)  # first start: only what comes after now
            log.info("source %s: start_from = now: %d listed file(s) left alone", self.name, len(names))
            self._healthy()
            return []
        self._note_gaps(names, listed, processed)
        newest = max(processed, key=seq_of) if processed else None
        self.state.api_processed_trim(self.name, listed | ({newest} if newest else set()))
        refs: list[FileRef] = []
        for name in names:
            if name in processed or name in self._inflight or stop.is_set():
                continue
            ref = self._fetch(name, stop, block=block)
            if ref is not None:
                refs.append(ref)
            elif self.has_more or self._failures:
                break  # a full spool (--once) or a failing server: the next poll goes on
        if not self._failures:
            self._healthy()
        return refs

    def _note_gaps(self, names: list[str], listed: set[str], processed: set[str]) -> None:
        self._waiting = {n for n in names if n not in processed}
        before = self.state.api_waiting_replace(self.name, self._waiting)
        for name in sorted(before - listed - processed - self._inflight, key=seq_of):
            self._gap("index_missed", f"{name} left logs.index before it was fetched")
        newest = max(processed, key=seq_of) if processed else None
        if newest and newest not in listed and names and seq_of(names[0]) > seq_of(newest) and self._lost_after is None:
            self._lost_after = (newest, self.state.file_end_ms(self.name, newest))

    def _fetch(self, name: str, stop: threading.Event, *, block: bool) -> FileRef | None:
        try:
            path = self._take(name, lambda fh: self.api.download(name, fh), stop, block=block)
        except RemoteError as exc:  # 404: retried while listed, a gap once it leaves the index
            if exc.kind != "missing":
                return None
            self.counters["files_missing"] += 1
            log.info("source %s: %s is listed but not there (yet): retried at the next poll", self.name, name)
            return None
        if path is None:
            return None
        times = header_times(str(path))
        if times is not None:
            self._saw_file(times[1] / 1000)
        if self._lost_after is not None:
            self._record_retention_gap(name, times)
        start_ms = self.config.start_ms()
        if start_ms is not None and times is not None and times[1] < start_ms \
                and not self.state.api_processed_list(self.name):
            self.counters["files_before_start"] += 1
            self._done(name, str(path))  # ends before start_from: not wanted, and not fetched again
            return None
        size = path.stat().st_size
        self._handed(name)
        self.counters["files"] += 1
        return FileRef(self.name, name, str(path), size, 0, file_key(self.name, name, size, 0))

    def _record_retention_gap(self, first: str, times: tuple[int, int] | None) -> None:
        assert self._lost_after is not None
        last, last_end = self._lost_after
        self._lost_after = None
        span = ""
        if last_end is not None and times is not None:
            span = f": events from {_iso(last_end)} to {_iso(times[0])} are lost"
        self._gap("api_retention", f"{last} (the newest file processed) left logs.index, whose oldest file is now "
                  f"{first}: wafpipe was away longer than Imperva keeps files (up to 48 hours){span}",
                  last_end, times[0] if times else None)

    def _gap(self, kind: str, detail: str, start_ms: int | None = None, end_ms: int | None = None) -> None:
        self.counters[f"gap_{kind}"] += 1
        log.warning("source %s: gap: %s", self.name, detail)
        self.state.add_gap(kind, self.name, detail, start_ms, end_ms)

    def _odd_lines(self, lines: list[str]) -> None:
        for line in lines:
            if "/" in line or "\\" in line or ".." in line or any(ord(c) < 0x20 for c in line):
                self.report("unsafe_name", line[:200], f"logs.index lists {line[:200]!r}, which is not an Imperva "
                            "log file name and would point outside the spool: ignored")
            else:
                self.counters["index_lines_ignored"] += 1

    def _details(self) -> dict[str, Any]:
        return {"listed": self._listed, "files_pending": len(self._waiting)}

    def _done(self, name: str, path: str) -> None:
        self.state.api_processed_add(self.name, [name])
        self._released(name, path)
        self._waiting.discard(name)

    # -- the Source API --------------------------------------------------------------------------
    def ack(self, ref: FileRef) -> None:
        self._done(ref.name, ref.path)

    def close(self) -> None:
        self.api.close()


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
