"""Starting a test server as a process of its own on a free 127.0.0.1 port, and stopping it: the
one way the process-based servers (moto, Azurite) and the crash tests pick ports and start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

START_GUARD_S = 60.0  # a hang guard only: a start returns as soon as the server answers
ATTEMPTS = 5  # the free port may be taken between the probe and the server's bind


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_on_free_port(
    command: Callable[[int], list[str]], ready: Callable[[int], bool]
) -> tuple[subprocess.Popen[bytes], int] | None:
    """Run ``command(port)`` (in a session of its own, output discarded) until ``ready(port)``;
    another port when the process dies first or never gets ready. None after :data:`ATTEMPTS`."""
    for _attempt in range(ATTEMPTS):
        port = free_port()
        proc = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_GUARD_S
        while time.monotonic() < deadline and proc.poll() is None:
            if ready(port):
                return proc, port
            time.sleep(0.1)
        stop_process(proc)
    return None


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s; nothing if it has ended."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class ProcessServer:
    """A test server run as a process of its own: a subclass's ``start`` calls :meth:`_launch`; the
    stop and the ``with`` block are here, once for moto, Azurite and sshd."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> Self:
        raise NotImplementedError

    def _launch(self, command: Callable[[int], list[str]], ready: Callable[[int], bool]) -> bool:
        """Start ``command(port)`` on a free port until ``ready``; False when it never got ready."""
        started = start_on_free_port(command, ready)
        if started is None:
            return False
        self.proc, self.port = started
        return True

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
