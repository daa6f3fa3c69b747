"""Web events for detection tests, made by the native core from a CEF line as Imperva writes it, and
a store holding them (the DuckDB sink, as in production)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wafpipe import _native
from wafpipe.decode.batch import batch_of
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import DuckDBSink

T0 = datetime(2026, 6, 1, 12, 4, 30, tzinfo=UTC)
LINE = (
    "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| sourceServiceName={site} siteid=61539044 suid=1843222 "
    "requestClientApplication={ua} ccode={country} start={start} request={site}{path}{qstr} requestMethod={method} "
    "cn1={status} app=HTTPS act={act} src={ip} cpt=443{rules}"
)


def cef_line(at: datetime = T0, *, ip: str = "192.0.2.10", site: str = "shop.example.com", path: str = "/",
             query: str = "", method: str = "GET", status: int = 200, ua: str = "Mozilla/5.0 Firefox/120.0",
             act: str = "REQ_PASSED", rules: str = "", country: str = "DE") -> str:  # fmt: skip
    """One CEF line as Imperva writes it (to put into files that a collector reads)."""
    return LINE.format(site=site, ua=ua, start=int(at.timestamp() * 1000), path=path,
                       qstr=f" qstr={query}" if query else "", method=method, status=status, act=act, ip=ip, country=country,
                       rules=f" cs9={rules} cs9Label=Rule name" if rules else "")  # fmt: skip


def web_event(
    event_id: str,
    *,
    at: datetime = T0,
    ip: str = "192.0.2.10",
    site: str = "shop.example.com",
    path: str = "/",
    query: str = "",
    method: str = "GET",
    status: int = 200,
    ua: str = "Mozilla/5.0 Firefox/120.0",
    act: str = "REQ_PASSED",
    category: str | None = None,
    security: bool | None = None,
    rules: str = "",
    country: str = "DE",
) -> Event:
    """One event as the core decodes it; ``category`` and ``security`` are set on the document
    (Imperva's codes for them are the decoder's business, tested elsewhere)."""
    line = cef_line(at, ip=ip, site=site, path=path, query=query, method=method, status=status, ua=ua, act=act,
                    rules=rules, country=country)
    doc: dict[str, Any] = json.loads(_native.document("cef", line, parse_user_agent))
    if category is not None:
        doc.setdefault("rule", {})["category"] = category
    if security is not None:
        doc["imperva"]["waf"]["security_event"] = security
    return Event(event_id, doc)


def store_of(path: Path, events: Iterable[Event]) -> DuckDBSink:
    """An open store holding ``events`` (the caller closes it)."""
    sink = DuckDBSink(path)
    sink.open()
    sink.write(batch_of(list(events)))
    return sink
