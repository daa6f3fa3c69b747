"""HTTP plumbing shared by the test servers: a threaded HTTP/1.1 keep-alive server on 127.0.0.1
that can go *down* (stop listening, drop open connections) and come back *up* on the same port,
plus a request handler that applies :mod:`faults` and hands requests to an application object.

The application (``EsApp``, ``KibanaApp``) implements :class:`App`; it owns routing, state and
response shapes. This module knows nothing about Elasticsearch or Kibana.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from .faults import Decision, Faults


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path, without the query string
    raw_path: str  # as sent (path + query)
    query: dict[str, str]  # last value wins
    query_all: dict[str, list[str]]  # every value of repeated parameters
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # path parameters filled by the router

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else str(value)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Response]


class App(Protocol):
    faults: Faults
    stats: RequestStats

    def admin(self, req: Request) -> Response | None: ...

    def route(self, req: Request) -> tuple[str, Handler]: ...

    def fault_response(self, req: Request, status: int) -> Response: ...

    def error_response(self, req: Request, exc: BaseException) -> Response: ...

    def finalize(self, req: Request, resp: Response) -> Response: ...


class RequestStats:
    """Counts of requests by endpoint name, and a bounded log of (method, path, endpoint, status)."""

    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._log: list[tuple[str, str, str, int]] = []
        self._keep = keep

    def record(self, method: str, path: str, endpoint: str, status: int) -> None:
        with self._lock:
            self._counts[endpoint] += 1
            self._log.append((method, path, endpoint, status))
            if len(self._log) > self._keep:
                del self._log[: len(self._log) - self._keep]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def log(self) -> list[tuple[str, str, str, int]]:
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._log.clear()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: App) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class ServerThread:
    """Serve ``app`` on ``host:port`` (0: a free port) from a daemon thread; can go down and up."""

    def __init__(self, app: App, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.handler = handler
        self.host = host
        self.port = port
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            last: OSError | None = None
            for _ in range(50):  # the port of a server that just went down may linger briefly
                try:
                    server = _HTTPServer((self.host, self.port), self.handler, self.app)
                    break
                except OSError as exc:
                    if self.port == 0:
                        raise
                    last = exc
                    time.sleep(0.05)
            else:
                raise RuntimeError(f"cannot listen on {self.host}:{self.port} again: {last}")
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"testserver-{self.port}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop listening and cut every open connection (the port number is kept for start())."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    # -----------------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        return body

    def _handle(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query_all: dict[str, list[str]] = {}
        for key, value in pairs:
            query_all.setdefault(key, []).append(value)
        req = Request(
            method=self.command,
            path=unquote(split.path) or "/",
            raw_path=self.path,
            query={k: v[-1] for k, v in query_all.items()},
            query_all=query_all,
            headers=self.headers,
            body=b"",
        )
        try:
            req.body = self._read_body()
        except (ValueError, OSError, EOFError, zlib.error) as exc:
            self._send(req, app.finalize(req, app.error_response(req, exc)))
            return
        admin = app.admin(req)
        if admin is not None:
            self._send(req, app.finalize(req, admin))
            return
        endpoint, handler = app.route(req)
        decision: Decision = app.faults.decide(endpoint)
        if decision.delay:
            time.sleep(decision.delay)
        if decision.drop and not decision.drop_after:
            app.stats.record(req.method, req.path, endpoint, 0)
            self._drop(decision.reset)
            return
        if decision.status is not None:
            resp = app.fault_response(req, decision.status)
        else:
            try:
                resp = handler(req)
            except Exception as exc:  # a bug in the test server: say so loudly, answer 500
                traceback.print_exc(file=sys.stderr)
                resp = app.error_response(req, exc)
        if decision.drop:
            app.stats.record(req.method, req.path, endpoint, 0)
            self._drop(decision.reset)
            return
        resp = app.finalize(req, resp)
        app.stats.record(req.method, req.path, endpoint, resp.status)
        self._send(req, resp)

    def _send(self, req: Request, resp: Response) -> None:
        self.send_response_only(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for key, value in resp.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection and not any(k.lower() == "connection" for k, _v in resp.headers):
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
        if req.method != "HEAD" and resp.body:
            self._headers_buffer.append(resp.body)  # type: ignore[attr-defined]
        try:
            self.flush_headers()  # headers and body in one write: no Nagle/delayed-ACK stall
        except OSError:
            self.close_connection = True

    def _drop(self, reset: bool) -> None:
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
