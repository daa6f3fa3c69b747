"""``/login`` (the one route open without credentials) and ``/logout``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from wafpipe.web.auth import COOKIE, Session, Sessions
from wafpipe.web.render import page

MAX_FORM_BYTES = 4096


def add_login(app: FastAPI, sessions: Sessions) -> None:
    def signed_in(session: Session) -> Response:
        answer = RedirectResponse("/", status_code=303)
        answer.headers["set-cookie"] = sessions.cookie(session)
        return answer

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, code: str = "") -> Response:
        if code:
            session = sessions.redeem(code)
            if session is not None:
                return signed_in(session)
            return page(request, "login.html", status=401,
                        error="this login link was used already or has expired: paste the token instead")
        return page(request, "login.html", status=401, error="")

    @app.post("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
            # another site's page posting its own token would log this browser into its session
            return page(request, "login.html", status=403, error="log in from this page, not another site's")
        body = b""
        async for chunk in request.stream():  # the one route open to anyone: never read a big body
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return page(request, "login.html", status=413, error="that form was too large")
        fields = parse_qs(body.decode("utf-8", "replace"))
        session = sessions.with_token((fields.get("token") or [""])[0])
        if session is None:
            return page(request, "login.html", status=401, error="wrong token")
        return signed_in(session)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        session = request.scope.get("wafpipe_session")
        if session is not None:
            sessions.end(session)
        answer = RedirectResponse("/login", status_code=303)
        answer.headers["set-cookie"] = f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        return answer
