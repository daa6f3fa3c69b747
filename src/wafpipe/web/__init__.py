"""The web UI of ``wafpipe serve`` (DESIGN §4): pages over the read side, in the one HTTP app.

:mod:`.auth` the browser sessions (one-time login URL, cookie, CSRF), :mod:`.login` its routes,
:mod:`.pages` the pages, :mod:`.export` streamed exports, :mod:`.render` templates (escaped by
default), :mod:`.headers` the Content-Security-Policy and friends, :mod:`.timerange` the range
picker's one definition. ``templates/`` and ``static/`` hold the HTML, our CSS and scripts;
``static/vendor/`` the chart library, copied from npm (``assets/``) at build time by ``make``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from wafpipe.store.service import Reader
from wafpipe.web.auth import Sessions
from wafpipe.web.export import add_export
from wafpipe.web.headers import SecurityHeaders
from wafpipe.web.login import add_login
from wafpipe.web.pages import DEFAULT_COLUMNS, add_pages

STATIC = Path(__file__).resolve().parent / "static"
LOGIN_PATH = "/login"


def add_ui(app: FastAPI, reader: Reader, sessions: Sessions) -> None:
    """The UI's routes on ``app`` (whose ``/api`` routes the pages' scripts call)."""
    add_login(app, sessions)
    add_pages(app, reader)
    add_export(app, reader, DEFAULT_COLUMNS)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


__all__ = ["LOGIN_PATH", "STATIC", "SecurityHeaders", "Sessions", "add_ui"]
