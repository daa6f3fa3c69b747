"""The collector's local HTTP API (DESIGN §2 "one writer").

DuckDB allows one read-write process, so the running collector owns the store and answers reads
for everyone else. The API listens on 127.0.0.1 only; its address and a random token are written to
``<data_dir>/api.json`` with mode 0600, and every request must carry the token
(``Authorization: Bearer …``). Responses never echo the token.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from wafpipe.errors import QueryError, WafpipeError
from wafpipe.store.client import API_FILE

QueryFn = Callable[[str, int, bool], dict[str, Any]]


class LocalApi:
    def __init__(
        self,
        data_dir: Path,
        *,
        health: Callable[[], dict[str, Any]],
        metrics: Callable[[], bytes],
        query: QueryFn,
        port: int = 0,
    ) -> None:
        self.data_dir = data_dir
        self.token = secrets.token_urlsafe(32)
        api = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "wafpipe"

            def log_message(self, *args: Any) -> None:  # quiet: the collector logs what matters
                return

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, obj: Any) -> None:
                self._send(status, json.dumps(obj, default=str).encode())

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                auth = self.headers.get("Authorization", "")
                given = auth[7:] if auth.startswith("Bearer ") else ""
                if not hmac.compare_digest(given.encode(), api.token.encode()):
                    self._json(401, {"error": "missing or wrong token; read it from <data_dir>/api.json"})
                    return
                url = urlparse(self.path)
                params = parse_qs(url.query)
                try:
                    if url.path == "/health":
                        self._json(200, health())
                    elif url.path == "/metrics":
                        self._send(200, metrics(), "text/plain; version=0.0.4")
                    elif url.path == "/query":
                        expr = params.get("q", [""])[0]
                        limit = int(params.get("limit", ["20"])[0])
                        count = params.get("count", ["0"])[0] in ("1", "true")
                        self._json(200, query(expr, limit, count))
                    else:
                        self._json(404, {"error": f"no such endpoint {url.path}"})
                except QueryError as exc:
                    self._json(400, {"error": str(exc), "column": exc.column})
                except (WafpipeError, ValueError) as exc:
                    self._json(400, {"error": str(exc)})

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="wafpipe-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / API_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"url": self.url, "token": self.token, "pid": os.getpid()}, fh)
        os.replace(tmp, path)

    def stop(self) -> None:
        path = self.data_dir / API_FILE
        try:
            info = json.loads(path.read_text())
            if info.get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass
        self._server.shutdown()
        self._server.server_close()
