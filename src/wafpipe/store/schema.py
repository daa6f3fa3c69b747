"""Events → the Arrow table loaded into the DuckDB ``events`` table (see :mod:`wafpipe.sinks.duckdb.sink`).

Columns. The typed columns (:data:`COLUMNS`) hold what people filter and group on; each names the
ECS field it copies and its query type. The table's DDL, and the allow-list of
:mod:`wafpipe.store.query.fields`, are both built from this one tuple, so what is stored and what a query
may name cannot drift apart. ``doc`` (the whole document as JSON) is always the last column.

Conversion. A Batch becomes one Arrow table (no row-by-row INSERT) by picking the typed columns
out of the Batch's nested ECS columns — vectorised, no per-event Python — and the documents the
decode worker serialised. Nothing here fails a batch: a status outside int32 becomes NULL, and a
missing time becomes "now". :func:`to_arrow` reports whether every ``ts`` is the document's own,
because the sink's duplicate check may trust the batch's ``ts`` range only then.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from wafpipe.clock import utcnow
from wafpipe.fields.arrow import ID, column
from wafpipe.model import Batch


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
    Column("attack_type", "VARCHAR", "rule.category", "keyword"),
    Column("status", "INTEGER", "http.response.status_code", "long"),
    Column("method", "VARCHAR", "http.request.method", "keyword"),
    Column("host", "VARCHAR", "url.domain", "keyword"),
    Column("path", "VARCHAR", "url.path", "keyword"),
    Column("rule", "VARCHAR", "rule.name", "keyword"),
    Column("security_event", "BOOLEAN", "imperva.waf.security_event", "boolean"),
    Column("user_agent", "VARCHAR", "user_agent.original", "keyword"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS) + ("doc",)

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
}
ARROW_SCHEMA = pa.schema([(c.name, _ARROW_TYPES[c.sql_type]) for c in COLUMNS] + [("doc", pa.string())])
_INT32 = (-(2**31), 2**31 - 1)


def _typed(batch: Batch, col: Column) -> pa.Array:
    if col.field == "_id":
        return batch.events.column(ID)
    values = column(batch.events, col.field)
    if col.sql_type == "INTEGER":
        fits = pc.and_(pc.greater_equal(values, _INT32[0]), pc.less_equal(values, _INT32[1]))
        values = pc.if_else(fits, values, pa.scalar(None, values.type))
    return values.cast(_ARROW_TYPES[col.sql_type])


def _timestamps(batch: Batch) -> tuple[pa.Array, bool]:
    """``@timestamp`` as naive UTC microseconds, and whether every value is the document's own (a
    missing one becomes "now"; an ingest-time stamp is not the document's own either)."""
    ts = column(batch.events, "@timestamp").cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))
    own = ts.null_count == 0
    if not own:
        ts = pc.fill_null(ts, pa.scalar(utcnow().replace(tzinfo=None), pa.timestamp("us")))
    source = column(batch.events, "imperva.waf.timestamp_source")
    if pc.any(pc.equal(source, "ingest_time")).as_py():
        own = False
    return ts, own


def to_arrow(batch: Batch) -> tuple[pa.Table, bool]:
    """A Batch → the Arrow table for ``events`` (table column order), and whether every ``ts`` is
    the document's own (else the duplicate check must not trust the time range)."""
    if batch.documents is None:
        raise ValueError("the embedded store keeps each document: build the Batch with documents")
    arrays: list[pa.Array] = []
    own = True
    for col in COLUMNS:
        if col.name == "ts":
            ts, own = _timestamps(batch)
            arrays.append(ts)
        else:
            arrays.append(_typed(batch, col))
    arrays.append(pa.array(batch.documents, pa.binary()).cast(pa.string()))
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA), own
