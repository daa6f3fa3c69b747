"""Decode work, in-process or in worker processes (DESIGN §1: decoding is the CPU-heavy part).

A task is one file from a resume ordinal; its result is a stream of :class:`Chunk` messages —
batches of events in line order, the problems met, and a final message with the file's verdict.
Workers send plain picklable data only. The parent bounds the number of chunks in flight, so a
fast decoder cannot run ahead of slow sinks (back-pressure).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from wafpipe.decode.reader import FileReader, Problem
from wafpipe.model import Event


@dataclass
class Task:
    """Picklable description of one file to decode. ``path`` is read with ``open`` unless the
    source gave an in-memory ``data`` blob (remote sources spool to disk first, so rarely)."""

    task_id: int
    key: str
    name: str
    path: str
    keys_dir: str | None
    start_ordinal: int = 0
    max_line_bytes: int = 1 << 20
    fmt: str = "auto"
    store_rows: bool = False  # compute the embedded store's rows here (a DuckDB sink is configured)


@dataclass
class Chunk:
    """One message from a decode worker about ``task_id``.

    ``next_ordinal`` is the ordinal to resume from once this chunk is acknowledged. ``final`` is
    set on the last message of a file, with the container verdict in ``info``.
    """

    task_id: int
    events: list[Event] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    next_ordinal: int = 0
    final: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # an I/O error that stopped the file (permission, vanished)


def decode_task(task: Task, batch_size: int, batch_timeout_s: float) -> Iterator[Chunk]:
    """Decode one file into chunks of at most ``batch_size`` events (or ``batch_timeout_s``)."""
    path = task.path

    def opener() -> IO[bytes]:
        return open(path, "rb")

    reader = FileReader(
        opener,
        task.name,
        path,
        Path(task.keys_dir) if task.keys_dir else None,
        task.fmt,
        task.max_line_bytes,
        task.start_ordinal,
    )
    row = None
    if task.store_rows:
        from wafpipe.store.schema import store_row as row
    chunk = Chunk(task.task_id, next_ordinal=task.start_ordinal)
    started = time.monotonic()
    try:
        for item in reader.items():
            if isinstance(item, Problem):
                chunk.problems.append(item)
                if item.ordinal is not None:
                    chunk.next_ordinal = max(chunk.next_ordinal, item.ordinal + 1)
                continue
            chunk.next_ordinal = item.doc["imperva"]["waf"]["file"]["ordinal"] + 1
            chunk.events.append(item.prepare(row))
            if len(chunk.events) >= batch_size or time.monotonic() - started > batch_timeout_s:
                yield chunk
                chunk = Chunk(task.task_id, next_ordinal=chunk.next_ordinal)
                started = time.monotonic()
    except OSError as exc:
        chunk.error = f"{exc.strerror or exc}"
    info = reader.info
    chunk.final = True
    chunk.info = {
        "identity": info.identity.hex(),
        "header": dict(info.header),
        "checksum_status": info.checksum_status,
        "partial": info.partial,
        "lines": info.lines,
        "body_bytes": info.body_bytes,
        "format": reader.detected_format,
        "api_id": info.api_id,
        "seq": info.seq,
    }
    yield chunk


# -- process pool --------------------------------------------------------------------------------


def _worker_main(tasks: Any, results: Any, batch_size: int, batch_timeout_s: float) -> None:
    while True:
        task = tasks.get()
        if task is None:
            return
        try:
            for chunk in decode_task(task, batch_size, batch_timeout_s):
                results.put(chunk)
        except Exception as exc:  # a bug must not kill the worker silently
            results.put(Chunk(task.task_id, final=True, error=f"internal error: {exc!r}"))


class DecodePool:
    """``workers`` decode processes (0 = decode in the calling thread, used by tests/--workers 0)."""

    def __init__(self, workers: int, batch_size: int, batch_timeout_s: float, max_chunks: int = 8) -> None:
        self.workers = workers
        self.batch_size = batch_size
        self.batch_timeout_s = batch_timeout_s
        ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
        self._results: Any
        if workers > 0:
            self._tasks = ctx.Queue()
            # Bounded in chunks, not per worker: each chunk holds batch_size serialised events, so
            # this bound is what keeps the collector's memory flat however big the backlog.
            self._results = ctx.Queue(maxsize=max(max_chunks, workers))
            self._procs = [
                ctx.Process(
                    target=_worker_main,
                    args=(self._tasks, self._results, batch_size, batch_timeout_s),
                    daemon=True,
                    name=f"wafpipe-decode-{i}",
                )
                for i in range(workers)
            ]
            for p in self._procs:
                p.start()
        else:
            self._inline: list[Task] = []
            self._results = queue.Queue(maxsize=max_chunks)
            self._procs = []
        self._lock = threading.Lock()

    def submit(self, task: Task) -> None:
        if self.workers > 0:
            self._tasks.put(task)
        else:
            self._inline.append(task)

    def results(self, timeout: float) -> Iterator[Chunk]:
        """Chunks available now (or within ``timeout``)."""
        if self.workers == 0:
            while self._inline:
                task = self._inline.pop(0)
                yield from decode_task(task, self.batch_size, self.batch_timeout_s)
            return
        try:
            yield self._results.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            try:
                yield self._results.get_nowait()
            except queue.Empty:
                return

    def depth(self) -> int:
        try:
            return int(self._results.qsize())
        except NotImplementedError:  # pragma: no cover - macOS
            return 0

    def close(self) -> None:
        for _ in self._procs:
            self._tasks.put(None)
        for p in self._procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()


OnChunk = Callable[[Chunk], None]
