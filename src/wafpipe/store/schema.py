"""The embedded store's tables, generated from the field table (DESIGN §1, §2).

``events`` has one column per top-level member of the Batch's Arrow schema
(:data:`wafpipe.fields.arrow.SCHEMA`): ``_id``, ``@timestamp``, then the ECS objects as nested
``STRUCT`` s (``source STRUCT(ip VARCHAR, port BIGINT, geo STRUCT(…))``, ``imperva STRUCT(waf
STRUCT(…))``), so a query names a field by its ECS dotted path (``source.geo.country_iso_code``)
and DuckDB reads only that leaf, with its own compression and min/max statistics. Types come
from the field table: dates ``TIMESTAMPTZ``, ports and counts ``BIGINT``, booleans, lists as
``VARCHAR[]``, the geo point a ``STRUCT(lat, lon)``, JSON-typed fields (headers, rule info) ``JSON``.
One exception to the nesting: ``event.original``, the raw record compliance needs, is the column
``event_original`` (last), compressed with zstd. DuckDB takes a compression only for a whole
column, and its own choice for strings (FSST or dictionary) keeps raw Imperva lines 3x larger: on
200 000 generated CEF events, 153 MiB with it inside ``event`` against 53 MiB as a zstd column, and
25k against 18k events/s inserted (the gzip'd files were 38 MiB). :func:`stored` moves the one
child out of the Batch's ``event`` struct (no copy of values); the read side puts it back
(:mod:`wafpipe.store.documents`).

``files`` holds each file's facts once (header, format, compression, W3C directives, MD5…;
:meth:`wafpipe.model.FileInfo.facts`), keyed by the file identity every event carries.

``ledger`` is the store's own progress (DESIGN §2): per file identity, the ordinal below which
every line is settled, committed in the same transaction as the events, so a replayed Batch is
recognised without looking up its ids (see :mod:`wafpipe.sinks.duckdb.sink`).

``prunes`` records every retention deletion (dataset, cutoff, rows deleted, when, why, and the
namespace when one has a retention of its own), written in the delete's own transaction
(:mod:`wafpipe.store.retention`).

``wafpipe_meta`` records the schema version; a store of another version is refused at open with
the command that migrates it (``wafpipe store migrate``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from wafpipe.errors import SinkError
from wafpipe.fields.arrow import SCHEMA

SCHEMA_VERSION = 2

EVENTS = "events"
FILES = "files"
PRUNES = "prunes"
LEDGER = "ledger"
META = "wafpipe_meta"


def sql_type(arrow_type: pa.DataType) -> str:
    """The DuckDB type of an Arrow type of the Batch schema."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        if arrow_type.extension_name == "arrow.json":
            return "JSON"
        raise TypeError(f"no DuckDB type for {arrow_type}")
    if pa.types.is_struct(arrow_type):
        return "STRUCT(" + ", ".join(f"{quote(f.name)} {sql_type(f.type)}" for f in arrow_type) + ")"
    if pa.types.is_list(arrow_type):
        return sql_type(arrow_type.value_type) + "[]"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    simple = {
        pa.string(): "VARCHAR",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    raise TypeError(f"no DuckDB type for {arrow_type}")


def quote(name: str) -> str:
    """A name of our own schema as a DuckDB identifier (``@timestamp`` needs the quotes)."""
    if '"' in name:
        raise ValueError(f"not a schema name: {name!r}")
    return f'"{name}"'


ORIGINAL = "event_original"  # the column of ``event.original``


def _without_original(event_type: pa.StructType) -> pa.StructType:
    return pa.struct([f for f in event_type if f.name != "original"])


STORED_SCHEMA = pa.schema(
    [pa.field(f.name, _without_original(f.type)) if f.name == "event" else f for f in SCHEMA]
    + [pa.field(ORIGINAL, pa.string())]
)


def stored(events: pa.RecordBatch) -> pa.RecordBatch:
    """A Batch's record batch as the ``events`` table holds it: ``event.original`` moved from the
    ``event`` struct to the last column (the arrays are shared, not copied)."""
    event = events.column("event")
    keep = [i for i, f in enumerate(event.type) if f.name != "original"]
    mask = event.is_null() if event.null_count else None
    moved = pa.StructArray.from_arrays(
        [event.field(i) for i in keep], fields=[event.type.field(i) for i in keep], mask=mask
    )
    columns = [moved if name == "event" else events.column(name) for name in events.schema.names]
    return pa.RecordBatch.from_arrays([*columns, event.field("original")], schema=STORED_SCHEMA)


def events_ddl() -> str:
    columns = [f"{quote(f.name)} {sql_type(f.type)}" + ("" if f.nullable else " NOT NULL") for f in STORED_SCHEMA]
    columns[-1] += " USING COMPRESSION zstd"
    return f"CREATE TABLE IF NOT EXISTS {EVENTS} (" + ", ".join(columns) + ")"


FILES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {FILES} (identity VARCHAR PRIMARY KEY, name VARCHAR, format VARCHAR, "
    "checksum_status VARCHAR, partial BOOLEAN, stored TIMESTAMPTZ NOT NULL, facts JSON NOT NULL)"
)
LEDGER_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LEDGER} (identity VARCHAR PRIMARY KEY, next_ordinal BIGINT NOT NULL, "
    "trusted BOOLEAN NOT NULL, updated TIMESTAMPTZ NOT NULL)"
)
PRUNES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PRUNES} (dataset VARCHAR NOT NULL, cutoff TIMESTAMPTZ NOT NULL, "
    "deleted BIGINT NOT NULL, pruned_at TIMESTAMPTZ NOT NULL, reason VARCHAR NOT NULL, namespace VARCHAR)"
)
# a store made before per-namespace retention gets the column at its next writable open (NULL:
# the deletion applied to every namespace, as every deletion then did)
PRUNES_NAMESPACE = f"ALTER TABLE {PRUNES} ADD COLUMN IF NOT EXISTS namespace VARCHAR"
META_DDL = f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR PRIMARY KEY, value VARCHAR)"


def ddl() -> list[str]:
    """Every table of a new store, in creation order."""
    return [events_ddl(), FILES_DDL, LEDGER_DDL, PRUNES_DDL, PRUNES_NAMESPACE, META_DDL]


def stored_version(con: Any) -> int | None:
    """The schema version of the store open on ``con`` (a DuckDB connection); None when it holds no
    wafpipe table yet. Version 1 stores kept ``events`` with a JSON ``doc`` column."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if META in tables:
        rows = con.execute(f"SELECT value FROM {META} WHERE key = 'schema_version'").fetchall()  # noqa: S608
        if rows:
            return int(rows[0][0])
    return 1 if EVENTS in tables else None


class OldStoreError(SinkError):
    """The store was written by an older wafpipe: ``wafpipe store migrate`` brings it forward.
    Not a failure to store data but a store that cannot be used as it is: commands exit 2."""

    def __init__(self, path: str, version: int) -> None:
        super().__init__(
            f"{path} is a version {version} store and this wafpipe reads version {SCHEMA_VERSION}; "
            f"run `wafpipe store migrate` to convert it (every event id is kept)",
            hint=f"wafpipe store migrate -c <config> (or --store {path})",
        )
        self.version = version
