"""The pool of decode worker processes (:class:`DecodePool`); why it is built this way is in
:mod:`wafpipe.collector.workers`."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING

from wafpipe.collector import transport
from wafpipe.collector.task import Task, decode_task
from wafpipe.collector.transport import TransportError
from wafpipe.collector.workers.process import WorkerProcess
from wafpipe.model import Batch

if TYPE_CHECKING:
    from wafpipe.config.root import PipelineConfig

log = logging.getLogger("wafpipe.collector.workers")

STOP_GRACE_S = 5.0  # how long close() waits for workers to finish their batch before SIGTERM


@dataclass(frozen=True)
class WorkerDied:
    """The worker decoding a task died before the task's final Batch (killed, out of memory)."""

    pid: int
    exitcode: int | None

    def describe(self) -> str:
        code = self.exitcode
        if code is None:
            return "died"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"


@dataclass(eq=False)
class _Worker:
    slot: int
    proc: WorkerProcess
    task: Task | None = None
    dead: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def conn(self) -> Connection:
        return self.proc.conn


class DecodePool:
    """``workers`` decode processes (0 = decode in the calling thread, used by tests/--workers 0).

    ``submit`` queues a task; :meth:`results` yields ``(task id, Batch)`` in each file's line order,
    or ``(task id, WorkerDied)`` when the worker decoding that task died (a replacement is already
    running; resubmitting the task is the caller's decision)."""

    def __init__(self, workers: int, batch_size: int, batch_timeout_s: float, max_chunks: int = 8) -> None:
        # max_chunks: version 1's bound on the shared result queue; a socket per worker bounds it now.
        self.workers = workers
        self.batch_size = batch_size
        self.batch_timeout_s = batch_timeout_s
        self.deaths = 0
        self._waiting: deque[Task] = deque()
        self._closed = False
        self._workers: list[_Worker] = []
        self._inline: list[Task] = []
        self._current: tuple[Task, Iterator[Batch]] | None = None  # the inline task being decoded

    @classmethod
    def configured(cls, pipeline: PipelineConfig, workers: int | None = None) -> DecodePool:
        """The collector's pool as ``[pipeline]`` sets it; ``workers`` (``run --workers``) overrides
        the count."""
        count = pipeline.workers if workers is None else workers
        return cls(count, pipeline.batch_size, pipeline.batch_timeout_s, pipeline.queue_size)

    # -- processes ---------------------------------------------------------------------------
    def _spawn(self, slot: int) -> _Worker:
        proc = WorkerProcess([str(self.batch_size), repr(self.batch_timeout_s)])
        log.debug("decode worker %d started (pid %s)", slot, proc.pid)
        return _Worker(slot, proc)

    def prestart(self, count: int) -> None:
        """Start up to ``count`` workers before any task needs them, so that their start-up (an
        interpreter, pyarrow, the core: ~0.5 s of a core) overlaps the caller's own (``--once``:
        opening the sinks, listing the sources) instead of delaying the first Batch. A second one
        still starts only when a second task needs it."""
        while len(self._workers) < min(count, self.workers) and not self._closed:
            self._workers.append(self._spawn(len(self._workers)))

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers if not w.dead]

    # -- tasks -------------------------------------------------------------------------------
    def submit(self, task: Task) -> None:
        if self.workers == 0:
            self._inline.append(task)
            return
        self._waiting.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        for w in self._idle():
            if not self._waiting:
                return
            task = self._waiting.popleft()
            try:
                w.conn.send(task)
            except OSError:  # it died; results() notices the sentinel and replaces it
                self._waiting.appendleft(task)
                continue
            w.task = task

    def _idle(self) -> Iterator[_Worker]:
        """Idle workers for the waiting tasks: those running, then new ones up to ``workers``."""
        yield from [w for w in self._workers if w.task is None and not w.dead]
        while self._waiting and len(self._workers) < self.workers and not self._closed:
            w = self._spawn(len(self._workers))
            self._workers.append(w)
            yield w

    def busy(self) -> int:
        """Tasks handed to workers or waiting for one."""
        return len(self._waiting) + sum(1 for w in self._workers if w.task is not None)

    def results(self, timeout: float) -> Iterator[tuple[int, Batch | WorkerDied]]:
        """What is available now (or within ``timeout``): Batches and dead-worker reports.

        Of the workers with a Batch ready, the one decoding the oldest task is read, then the pool
        looks again: a file is read through while its worker keeps a Batch ahead, and the others
        wait with theirs. Taking one Batch from every ready worker in turn made files of equal size
        end together, and then every worker began its next file's first pass at once (inflate and
        MD5 over the whole body before its first Batch: ~0.7 s for 100 000 events) while the main
        process had nothing to store. Staggered, one worker's first pass runs while the main
        process stores another's Batches; and files are finished, and acknowledged, in the order
        they were handed out."""
        if self.workers == 0:
            # The generator of the task in hand is kept, so a caller that stops reading (a batch
            # held by back-pressure) resumes that file where it left off.
            while True:
                if self._current is None:
                    if not self._inline:
                        return
                    task = self._inline.pop(0)
                    self._current = (task, decode_task(task, self.batch_size, self.batch_timeout_s))
                task, batches = self._current
                batch = next(batches, None)
                if batch is None or batch.final:
                    self._current = None
                if batch is not None:
                    yield task.task_id, batch
        wait_s = timeout
        while not self._closed:
            by_conn = {w.conn: w for w in self._workers if w.task is not None and not w.dead}
            by_sentinel = {w.proc.sentinel: w for w in self._workers if not w.dead}
            ready = wait([*by_conn, *by_sentinel], timeout=wait_s)
            if not ready:
                return
            wait_s = 0  # then take whatever else is ready, without waiting again
            sending = [by_conn[obj] for obj in ready if isinstance(obj, Connection) and obj in by_conn]
            oldest = min(sending, key=lambda w: w.task.task_id if w.task is not None else 0, default=None)
            if oldest is not None:
                got = self._receive(oldest)
                if got is not None:
                    yield got
                    del got  # delivered: not kept alive while the next one is read
                else:
                    yield from self._reap(oldest)
            for obj in ready:
                w = None if isinstance(obj, Connection) else by_sentinel.get(obj)  # type: ignore[arg-type]
                if w is not None and not w.dead:
                    yield from self._reap(w)

    def _receive(self, w: _Worker) -> tuple[int, Batch] | None:
        """One Batch from ``w``; None when it is dead or must be (the caller reaps it): its socket
        ended (EOF, a broken pipe, a message cut short by its death) or it sent a message that
        cannot be read, after which its socket is out of step and the worker is stopped."""
        try:
            task_id, batch = transport.receive(w.conn)
        except (EOFError, OSError):
            return None
        except TransportError as exc:
            if not exc.torn and w.proc.is_alive():
                log.warning("decode worker %s sent a Batch that cannot be read (%s): stopping it", w.proc.pid, exc)
                w.proc.kill()
            return None
        if batch.final:
            w.task = None
            self._dispatch()
        return task_id, batch

    def _reap(self, w: _Worker) -> Iterator[tuple[int, Batch | WorkerDied]]:
        """``w`` died: hand over the complete Batches it sent first, then report its task."""
        while w.task is not None:
            try:
                if not w.conn.poll(0):
                    break
            except OSError:
                break
            got = self._receive(w)
            if got is None:
                break
            yield got
        w.dead = True
        w.proc.join(1.0)
        died = WorkerDied(w.proc.pid, w.proc.exitcode)
        self.deaths += 1
        w.proc.release()
        task = w.task
        w.task = None
        if self._closed:
            return
        replacement = self._spawn(w.slot)
        self._workers[self._workers.index(w)] = replacement
        if task is None:
            log.warning("decode worker %s %s while idle; started a new one (pid %s)",
                        died.pid, died.describe(), replacement.proc.pid)
        self._dispatch()
        if task is not None:
            yield task.task_id, died

    def depth(self) -> int:
        """Tasks waiting for a free worker."""
        return len(self._waiting)

    def close(self) -> None:
        """Stop every worker: idle ones at once, busy ones after their current batch (their next
        send fails), stragglers after :data:`STOP_GRACE_S` with SIGTERM, then SIGKILL."""
        if self._closed:
            return
        self._closed = True
        self._waiting.clear()
        for w in self._workers:
            if not w.dead and w.task is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
            with contextlib.suppress(OSError):
                w.conn.close()
        deadline = time.monotonic() + STOP_GRACE_S
        for w in self._workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
        for w in self._workers:
            if w.proc.is_alive():
                w.proc.terminate()
                w.proc.join(2.0)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(2.0)
            w.proc.release()
