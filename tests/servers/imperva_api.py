"""A stand-in for Imperva's log download API (FORMATS §1.8) on 127.0.0.1: ``<prefix>/logs.index``
and ``<prefix>/<apiId>_<seq>.log`` behind HTTP Basic authentication, as the "Log Server URI" of
Logs → Log Setup serves them.

What a test controls: which files exist (``put``), which are listed in the index (``list_only``,
``unlist``: a file can be listed and missing, or present and no longer listed, as rotation does),
whether the index exists at all (``no_index``: a new integration), a body cut short after N bytes
(``cut_next``), and injected 429/5xx answers and dropped connections (``faults``, shared with the
other test servers). ``downloads`` counts the GETs per file, to prove nothing is fetched twice.

    with ImpervaApiServer(api_id="1234", api_key="s3cret") as api:
        api.put("1234_1.log", body)
        url = api.log_server_uri          # http://127.0.0.1:PORT/1234_5678/
"""

from __future__ import annotations

import base64
import threading
from collections import Counter
from types import TracebackType
from typing import Any

from .faults import Faults
from .http_base import Request, RequestHandler, RequestStats, Response, ServerThread

PREFIX = "/1234_5678/"


class ImpervaApiApp:
    def __init__(self, api_id: str, api_key: str) -> None:
        self.faults = Faults()
        self.stats = RequestStats()
        self.credentials = (api_id, api_key)
        self.files: dict[str, bytes] = {}
        self.listed: list[str] = []
        self.index_exists = True
        self.cut: dict[str, int] = {}  # name → bytes sent before the connection is closed
        self.downloads: Counter[str] = Counter()
        self.lock = threading.Lock()

    # -- App protocol ------------------------------------------------------------------------------
    def admin(self, req: Request) -> Response | None:
        return None

    def route(self, req: Request) -> tuple[str, Any]:
        if not req.path.startswith(PREFIX) or req.method not in ("GET", "HEAD"):
            return "unknown", lambda r: Response(404, b"Not Found", "text/plain")
        name = req.path[len(PREFIX):]
        return ("index" if name == "logs.index" else "file"), lambda r: self._serve(r, name)

    def fault_response(self, req: Request, status: int) -> Response:
        headers = [("Retry-After", "1")] if status == 429 else []
        return Response(status, f"{status} injected".encode(), "text/plain", headers)

    def error_response(self, req: Request, exc: BaseException) -> Response:
        return Response(500, f"{type(exc).__name__}: {exc}".encode(), "text/plain")

    def finalize(self, req: Request, resp: Response) -> Response:
        return resp

    # -- behaviour ---------------------------------------------------------------------------------
    def _authorized(self, req: Request) -> bool:
        scheme, _, cred = req.header("Authorization").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(cred.strip()).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == self.credentials

    def _serve(self, req: Request, name: str) -> Response:
        if not self._authorized(req):
            return Response(401, b"Unauthorized", "text/plain", [("WWW-Authenticate", 'Basic realm="logs"')])
        with self.lock:
            if name == "logs.index":
                if not self.index_exists:
                    return Response(404, b"Not Found", "text/plain")
                return Response(200, "".join(f"{n}\n" for n in self.listed).encode(), "text/plain")
            body = self.files.get(name)
            if body is None:
                return Response(404, b"Not Found", "text/plain")
            self.downloads[name] += 1
            cut = self.cut.pop(name, None)
        if cut is not None:  # announce the whole length, send part of it, close: a dropped download
            return Response(200, body[:cut], "application/octet-stream",
                            [("Content-Length-Override", str(len(body))), ("Connection", "close")])
        return Response(200, body, "application/octet-stream")


class _CuttingHandler(RequestHandler):
    """Sends the ``Content-Length`` a cut response announces, not that of the bytes it has."""

    def send_header(self, keyword: str, value: str) -> None:
        if keyword == "Content-Length" and getattr(self, "_override", None):
            value, self._override = self._override, None
        if keyword == "Content-Length-Override":
            self._override = value
            return
        super().send_header(keyword, value)


class ImpervaApiServer:
    def __init__(self, *, api_id: str = "1234", api_key: str = "secret-key", port: int = 0) -> None:
        self.app = ImpervaApiApp(api_id, api_key)
        self.faults = self.app.faults
        self._thread = ServerThread(self.app, _CuttingHandler, "127.0.0.1", port)

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> ImpervaApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()

    def __enter__(self) -> ImpervaApiServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def log_server_uri(self) -> str:
        return f"http://127.0.0.1:{self._thread.port}{PREFIX}"

    # -- content -----------------------------------------------------------------------------------
    def put(self, name: str, body: bytes, *, listed: bool = True) -> None:
        with self.app.lock:
            self.app.files[name] = body
            if listed and name not in self.app.listed:
                self.app.listed.append(name)

    def unlist(self, name: str, *, delete: bool = True) -> None:
        """Rotation: the name leaves the index (and, by default, the file goes too)."""
        with self.app.lock:
            if name in self.app.listed:
                self.app.listed.remove(name)
            if delete:
                self.app.files.pop(name, None)

    def list_only(self, name: str) -> None:
        """List a name whose file is not there (yet)."""
        with self.app.lock:
            if name not in self.app.listed:
                self.app.listed.append(name)

    def list_raw(self, line: str) -> None:
        """Put any line into the index, e.g. a hostile one."""
        with self.app.lock:
            self.app.listed.append(line)

    def no_index(self, missing: bool = True) -> None:
        with self.app.lock:
            self.app.index_exists = not missing

    def cut_next(self, name: str, after_bytes: int) -> None:
        with self.app.lock:
            self.app.cut[name] = after_bytes

    @property
    def downloads(self) -> Counter[str]:
        with self.app.lock:
            return Counter(self.app.downloads)
