"""Decode work, in-process or in worker processes (DESIGN §1: decoding is the CPU-heavy part).

A task is one file from a resume ordinal; its result is a stream of :class:`~wafpipe.model.Batch`
es in line order, the last one final with the file's verdict. A Batch pickles as Arrow IPC plus
the JSON documents. The parent bounds the number of Batches in flight, so a fast decoder cannot run
ahead of slow sinks (back-pressure).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from wafpipe.decode.batch import BatchBuilder
from wafpipe.decode.reader import FileReader
from wafpipe.failpoints import failpoint
from wafpipe.model import Batch, FileRef, Problem


@dataclass
class Task:
    """One file to decode, as it crosses to a worker process: where to read it and from which line."""

    task_id: int
    ref: FileRef
    keys_dir: str | None
    start_ordinal: int = 0
    max_line_bytes: int = 1 << 20
    fmt: str = "auto"
    documents: bool = True  # a sink needs the JSON documents


def decode_task(task: Task, batch_size: int, batch_timeout_s: float) -> Iterator[Batch]:
    """Decode one file into Batches of at most ``batch_size`` events (or ``batch_timeout_s``)."""
    ref = task.ref
    reader = FileReader(
        partial(open, ref.path, "rb"),
        ref.name,
        ref.path,
        Path(task.keys_dir) if task.keys_dir else None,
        task.fmt,
        task.max_line_bytes,
        task.start_ordinal,
    )
    builder = BatchBuilder(ref.key, task.start_ordinal, documents=task.documents)
    started = time.monotonic()
    error: str | None = None
    try:
        for item in reader.items():
            if isinstance(item, Problem):
                builder.add_problem(item)
                continue
            builder.add(item)
            if len(builder) >= batch_size or time.monotonic() - started > batch_timeout_s:
                yield builder.build()
                failpoint("decode.after_batch")
                builder = BatchBuilder(ref.key, builder.next_ordinal, documents=task.documents)
                started = time.monotonic()
    except OSError as exc:
        error = f"{exc.strerror or exc}"
    yield builder.build(final=True, info=reader.info, format=reader.detected_format, error=error)


# -- process pool --------------------------------------------------------------------------------


def _worker_main(tasks: Any, results: Any, batch_size: int, batch_timeout_s: float) -> None:
    while True:
        task = tasks.get()
        if task is None:
            return
        try:
            for batch in decode_task(task, batch_size, batch_timeout_s):
                results.put((task.task_id, batch))
        except Exception as exc:  # a bug must not kill the worker silently
            failed = BatchBuilder(task.ref.key, task.start_ordinal).build(final=True, error=f"internal error: {exc!r}")
            results.put((task.task_id, failed))


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

    def results(self, timeout: float) -> Iterator[tuple[int, Batch]]:
        """(task id, Batch) pairs available now (or within ``timeout``)."""
        if self.workers == 0:
            while self._inline:
                task = self._inline.pop(0)
                for batch in decode_task(task, self.batch_size, self.batch_timeout_s):
                    yield task.task_id, batch
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



