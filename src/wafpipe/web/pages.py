"""The UI's pages: overview, search, one event, attacks, health. Each reads through the read service
(the same calls as ``/api/*`` and ``wafpipe query``) and renders a template; the charts' data comes
from ``/api/*`` in the browser (``static/overview.js``).

A query the read side refuses is shown on the page with its column, never as an error page.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from wafpipe import clock
from wafpipe.errors import QueryError, WafpipeError
from wafpipe.model import SOURCE_HEALTH_PREFIX
from wafpipe.store.service import Reader
from wafpipe.web.render import both, match, page
from wafpipe.web.timerange import TimeRange

PAGE_SIZE = 50
SKEW_S = 300  # newest event this far ahead of the clock: a skewed clock
SECURITY = "imperva.waf.security_event:true"
# What the overview's top lists show: (title, field, query that narrows them).
TOP_LISTS = (
    ("Source addresses", "source.ip", ""),
    ("Countries", "source.geo.country_iso_code", ""),
    ("Sites", "url.domain", ""),
    ("Paths", "url.path", ""),
    ("Clients", "imperva.waf.client.app", ""),
    ("User agents", "user_agent.original", ""),
    ("Attack types", "rule.category", SECURITY),
    ("Rules", "imperva.waf.rule_names", SECURITY),
)
DEFAULT_COLUMNS = ("@timestamp", "source.ip", "source.geo.country_iso_code", "http.request.method", "url.domain",
                   "url.path", "http.response.status_code", "imperva.waf.action_class", "rule.category")
SIDEBAR_FIELDS = ("imperva.waf.action_class", "rule.category", "url.domain", "source.ip", "http.request.method",
                  "http.response.status_code", "source.geo.country_iso_code")


def flatten(doc: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A document as (dotted field, value text) rows, in document order."""
    if isinstance(doc, dict):
        return [row for key, value in doc.items() for row in flatten(value, f"{prefix}{key}.")]
    text = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False, default=str)
    return [(prefix.rstrip("."), text)]


def clock_skew(newest: str | None) -> str:
    """A warning when the newest stored event is dated in the future: this machine's clock (or
    Imperva's) is off, and "last 15 minutes" would show the wrong events."""
    if not newest:
        return ""
    ahead = datetime.fromisoformat(newest.replace("Z", "+00:00")).timestamp() - clock.now()
    if ahead <= SKEW_S:
        return ""
    return (f"the newest event is dated {ahead / 60:.0f} minutes in the future ({newest}): check this machine's "
            "clock (NTP) and the time zone of the files")


def overview_data(reader: Reader, tr: TimeRange) -> tuple[dict[str, int], list[tuple[str, str, str, Any]]]:
    """The overview's numbers and top lists (its charts' data comes from /api in the browser)."""
    totals = {"events": reader.count("", tr.since, tr.until)["count"],
              "security": reader.count(SECURITY, tr.since, tr.until)["count"],
              "passed_attacks": reader.count(f"{SECURITY} and imperva.waf.action_class:passed",
                                             tr.since, tr.until)["count"]}
    tops = [(title, field, narrow, reader.top(field, narrow, tr.since, tr.until, limit=10)["values"])
            for title, field, narrow in TOP_LISTS]
    return totals, tops


