""":class:`LocalApi`: the collector's HTTP server, run in a thread of the collector process.

DESIGN §2 "one writer": the collector owns the store, so it serves every read while it runs. The
server is uvicorn (the ASGI stack the UI will use) on one event loop in one thread; the collector
keeps the signals (uvicorn's handlers are not installed) and stops the server on shutdown.

Bounds, and why: ``limit_concurrency`` (503 past it) and the connection cap and request deadline
of :mod:`.protocol` keep a flood of idle connections from costing threads or memory; h11 accepts
request heads up to :data:`MAX_HEAD_BYTES` (a query of :data:`~wafpipe.store.limits.MAX_QUERY_CHARS`
ASCII characters fits even when every one is URL-encoded to three bytes); the
accept backlog is small so a burst cannot take more file descriptors at once than the cap allows;
a stop closes idle connections at once and gives running requests :data:`GRACE_S` (reads are
interrupted first, so none waits for a scan). uvicorn's own per-connection log lines are silenced
— what a client does wrong is not the collector's error.

The socket is bound in :meth:`LocalApi.start`, in the caller's thread, so a port in use is a
configuration error at start-up, not a traceback in a thread.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wafpipe.collector.api.token import chosen_token, load_or_create_token, remove_api_file, write_api_file
from wafpipe.errors import ConfigError, WafpipeError
from wafpipe.store.client import TOKEN_ENV
from wafpipe.store.service import Reader, ReadService
from wafpipe.web import LOGIN_PATH, SecurityHeaders, Sessions, add_ui

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("wafpipe.collector.api")

LIMIT_CONCURRENCY = 128
MAX_CONNECTIONS = 256
REQUEST_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 64 * 1024
BACKLOG = 64
GRACE_S = 3
START_TIMEOUT_S = 10.0


@functools.cache
def _server_class() -> type[uvicorn.Server]:
    """uvicorn without its signal handlers: the collector owns SIGINT and SIGTERM. Built on first
    use: FastAPI and uvicorn take ~0.4 s to import, which a collector should not spend before its
    store is open."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield

        def install_signal_handlers(self) -> None:  # older uvicorn releases call this instead
            return

    return _Server


def _quiet_uvicorn() -> None:
    logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
    logging.getLogger("uvicorn.access").disabled = True


