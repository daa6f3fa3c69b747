"""Pages from Jinja2 templates, escaped by default: every value a template shows is text, whatever
an attacker put into a URL, a header or a user agent. Templates never mark data ``|safe``."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from wafpipe.web.auth import Session
from wafpipe.web.timerange import LABELS, TimeRange

NAV = (("/", "Overview"), ("/search", "Search"), ("/attacks", "Attacks"), ("/alerts", "Alerts"), ("/health", "Health"))


def match(field: str, value: Any) -> str:
    """The query that matches ``value`` in ``field`` exactly: quoted, with ``\\`` and ``"`` escaped,
    so a value holding query syntax (or an attack payload) stays one literal value."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{text}"'


def both(*queries: str) -> str:
    """Queries joined with ``and`` (empty ones left out)."""
    return " and ".join(f"({q})" for q in queries if q and q.strip())


def timestamp(epoch: float | None) -> str:
    """Epoch seconds as an ISO time (UTC), or nothing."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(float(epoch), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("wafpipe.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(match=match, both=both)
    env.filters["timestamp"] = timestamp
    return env


def page(request: Request, template: str, *, status: int = 200, timerange: TimeRange | None = None,
         **context: Any) -> HTMLResponse:
    """``template`` rendered with what every page needs: the navigation, the session's CSRF token,
    the time range (and its picker's choices)."""
    session: Session | None = request.scope.get("wafpipe_session")
    html = environment().get_template(template).render(
        nav=NAV, path=request.url.path, csrf=session.csrf if session else "", timerange=timerange,
        ranges=LABELS, **context)
    return HTMLResponse(html, status_code=status)
