"""Events → the Arrow table loaded into the DuckDB ``events`` table (see :mod:`wafpipe.sinks.duckdb.sink`).

Columns. The typed columns (:data:`COLUMNS`) hold what people filter and group on; each names the
ECS field it copies and its query type. The table's DDL, and the allow-list of
:mod:`wafpipe.store.query.fields`, are both built from this one tuple, so what is stored and what a query
may name cannot drift apart. ``doc`` (the whole document as JSON) is always the last column.

Conversion. A batch becomes one Arrow table (no row-by-row INSERT): typed values picked in Python by
:func:`_row` (hand-unrolled: it runs once per stored event), the document serialised by orjson.
Nothing here fails a batch: a value of the wrong type becomes NULL (a status outside int32, a
non-boolean ``security_event``), lists are joined with commas, orjson falls back to ``str`` for odd
values, and a time that does not parse becomes "now". :func:`to_arrow` reports that last case,
because the sink's duplicate check may trust the batch's ``ts`` range only when every ``ts`` is the
document's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from wafpipe.model import Event


@dataclass(frozen=True, slots=True)
class Column:
    """A typed column of ``events``: its SQL type and the ECS field it copies."""

    name: str
    sql_type: str
    field: str  # ECS / vendor path in the document
    kind: str  # query type: keyword | long | boolean | date | ip


COLUMNS: tuple[Column, ...] = (
    Column("id", "VARCHAR", "_id", "keyword"),
    Column("ts", "TIMESTAMP", "@timestamp", "date"),
    Column("site", "VARCHAR", "imperva.waf.site.name", "keyword"),
    Column("site_id", "VARCHAR", "imperva.waf.site.id", "keyword"),
    Column("account_id", "VARCHAR", "imperva.waf.account.id", "keyword"),
    Column("source_ip", "VARCHAR", "source.ip", "ip"),
    Column("country", "VARCHAR", "source.geo.country_iso_code", "keyword"),
    Column("action", "VARCHAR", "imperva.waf.action", "keyword"),
    Column("action_class", "VARCHAR", "imperva.waf.action_class", "keyword"),
    Column("outcome", "VARCHAR", "event.outcome", "keyword"),
    Column("kind", "VARCHAR", "event.kind", "keyword"),
    Column("attack_type", "VARCHAR", "imperva.waf.attack_type", "keyword"),
    Column("status", "INTEGER", "http.response.status_code", "long"),
    Column("method", "VARCHAR", "http.request.method", "keyword"),
    Column("host", "VARCHAR", "url.domain", "keyword"),
    Column("path", "VARCHAR", "url.path", "keyword"),
    Column("rule", "VARCHAR", "rule.name", "keyword"),
    Column("security_event", "BOOLEAN", "imperva.waf.security_event", "boolean"),
    Column("user_agent", "VARCHAR", "user_agent.original", "keyword"),
)
_COLUMN_NAMES = tuple(c.name for c in COLUMNS) + ("doc",)

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
}
_ARROW_SCHEMA = pa.schema([(c.name, _ARROW_TYPES[c.sql_type]) for c in COLUMNS] + [("doc", pa.string())])


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _str(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def _row(ev: Event) -> tuple[Any, ...]:
    """The typed values of one document (hand-unrolled: this runs once per stored event)."""
    if ev.row is not None:
        return ev.row
    d = ev.doc
    waf = _get(d, "imperva", "waf") or {}
    site = waf.get("site") or {}
    source = d.get("source") or {}
    event = d.get("event") or {}
    http = d.get("http") or {}
    url = d.get("url") or {}
    status = _get(http, "response", "status_code")
    if not isinstance(status, int) or isinstance(status, bool) or not -(2**31) <= status < 2**31:
        status = None
    sec = waf.get("security_event")
    return (
        ev.id,
        d.get("@timestamp"),
        _str(site.get("name")),
        _str(site.get("id")),
        _str(_get(waf, "account", "id")),
        _str(source.get("ip")),
        _str(_get(source, "geo", "country_iso_code")),
        _str(waf.get("action")),
        _str(waf.get("action_class")),
        _str(event.get("outcome")),
        _str(event.get("kind")),
        _str(waf.get("attack_type")),
        status,
        _str(_get(http, "request", "method")),
        _str(url.get("domain")),
        _str(url.get("path")),
        _str(_get(d, "rule", "name")),
        sec if isinstance(sec, bool) else None,
        _str(_get(d, "user_agent", "original")),
        # default=str: never lose an event to an odd value
        # bytes, the very object in ev.json: pickled once across processes, no str copy
        ev.json if ev.json is not None else orjson.dumps(d, default=str),
    )


def store_row(ev: Event) -> tuple[Any, ...]:
    """The row of ``events`` for one event; decode workers compute it (see ``Event.prepare``)."""
    return _row(ev)


def _timestamps(values: list[Any]) -> tuple[pa.Array, bool]:
    """ISO 8601 strings → UTC ``timestamp[us]``, and whether every value parsed (vectorised, with
    a per-value fallback; an unparsable time becomes "now" rather than losing the event)."""
    try:
        arr = pa.array(values, pa.string()).cast(pa.timestamp("us", "UTC"))
        if arr.null_count == 0:
            return arr.cast(pa.timestamp("us")), True
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    out: list[datetime] = []
    now = datetime.now(UTC).replace(tzinfo=None)
    parsed = True
    for v in values:
        try:
            dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
            if dt.tzinfo is not None:
                dt = dt.astimezone(UTC).replace(tzinfo=None)
        except ValueError:
            dt, parsed = now, False
        out.append(dt)
    return pa.array(out, pa.timestamp("us")), parsed


def to_arrow(batch: Sequence[Event]) -> tuple[pa.Table, bool]:
    """Events → the Arrow table for ``events`` (table column order), and whether every ``ts``
    is the document's own (else the duplicate check must not trust the time range)."""
    cols = list(zip(*[_row(ev) for ev in batch], strict=True)) if batch else [()] * len(_COLUMN_NAMES)
    arrays: list[pa.Array] = []
    exact = True
    for i, f in enumerate(_ARROW_SCHEMA):
        if f.name == "ts":
            arr, exact = _timestamps(list(cols[i]))
            arrays.append(arr)
        else:
            arrays.append(pa.array(cols[i], f.type))
    return pa.Table.from_arrays(arrays, schema=_ARROW_SCHEMA), exact