def alert_row(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert as the Alerts page shows it, with the search of its events (its group, its times)."""
    record = alert.get("record") or {}
    group = record.get("group") or {}
    query = both(*(match(k, v) for k, v in group.items()))
    last = datetime.fromisoformat(str(record.get("last", "")).replace("Z", "+00:00")) if record.get("last") else None
    until = (last + timedelta(seconds=1)).isoformat().replace("+00:00", "Z") if last else ""
    search = "/search?" + urlencode({"q": query, "range": "custom", "since": record.get("first", ""), "until": until})
    return {"id": alert.get("id"), "acknowledged_at": alert.get("acknowledged_at"),
            "rule": record.get("rule") or {}, "kind": record.get("kind", "rule"), "count": record.get("count"),
            "group": ", ".join(f"{k} {v}" for k, v in group.items()), "first": record.get("first"),
            "last": record.get("last"), "search": search}  # fmt: skip


def add_pages(app: FastAPI, reader: Reader) -> None:
    @app.get("/", include_in_schema=False)
    def overview(request: Request, range: str | None = None, since: str | None = None,  # noqa: A002
                 until: str | None = None) -> Response:
        tr = TimeRange.parse(range, since, until)
        try:
            totals, tops = overview_data(reader, tr)
        except WafpipeError as exc:
            return page(request, "error.html", status=503, timerange=tr, error=str(exc))
        return page(request, "overview.html", timerange=tr, totals=totals, tops=tops, security=SECURITY)

    @app.get("/search", include_in_schema=False)
    def search(request: Request, q: str = "", range: str | None = None, since: str | None = None,  # noqa: A002
               until: str | None = None, offset: int = 0, columns: str = "") -> Response:
        tr = TimeRange.parse(range, since, until)
        chosen = [c for c in columns.split(",") if c] or list(DEFAULT_COLUMNS)
        error, column, events, total, sidebar = "", None, [], 0, []
        try:
            found = reader.search(q, limit=PAGE_SIZE, offset=max(0, offset), since=tr.since, until=tr.until,
                                  fields=chosen)
            events = found["events"]
            total = reader.count(q, tr.since, tr.until)["count"]
            sidebar = [(f, reader.top(f, q, tr.since, tr.until, limit=5)["values"]) for f in SIDEBAR_FIELDS]
        except QueryError as exc:
            error, column = str(exc), exc.column
        except WafpipeError as exc:
            error = str(exc)
        return page(request, "search.html", timerange=tr, q=q, columns=chosen, events=events, total=total,
                    offset=max(0, offset), page_size=PAGE_SIZE, sidebar=sidebar, error=error, column=column,
                    columns_text=",".join(chosen))

    @app.get("/events/{event_id}", include_in_schema=False)
    def event(request: Request, event_id: str) -> Response:
        try:
            doc = reader.event(event_id)
        except QueryError as exc:
            return page(request, "error.html", status=400, timerange=None, error=str(exc))
        if doc is None:
            return page(request, "error.html", status=404, timerange=None, error="no such event")
        original = doc.get("event", {}).get("original", "") if isinstance(doc.get("event"), dict) else ""
        return page(request, "event.html", timerange=None, event_id=event_id, rows=flatten(doc),
                    original=original, document=json.dumps(doc, indent=2, ensure_ascii=False, default=str))

    @app.get("/attacks", include_in_schema=False)
    def attacks(request: Request, range: str | None = None, since: str | None = None,  # noqa: A002
                until: str | None = None) -> Response:
        tr = TimeRange.parse(range, since, until)
        passed = f"{SECURITY} and imperva.waf.action_class:passed"
        try:
            by_type = reader.top("rule.category", SECURITY, tr.since, tr.until, limit=50,
                                 by="imperva.waf.action_class")["values"]
            rules = reader.top("imperva.waf.rule_names", SECURITY, tr.since, tr.until, limit=20)["values"]
            sources = reader.top("source.ip", SECURITY, tr.since, tr.until, limit=20)["values"]
            passed_events = reader.search(passed, limit=20, since=tr.since, until=tr.until,
                                          fields=list(DEFAULT_COLUMNS))["events"]
            passed_count = reader.count(passed, tr.since, tr.until)["count"]
        except WafpipeError as exc:
            return page(request, "error.html", status=503, timerange=tr, error=str(exc))
        return page(request, "attacks.html", timerange=tr, by_type=by_type, rules=rules, sources=sources,
                    passed_events=passed_events, passed_count=passed_count, passed_query=passed,
                    security=SECURITY, columns=list(DEFAULT_COLUMNS))

    @app.get("/alerts", include_in_schema=False)
    def alerts(request: Request, acknowledged: bool = False) -> Response:
        try:
            found = reader.alerts(limit=200, include_acknowledged=acknowledged)["alerts"]
        except WafpipeError as exc:
            return page(request, "error.html", status=503, timerange=None, error=str(exc))
        return page(request, "alerts.html", timerange=None, alerts=[alert_row(a) for a in found],
                    acknowledged=acknowledged)

    @app.get("/health", include_in_schema=False)
    def health(request: Request) -> Response:
        try:
            status = reader.health()
            dead = reader.dead_letters(limit=50)["dead_letters"]
            bad_files = [f for s in ("failed", "quarantined") for f in reader.files(status=s, limit=50)["files"]]
            mismatched = reader.files(checksum="mismatch", limit=50)["files"]
        except WafpipeError as exc:
            return page(request, "error.html", status=503, timerange=None, error=str(exc))
        sources = {k[len(SOURCE_HEALTH_PREFIX):]: v for k, v in status.get("components", {}).items()
                   if k.startswith(SOURCE_HEALTH_PREFIX)}
        return page(request, "health.html", timerange=None, health=status, sources=sources, dead=dead,
                    bad_files=bad_files, mismatched=mismatched, skew=clock_skew((status.get("store") or {}).get("last")))
