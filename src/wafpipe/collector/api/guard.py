"""Who may talk to the API: the Host header and the bearer token, checked before any route runs.

Both checks sit in one ASGI middleware in front of the whole app, so every route — the ones of
today, the UI's later, and paths that do not exist — is covered without each route remembering to
ask; an unknown path without a token is a 401, not a 404 that maps the API for a stranger.

* **Host.** A web page can make a browser send requests to 127.0.0.1 under its own host name (DNS
  rebinding); only the bound address and the loopback names are accepted, so such a page never
  reaches a route. The port is not compared (a local proxy may change it).
* **Token.** ``Authorization: Bearer <token>``, compared in constant time. ``/metrics`` may be
  opened without it only when ``[api] metrics_without_token = true``.
* **Browsers** (``wafpipe serve``): a session cookie of :class:`wafpipe.web.auth.Sessions` counts as
  the token; a state-changing request made with it must carry the session's CSRF token. A page
  asked for without either is sent to the login page; ``/api/*`` and ``/metrics`` answer 401.

Refusals are small JSON bodies with no echo of what was sent (the text of a header may hold
control characters meant for a terminal that reads the log).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

from wafpipe.web import LOGIN_PATH, Sessions

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MACHINE_PATHS = ("/api/", "/metrics")  # answered 401, never sent to the login page


def host_name(value: str) -> str:
    """``example:8080`` → ``example``; ``[::1]:8080`` → ``::1``; lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware: Host check, then the token (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        hosts: Iterable[str],
        open_paths: Iterable[str] = (),
        sessions: Sessions | None = None,
    ) -> None:
        self.app = app
        self._token = token.encode()
        self._hosts = {h.lower() for h in (*hosts, *LOOPBACK_NAMES)}
        self._open = frozenset(open_paths)
        self._sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        host = headers.get(b"host", b"").decode("latin-1")
        if host_name(host) not in self._hosts:
            await _refuse(send, 400, "the Host header does not name this server; use http://127.0.0.1:<port>/")
            return
        path = scope.get("path") or ""
        if path in self._open or self._authorized(headers.get(b"authorization", b"")):
            await self.app(scope, receive, send)
            return
        session = self._sessions.find(headers.get(b"cookie", b"").decode("latin-1")) if self._sessions else None
        if session is not None:
            if scope.get("method") not in SAFE_METHODS and not Sessions.csrf_ok(
                session, headers.get(b"x-csrf-token", b"").decode("latin-1")
            ):
                await _refuse(send, 403, "missing or wrong CSRF token (X-CSRF-Token): reload the page")
                return
            scope["wafpipe_session"] = session
            await self.app(scope, receive, send)
            return
        if self._sessions is not None and not path.startswith(MACHINE_PATHS):
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", LOGIN_PATH.encode()), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await _refuse(
            send,
            401,
            "missing or wrong token: send Authorization: Bearer <token> "
            "(the token is in <data_dir>/api.token, or $WAFPIPE_API_TOKEN)",
            [(b"www-authenticate", b'Bearer realm="wafpipe"')],
        )

    def _authorized(self, header: bytes) -> bool:
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(given.strip(), self._token)


async def _refuse(send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = orjson.dumps({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
