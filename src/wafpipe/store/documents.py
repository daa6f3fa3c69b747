"""Stored rows → the ECS documents the core emitted (DESIGN §1: the document is rebuilt on read).

The store keeps no JSON document: ``query --format ndjson``, the API's search and event routes,
and later the UI, rebuild each one from its typed columns. The rebuilt document equals the one the
Elasticsearch sink sent for the same line (a test compares them for every generated format and
quirk), because both come from the same Arrow columns: a field is present exactly when its column
is not null (the core writes no nulls), dates are written as the core writes them (UTC, milliseconds,
``Z``), JSON-typed columns are parsed back, and ``event.original`` returns from its own column
(:data:`wafpipe.store.schema.ORIGINAL`) into ``event``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from wafpipe.fields.arrow import ID, JSON_FIELDS
from wafpipe.store.schema import ORIGINAL

_JSON_PATHS = frozenset(JSON_FIELDS)


def _date(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _clean(node: Any, path: tuple[str, ...]) -> Any:
    """``node`` without nulls or empty objects, dates as text, JSON text parsed; None if empty."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if value is None:
                continue
            cleaned = _clean(value, (*path, key))
            if cleaned is not None:
                out[key] = cleaned
        return out or None
    if isinstance(node, datetime):
        return _date(node)
    if path in _JSON_PATHS and isinstance(node, str):
        return orjson.loads(node)
    if isinstance(node, list):
        return [_date(v) if isinstance(v, datetime) else v for v in node]
    return node


def rebuild(rows: pa.Table | pa.RecordBatch) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(id, document)`` for each row of ``rows`` (columns of the ``events`` table, any subset that
    includes ``_id``): the document holds the fields of the columns given."""
    for row in rows.to_pylist():
        event_id = row.pop(ID)
        original = row.pop(ORIGINAL, None)
        doc = _clean(row, ()) or {}
        if original is not None:
            doc.setdefault("event", {})["original"] = original
        yield event_id, doc


def ndjson(rows: pa.Table | pa.RecordBatch) -> Iterator[bytes]:
    """The rows as NDJSON lines (``_id`` first), as ``wafpipe parse`` writes them."""
    for event_id, doc in rebuild(rows):
        yield orjson.dumps({ID: event_id, **doc}) + b"\n"
