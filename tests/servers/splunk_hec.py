"""A small HEC-shaped HTTP server for the Splunk HEC sink's tests: ``/services/collector/event``
(concatenated event objects) and ``/services/collector/ack`` on a channel, on a random 127.0.0.1
port. It answers as Splunk documents: 401 code 4 for a wrong token, 400 code 6 with
``invalid-event-number`` for a bad event (the events before it are kept), 503 code 9 when busy,
and acknowledgements that turn true only after they were polled ``ack_after_polls`` times.
With ``tls`` (a certificate and its key, for ``localhost``) it speaks HTTPS, as Splunk Cloud's HEC
does; a client that refuses the certificate is dropped at the handshake.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

EVENT = "/services/collector/event"
ACK = "/services/collector/ack"


def _objects(body: str) -> Iterator[Any]:
    """The JSON objects of a HEC body, concatenated with or without whitespace between them."""
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if pos >= len(body):
            return
        obj, pos = decoder.raw_decode(body, pos)
        yield obj


class HecServer:
    def __init__(self, token: str, *, busy_first: int = 0, reject_ids: frozenset[str] = frozenset(),
                 ack: bool = False, ack_after_polls: int = 2, tls: tuple[Path, Path] | None = None) -> None:  # fmt: skip
        self.token = token
        self.tls = tls  # (certificate, key): serve HTTPS
        self.handshake_failures = 0  # TLS connections the client gave up
        self.busy_first = busy_first  # the first N event requests are answered 503
        self.reject_ids = reject_ids  # events whose fields.wafpipe_id is here are invalid
        self.ack = ack
        self.ack_after_polls = ack_after_polls
        self.events: list[dict[str, Any]] = []  # kept events, in arrival order (indexed only when acked, too)
        self.statuses: list[int] = []  # of every event request
        self.channels: set[str] = set()
        self.auth_headers: set[str] = set()
        self._polls: dict[int, int] = {}
        self._next_ack = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"https://localhost:{port}" if self.tls else f"http://127.0.0.1:{port}"

    def start(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            refused = False

            def setup(self) -> None:
                if isinstance(self.request, ssl.SSLSocket):
                    try:
                        self.request.do_handshake()
                    except (ssl.SSLError, OSError):
                        self.refused = True
                        with server._lock:
                            server.handshake_failures += 1
                super().setup()

            def handle(self) -> None:
                if not self.refused:
                    super().handle()

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                status, answer = server.handle(self.path, dict(self.headers.items()), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.tls))
            # the handshake in the handler's thread, not in accept(): a refused one ends only its connection
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)  # fmt: skip
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, path: str, headers: dict[str, str], body: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.auth_headers.add(headers.get("Authorization", ""))
            if headers.get("Authorization") != f"Splunk {self.token}":
                return self._answer(path, 401, {"text": "Invalid token", "code": 4})
            channel = headers.get("X-Splunk-Request-Channel")
            if self.ack and not channel:
                return self._answer(path, 400, {"text": "Data channel is missing", "code": 10})
            if path == ACK:
                return 200, {"acks": {str(i): self._poll(i) for i in json.loads(body)["acks"]}}
            if path != EVENT:
                return 404, {"text": "The requested URL was not found on this server.", "code": 404}
            if self.busy_first > 0:
                self.busy_first -= 1
                return self._answer(path, 503, {"text": "Server is busy", "code": 9})
            if channel:
                self.channels.add(channel)
            for n, event in enumerate(_objects(body)):
                if (event.get("fields") or {}).get("wafpipe_id") in self.reject_ids:
                    return self._answer(path, 400, {"text": "Invalid data format", "code": 6, "invalid-event-number": n})
                self.events.append(event)
            answer: dict[str, Any] = {"text": "Success", "code": 0}
            if self.ack:
                answer["ackId"] = self._next_ack
                self._polls[self._next_ack] = 0
                self._next_ack += 1
            return self._answer(path, 200, answer)

    def _answer(self, path: str, status: int, answer: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == EVENT:
            self.statuses.append(status)
        return status, answer

    def _poll(self, ack_id: int) -> bool:
        if ack_id not in self._polls:
            return False
        self._polls[ack_id] += 1
        return self._polls[ack_id] > self.ack_after_polls

    def ids(self) -> list[str]:
        with self._lock:
            return [e["fields"]["wafpipe_id"] for e in self.events]
