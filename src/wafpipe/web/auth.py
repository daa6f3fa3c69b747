"""Browser sessions of the web UI: a one-time login URL, a session cookie, a CSRF token.

The API's bearer token stays the one credential (DESIGN §4). A browser cannot send a header, so
``wafpipe serve`` prints a login URL holding a **one-time code** (like Jupyter's): opening it trades
the code for a session cookie and the code is spent, so a URL left in a terminal's scroll-back or a
proxy log opens nothing later. The login page also takes the token itself, for when the code is spent.

* The cookie is ``HttpOnly`` (scripts cannot read it), ``SameSite=Strict`` (other sites' pages do
  not send it) and ``Secure`` when the UI is served over TLS; sessions live in this process only
  (a restart logs everyone out) and end after :data:`SESSION_S`.
* **CSRF**: every state-changing request made with the cookie must carry the session's CSRF token
  in the ``X-CSRF-Token`` header (pages put it in a ``<meta>`` tag; our scripts send it). A request
  with the bearer token needs none: another site cannot make a browser send that header.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

COOKIE = "wafpipe_session"
SESSION_S = 12 * 3600
CODE_S = 24 * 3600  # an unused login code lasts a day
MAX_SESSIONS = 256


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    expires: float


class Sessions:
    """Login codes and sessions of one UI process. Thread-safe."""

    def __init__(self, token: str, *, secure: bool = False) -> None:
        self._token = token.encode()
        self.secure = secure
        self._codes: dict[str, float] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def login_code(self) -> str:
        """A new one-time code for the login URL."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = time.monotonic() + CODE_S
        return code

    def redeem(self, code: str) -> Session | None:
        """A session for a code not yet spent (the code is spent either way)."""
        with self._lock:
            expires = self._codes.pop(code, None)
        if expires is None or expires < time.monotonic():
            return None
        return self._new()

    def with_token(self, given: str) -> Session | None:
        """A session for the API token typed into the login page."""
        if not given or not hmac.compare_digest(given.strip().encode(), self._token):
            return None
        return self._new()

    def _new(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.monotonic() + SESSION_S)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:  # the oldest goes
                del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].expires)]
            self._sessions[session.id] = session
        return session

    def find(self, cookie_header: str) -> Session | None:
        """The live session named by a ``Cookie`` header, or None."""
        wanted = _cookie(cookie_header, COOKIE)
        if not wanted:
            return None
        with self._lock:
            session = self._sessions.get(wanted)
            if session is not None and session.expires < time.monotonic():
                del self._sessions[wanted]
                return None
        return session

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def cookie(self, session: Session) -> str:
        """The ``Set-Cookie`` value that hands ``session`` to the browser."""
        secure = "; Secure" if self.secure else ""
        return f"{COOKIE}={session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_S}{secure}"

    @staticmethod
    def csrf_ok(session: Session, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), session.csrf.encode())


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""