class LocalApi:
    """The local API of one collector: ``start()`` binds and serves, ``stop()`` ends it.

    ``reader`` answers the ``/api`` routes and ``metrics`` renders ``/metrics``; ``replay`` (the
    collector's, :func:`wafpipe.collector.jobs.replay_through`) answers ``POST
    /api/deadletters/replay``. The version-1
    arguments still work: ``health`` (the collector's live status) becomes a reader without a
    store, and ``query`` is ignored — pass ``reader`` to serve events."""

    def __init__(
        self,
        data_dir: Path,
        *,
        metrics: Callable[[], bytes],
        reader: Reader | None = None,
        host: str = "127.0.0.1",
        port: int = 8080,
        metrics_without_token: bool = False,
        health: Callable[[], Mapping[str, Any]] | None = None,
        query: Any = None,  # noqa: ARG002 - version 1's argument, replaced by ``reader``
        ui: bool = False,
        token_file: Path | None = None,
        tls_cert_file: Path | None = None,
        tls_key_file: Path | None = None,
        secure_cookies: bool = False,
        server_names: Sequence[str] = (),
        replay: Callable[[str | None], Mapping[str, Any]] | None = None,
        ack: Callable[[list[int]], int] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.reader: Reader = reader if reader is not None else ReadService(None, live=health)
        self.host = host
        self.port = port
        self.metrics = metrics
        self.metrics_without_token = metrics_without_token
        self.ui = ui
        self.token_file = token_file
        self.tls_cert_file, self.tls_key_file = tls_cert_file, tls_key_file
        self.secure_cookies = secure_cookies
        self.server_names = list(server_names)
        self.replay, self.ack = replay, ack
        self.sessions: Sessions | None = None
        self.token = ""
        self._token_file: Path | None = None
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls_cert_file else 'http'}://{host}:{self.port}"

    def _credentials(self) -> tuple[str, Path | None]:
        """The token. Beyond loopback only one a person chose: a token created on the spot would
        open the collector to whoever reads the data directory's file first."""
        if self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback:
            return load_or_create_token(self.data_dir, self.token_file)
        chosen = chosen_token(self.token_file)
        if chosen is None:
            raise ConfigError(
                f"the API would listen on {self.host}, beyond this machine, without credentials chosen for it",
                hint=f"set ${TOKEN_ENV} (at least 16 characters) or [api] token_file (a file with mode 0600)")
        return chosen

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(BACKLOG)
        except OSError as exc:
            sock.close()
            why = "the port is in use (another collector?)" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ConfigError(
                f"the API cannot listen on {self.host}:{self.port}: {why}",
                hint="set [api] port to a free port (0 picks one at random)",
            ) from None
        sock.set_inheritable(False)
        return sock

    def start(self) -> None:
        import uvicorn

        from wafpipe.collector.api.app import create_app
        from wafpipe.collector.api.guard import Guard
        from wafpipe.collector.api.protocol import bounded_protocol

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.token, self._token_file = self._credentials()
        self._sock = self._bind()
        self.port = self._sock.getsockname()[1]
        inner = create_app(self.reader, self.metrics, replay=self.replay, ack=self.ack)
        open_paths = ["/metrics"] if self.metrics_without_token else []
        if self.ui:
            self.sessions = Sessions(self.token, secure=self.secure_cookies)
            add_ui(inner, self.reader, self.sessions)
            open_paths.append(LOGIN_PATH)
        app = SecurityHeaders(Guard(inner, token=self.token, hosts=[self.host, *self.server_names],
                                    open_paths=open_paths, sessions=self.sessions))
        _quiet_uvicorn()
        config = uvicorn.Config(
            app,
            http=bounded_protocol(MAX_CONNECTIONS, REQUEST_TIMEOUT_S),
            loop="asyncio",
            lifespan="off",
            ws="none",
            interface="asgi3",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            limit_concurrency=LIMIT_CONCURRENCY,
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=GRACE_S,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            backlog=BACKLOG,
            ssl_certfile=str(self.tls_cert_file) if self.tls_cert_file else None,
            ssl_keyfile=str(self.tls_key_file) if self.tls_key_file else None,
        )
        self._server = _server_class()(config)
        sock = self._sock
        self._thread = threading.Thread(
            target=self._serve, args=(self._server, sock), name="wafpipe-api", daemon=True
        )
        self._thread.start()
        # uvicorn sets ``started`` from its loop; the socket already queues connections meanwhile.
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            self._thread.join(0.01)
        try:
            if not self._server.started:
                raise WafpipeError(f"the API on {self.url} did not start", hint="see the log above")
            write_api_file(self.data_dir, self.url, self._token_file, self.tls_cert_file)
        except BaseException:
            self.stop()
            raise
        log.debug("API listening on %s", self.url)  # the collector's start-up line names the URL

    def login_url(self) -> str:
        """A one-time login URL of the UI (a new code each call)."""
        assert self.sessions is not None, "the UI is not served"
        return f"{self.url}{LOGIN_PATH}?code={self.sessions.login_code()}"

    @staticmethod
    def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except Exception:  # the thread must not die silently: a bug here is logged once
            log.exception("the API server stopped")

    def stopping(self) -> None:
        """Begin to stop, without waiting: remove ``api.json``, interrupt running reads, tell the
        server to exit (it notices within 0.1 s, then takes another 0.1 s closing connections).
        :meth:`stop` then waits for it: the collector closes other things meanwhile."""
        remove_api_file(self.data_dir)
        close = getattr(self.reader, "close", None)
        if close is not None:
            close()
        if self._server is not None:
            self._server.should_exit = True

    def stop(self) -> None:
        """Stop serving: interrupt running reads, close connections, remove ``api.json``."""
        self.stopping()
        if self._thread is not None:
            self._thread.join(timeout=GRACE_S + 5)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._server = self._thread = self._sock = None
