"""One decode worker process: the parent's handle on it (:class:`WorkerProcess`) and the loop it runs
(:func:`serve`, started as ``python -m wafpipe.collector.workers FD BATCH_SIZE BATCH_TIMEOUT_S``).

Why a plain child process, and not :mod:`multiprocessing`'s: a ``forkserver`` (or ``spawn``)
context keeps two helper processes beside the workers, the fork server and the resource tracker,
~25 MiB resident together (issue 20's budget for the whole tree is 512 MB), for nothing the
collector uses: the worker gets everything it needs as arguments and over its socket. A child
started with :class:`subprocess.Popen` from the collector itself has only what the collector gives
it:

* **its end of a socket pair** (``pass_fds``), read and written as a
  :class:`~multiprocessing.connection.Connection`: tasks are pickled to it, Batches come back as
  Arrow IPC (:mod:`wafpipe.collector.transport`);
* **no current directory on ``sys.path``** (``python -P``): a file named like a library in the
  directory the collector was started from is never imported by a worker;
* **SIGINT ignored from its first instruction** when started from the main thread (the disposition
  is inherited across ``exec``): a Ctrl-C reaches the whole process group, the collector decides,
  and a worker starting up prints no ``KeyboardInterrupt`` traceback;
* **the write end of a pipe** it never uses, whose read end is its sentinel: readable the moment
  the process ends, so the pool waits on it beside the socket and sees a worker killed by the OOM
  killer at once (how :mod:`multiprocessing` makes its own sentinels).

**A lower priority than the main process** (``nice`` +:data:`NICENESS`). The main process, which
appends every Batch to the store, is the collector's narrow part; the workers decode about twice as
fast as it stores and only need to stay a Batch ahead. With two workers and the main process on two
cores, a worker decoding its next Batch took CPU time the main process was waiting for. Measured on
a 1 M-event backlog (two workers, four pairs of runs in alternating order): +10 made every run
faster, by 7–15 %; +5 was as fast as +10 (two more pairs: 4 % faster, 2 % slower). A worker with a
core to itself is not slowed by it. The cost: a worker also yields to other work at normal priority
in its scheduling group (the whole machine without autogroups or CPU cgroups). At +10 it then gets
~10 % of a core beside one busy process, at +5 ~25 %: with two CPU hogs beside it, the test suite
took 50 minutes at +10 instead of 41, so +5.

A worker dies with the collector: it asks the kernel (``PR_SET_PDEATHSIG``) to be killed when its
parent exits, and a worker blocked on its socket also sees EOF.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection

from wafpipe.collector import transport
from wafpipe.collector.memory import pin_mmap_threshold, trim
from wafpipe.collector.task import Task, decode_task
from wafpipe.decode.batch import BatchBuilder
from wafpipe.model import Batch

MODULE = "wafpipe.collector.workers"  # what `python -m` runs in a worker (its __main__)
# How much lower a worker's scheduling priority is than the collector's (see the module docstring).
NICENESS = 5


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while a child is started from the main thread, so that it starts ignoring it
    (elsewhere signals cannot be changed; the child then ignores it from its own first line)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class WorkerProcess:
    """A started worker: its process, the parent's end of its socket and its sentinel."""

    def __init__(self, args: Sequence[str], python_args: Sequence[str] = ("-P", "-m", MODULE)) -> None:
        """Start ``python {python_args} FD {args}``: FD is the child's end of a new socket pair."""
        ours, theirs = socket.socketpair()
        # The sentinel: the child holds the write end of a pipe and never uses it; when it ends, for
        # whatever reason, the kernel closes it and the read end reports end of file.
        sentinel, held = os.pipe()
        try:
            with _sigint_ignored():
                self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    [sys.executable, *python_args, str(theirs.fileno()), *args],
                    pass_fds=(theirs.fileno(), held), stdin=subprocess.DEVNULL,
                )
        except BaseException:
            ours.close()
            os.close(sentinel)
            raise
        finally:
            theirs.close()
            os.close(held)
        self.conn = Connection(ours.detach())
        self.sentinel = sentinel

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def exitcode(self) -> int | None:
        """None while it runs; its exit status, or minus the signal that killed it."""
        return self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for it to end (and reap it)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)

    def terminate(self) -> None:
        self.popen.terminate()

    def kill(self) -> None:
        self.popen.kill()

    def release(self) -> None:
        """Close the parent's descriptors (the process has ended, or is being stopped)."""
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(OSError):
            os.close(self.sentinel)


# -- in the worker ---------------------------------------------------------------------------------


def die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this worker when its parent exits. Elsewhere the socket's EOF
    is the only signal."""
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


class _ParentGone(Exception):
    """The parent closed its end of the socket (shutdown) or died."""


def _send(conn: Connection, task_id: int, batch: Batch) -> None:
    try:
        transport.send(conn, task_id, batch)
    except (BrokenPipeError, ConnectionResetError, EOFError, OSError) as exc:
        raise _ParentGone from exc


def serve(argv: Sequence[str]) -> None:
    """The worker's main: ``FD BATCH_SIZE BATCH_TIMEOUT_S``; then each task it is sent, decoded into
    Batches sent back, until it is sent ``None`` or its socket ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the collector handles Ctrl-C for everyone
    die_with_parent()
    pin_mmap_threshold()
    os.nice(NICENESS)
    conn, batch_size, batch_timeout_s = Connection(int(argv[0])), int(argv[1]), float(argv[2])
    while True:
        try:
            task: Task | None = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if task is None:
            return
        try:
            try:
                for batch in decode_task(task, batch_size, batch_timeout_s):
                    _send(conn, task.task_id, batch)
                    del batch  # sent: not kept alive while the next one is decoded
                    trim()  # and what it freed goes back to the system before the next one grows
            except _ParentGone:
                raise
            except Exception as exc:  # a bug must not kill the worker silently
                failed = BatchBuilder(task.ref.key, task.start_ordinal, documents=task.documents).build(
                    final=True, error=f"internal error: {exc!r}"
                )
                _send(conn, task.task_id, failed)
        except _ParentGone:
            return
