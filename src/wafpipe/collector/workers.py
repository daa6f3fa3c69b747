"""Decode work, in-process or in worker processes (DESIGN §1: decoding is the CPU-heavy part).

A task is one file from a resume ordinal; its result is a stream of :class:`~wafpipe.model.Batch`
es in line order, the last one final with the file's verdict. A Batch crosses to the main process
as Arrow IPC (:mod:`.transport`), never pickled, and holds the JSON documents only when a sink needs
them (:attr:`Task.documents`): the main process then reads each Batch without doing anything per
event.

Why one pipe per worker, and not a shared task queue and result queue:

* **A dead worker is found at once and costs only its own file.** The parent waits on every
  worker's pipe *and* its process sentinel (:func:`multiprocessing.connection.wait`), so a worker
  killed by the OOM killer or a ``kill -9`` is seen the moment it dies. The parent knows which task
  that worker had, reports it (:class:`WorkerDied`) so the collector retries the file from its last
  acknowledged ordinal, and starts a replacement. With a shared ``multiprocessing.Queue`` a worker
  killed while holding the queue's lock, or half-way through writing a message, wedges or corrupts
  the queue for every worker: ``run --once`` then hangs for ever.
* **Back-pressure without a bound to tune.** A worker sends a Batch and blocks until the parent
  reads it, so at most one decoded Batch per worker waits for the sinks, and the parent stops
  reading (the collector holds its Batch) when a sink's spool is full.
* **Tasks go to idle workers only**, so a big file never holds up a small one queued behind it.
* **A worker starts when a task needs it**, up to ``workers``, and then stays: a run with one file
  never pays for an idle second process (~100 MiB resident, the libraries counted again).

Shutdown and signals (DESIGN §4 "Ctrl-C stops every process cleanly"): workers ignore SIGINT (a
Ctrl-C reaches the whole process group; the collector decides, and a worker's
``KeyboardInterrupt`` traceback is noise). They stop when the parent sends ``None`` or closes its end
of the pipe (a busy worker's next send fails, and it exits quietly). Workers die with the main
process: they are children of the forkserver, which exits when the main process goes, and each
worker asks the kernel (``PR_SET_PDEATHSIG``) to be killed when its parent exits; a worker blocked
on its pipe also sees EOF.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from wafpipe.collector import transport
from wafpipe.collector.memory import pin_mmap_threshold
from wafpipe.collector.task import Task, decode_task
from wafpipe.collector.transport import TransportError
from wafpipe.decode.batch import BatchBuilder
from wafpipe.model import Batch

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


# -- worker process ------------------------------------------------------------------------------


class _ParentGone(Exception):
    """The parent closed its end of the pipe (shutdown) or died."""


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this worker when its parent (the forkserver) exits, which it
    does when the main process exits or is killed. Elsewhere the pipe's EOF is the only signal."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def _send(conn: Connection, task_id: int, batch: Batch) -> None:
    try:
        transport.send(conn, task_id, batch)
    except (BrokenPipeError, ConnectionResetError, EOFError, OSError) as exc:
        raise _ParentGone from exc


def _worker_main(conn: Connection, batch_size: int, batch_timeout_s: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the collector handles Ctrl-C for everyone
    _die_with_parent()
    pin_mmap_threshold()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if task is None:
            return
        try:
            try:
                for batch in decode_task(task, batch_size, batch_timeout_s):
                    _send(conn, task.task_id, batch)
                    del batch  # sent: not kept alive while the next one is decoded
            except _ParentGone:
                raise
            except Exception as exc:  # a bug must not kill the worker silently
                failed = BatchBuilder(task.ref.key, task.start_ordinal, documents=task.documents).build(
                    final=True, error=f"internal error: {exc!r}"
                )
                _send(conn, task.task_id, failed)
        except _ParentGone:
            return


# -- the pool --------------------------------------------------------------------------------------


def _start_forkserver_immune_to_sigint(ctx: Any) -> None:
    """Start the forkserver with SIGINT ignored at the OS level. It ignores SIGINT itself, but
    gives its children the handlers it was started with; started with SIG_IGN (inherited across
    exec), every worker is immune from the moment it is forked, not only once :func:`_worker_main`
    runs — a Ctrl-C during a worker's start-up then prints no traceback either."""
    if ctx.get_start_method() != "forkserver" or threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)



@dataclass(eq=False)
class _Worker:
    slot: int
    proc: Any  # multiprocessing.Process
    conn: Connection
    task: Task | None = None
    dead: bool = False
    started: float = field(default_factory=time.monotonic)


class DecodePool:
    """``workers`` decode processes (0 = decode in the calling thread, used by tests/--workers 0).

    ``submit`` queues a task; :meth:`results` yields ``(task id, Batch)`` in each file's line order,
    or ``(task id, WorkerDied)`` when the worker decoding that task died (a replacement is already
    running; resubmitting the task is the caller's decision)."""

    def __init__(self, workers: int, batch_size: int, batch_timeout_s: float, max_chunks: int = 8) -> None:
        # max_chunks: version 1's bound on the shared result queue; a pipe per worker bounds it now.
        self.workers = workers
        self.batch_size = batch_size
        self.batch_timeout_s = batch_timeout_s
        self.deaths = 0
        self._waiting: deque[Task] = deque()
        self._closed = False
        self._workers: list[_Worker] = []
        self._inline: list[Task] = []
        self._current: tuple[Task, Iterator[Batch]] | None = None  # the inline task being decoded
        if workers > 0:
            self._ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
            _start_forkserver_immune_to_sigint(self._ctx)

    # -- processes ---------------------------------------------------------------------------
    def _spawn(self, slot: int) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(
            target=_worker_main,
            args=(child, self.batch_size, self.batch_timeout_s),
            daemon=True,
            name=f"wafpipe-decode-{slot}",
        )
        proc.start()
        child.close()  # the worker holds the only other end: its death is our EOF
        log.debug("decode worker %d started (pid %s)", slot, proc.pid)
        return _Worker(slot, proc, parent)

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
        """What is available now (or within ``timeout``): Batches and dead-worker reports."""
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
            for obj in ready:
                w = by_conn.get(obj) if isinstance(obj, Connection) else by_sentinel.get(obj)  # type: ignore[arg-type]
                if w is None or w.dead:
                    continue
                if isinstance(obj, Connection):
                    got = self._receive(w)
                    if got is not None:
                        yield got
                        del got  # delivered: not kept alive while the next one is read
                        continue
                yield from self._reap(w)

    def _receive(self, w: _Worker) -> tuple[int, Batch] | None:
        """One Batch from ``w``; None when it is dead or must be (the caller reaps it): its pipe
        ended (EOF, a broken pipe, a message cut short by its death) or it sent a message that
        cannot be read, after which its pipe is out of step and the worker is stopped."""
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
        with contextlib.suppress(OSError):
            w.conn.close()
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
