"""uvicorn's h11 protocol with two bounds it lacks: open connections, and time to send a request.

Version 1's ``http.server`` made a thread per connection: 3,000 idle connections gave 3,014
threads, ~2,900 tracebacks when they closed and a 2.5-minute shutdown (issue 18). uvicorn runs
every connection on one event loop (no thread each), and ``limit_concurrency`` answers 503 past a
number of connections — but only once a request arrives, and uvicorn never times out a
connection that has not sent a complete request (its keep-alive timer starts after a response).
So here:

* a connection beyond ``max_connections`` is closed as soon as it is accepted (uvicorn answers
  503 to requests between ``limit_concurrency`` and this cap);
* a connection must deliver a complete request head within ``request_timeout_s`` of opening, and
  of the end of its previous response — a deadline, not an idle timer, so a client trickling one
  byte at a time (slowloris) is closed too.

Both close the socket quietly: nothing is logged for what a client failed to do. And every
connection gets ``TCP_NODELAY`` (:func:`_no_delay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class BoundedH11Protocol(H11Protocol):
    """See the module docstring; subclass with :func:`bounded_protocol` to set the bounds."""

    max_connections = 256
    request_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.close()
            return
        _no_delay(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        busy = self.cycle is not None and not self.cycle.response_complete
        if not busy and not self.transport.is_closing():
            self.transport.close()


def _no_delay(transport: asyncio.Transport) -> None:
    """Send each write at once. The sockets of a server bound by the collector itself reach
    uvicorn with Nagle's algorithm on, and a response written as head then body then waited ~40 ms
    for the client's delayed ACK: every request on a kept-alive connection took 44 ms, a page and
    its three chart requests ~180 ms of nothing (measured here, before and after)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def bounded_protocol(max_connections: int, request_timeout_s: float) -> type[BoundedH11Protocol]:
    """A protocol class with these bounds (uvicorn builds one instance per connection)."""
    return type(
        "WafpipeH11Protocol",
        (BoundedH11Protocol,),
        {"max_connections": max_connections, "request_timeout_s": request_timeout_s},
    )
