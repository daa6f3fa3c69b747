"""The embedded store: one DuckDB file, table ``events`` (DESIGN §1, §2).

Shape. Typed columns (:data:`COLUMNS`, defined with the Arrow conversion in
:mod:`wafpipe.store.schema`) hold what people filter and group on, so those queries read a few
compressed columns and skip row groups by their min/max statistics ("zonemaps"); ``doc`` holds the
whole ECS document as JSON text (VARCHAR: the JSON type re-validates every document on insert,
13 % slower on 150 000 generated events, and DuckDB's json functions read VARCHAR alike), zstd-compressed (on 100 000 bench documents 2.3x smaller and 2.3x
faster to checkpoint than DuckDB's default), so every other field stays reachable and ``search``
returns exactly what was parsed. :mod:`wafpipe.store.query.fields` builds its allow-list from COLUMNS.

Loading. A batch becomes one Arrow table (:func:`~wafpipe.store.schema.to_arrow`: typed values
picked in Python, the document serialised by orjson), registered with DuckDB and inserted by one
``INSERT … SELECT … ORDER BY ts`` (no row-by-row INSERT). Imperva delivers files roughly in time
order, so the table stays nearly time-ordered and the zonemaps of ``ts`` stay tight for time-range
queries and for the duplicate check below.

First write wins, chosen by measurement (``bench/duckdb_insert.py``; DuckDB 2.0.1, 2 vCPU,
memory_limit 256MB, a 1.6 GB store of 10 M rows, 30 committed batches of 10 000 events; new /
replayed events per second, peak RSS):

* id PRIMARY KEY + ``INSERT OR IGNORE``: 16 783 / 32 286, 2649 MiB — the ART index does not even
  build within 256MB (OOM; 8.4 s at 8GB) and lives in memory, growing with the store;
* anti-join against the whole table: 18 585 / 17 399, 548 MiB — reads every stored id per batch;
* **chosen** — anti-join limited to the batch's ``ts`` range: 45 587 / 677 342, 464 MiB
  (38 723 / 88 942, 620 MiB through :meth:`DuckDBSink.write`, Python → Arrow included).

"Replayed" batches hold only stored ids: a crash replay. ``ts BETWEEN lo AND hi`` is pushed into
the scan, so only row groups overlapping the batch are read. It is exact because the id fixes
``ts``: the id hashes file identity, line ordinal and line bytes, and ``@timestamp`` comes from
the line or from the header's ``startTime`` (part of the file identity). Exception: a document
stamped with the ingest time (``imperva.waf.timestamp_source: ingest_time``) or whose time did not
parse gets another ``ts`` on replay, so a batch holding one is checked against the whole table.
Duplicates inside a batch collapse in Python first (first occurrence wins).

Durability. One transaction per batch; DuckDB fsyncs its WAL on ``COMMIT``, so ``write`` returns
only when the batch survives a crash. The WAL is checkpointed into the file at
:data:`CHECKPOINT_THRESHOLD`, after retention deletes (to reclaim space) and on ``close``.

One writer (DESIGN §2). DuckDB allows one read-write process per file: the collector. ``wafpipe
query`` opens the file ``read_only=True`` only when no collector runs (else it uses the API).
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc

from wafpipe.clock import utcnow
from wafpipe.config.files import make_private, private_dir
from wafpipe.errors import SinkError
from wafpipe.failpoints import failpoint
from wafpipe.model import Batch
from wafpipe.sinks.base import Sink, WriteResult
from wafpipe.store.schema import COLUMNS, Column, to_arrow

__all__ = [
    "CHECKPOINT_THRESHOLD",
    "COLUMNS",
    "INSERT_FULL_SQL",
    "INSERT_RANGE_SQL",
    "SCHEMA_VERSION",
    "Column",
    "DuckDBSink",
    "to_arrow",
]

SCHEMA_VERSION = 1

_DDL = (
    "CREATE TABLE IF NOT EXISTS events ("
    + ", ".join(f"{c.name} {c.sql_type}{' NOT NULL' if c.name in ('id', 'ts') else ''}" for c in COLUMNS)
    + ", doc VARCHAR NOT NULL USING COMPRESSION zstd)"
)
_META_DDL = "CREATE TABLE IF NOT EXISTS wafpipe_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"

# The batch table is registered as ``wafpipe_batch``. ``{range}`` is either empty (whole-table
# anti-join) or the constant time window; both are fixed strings, never user text.
_INSERT_SQL = (
    "INSERT INTO events SELECT b.* FROM wafpipe_batch b WHERE NOT EXISTS "  # noqa: S608
    "(SELECT 1 FROM events e WHERE e.id = b.id{range}) ORDER BY b.ts"
)
INSERT_RANGE_SQL = _INSERT_SQL.format(range=" AND e.ts BETWEEN ? AND ?")
INSERT_FULL_SQL = _INSERT_SQL.format(range="")

_RETENTION_EVERY_S = 3600.0
# DuckDB checkpoints when the WAL passes this size. Each checkpoint rewrites the table's last,
# partly filled row group, so the 16 MB default rewrites it every ~15 000 events; on the 10 M-row
# bench store 128 MB gives 45 587 new events/s against 27 030 (same peak RSS), for a longer WAL
# replay after a crash.
CHECKPOINT_THRESHOLD = "128MB"


class DuckDBSink(Sink):
    """Events stored in a DuckDB file; see the module docstring for the why of each choice."""

    name = "duckdb"

    def __init__(
        self,
        path: str | Path,
        memory_limit: str = "256MB",
        threads: int | None = None,
        retention_days: int | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.memory_limit = memory_limit
        self.threads = threads
        self.retention_days = retention_days
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._last_retention = 0.0

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        if self._con is not None:
            return
        if self.read_only and not self.path.exists():
            raise SinkError(
                f"no DuckDB store at {self.path}", hint="run `wafpipe run` first, or check [[sinks]] path"
            )
        if not self.read_only:
            private_dir(self.path.parent)
        try:
            con = duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.Error as exc:
            hint = (
                "another process (a running collector?) holds the store; query it through the collector's API"
                if "lock" in str(exc).lower()
                else "check that the path is a DuckDB file and readable"
            )
            raise SinkError(f"cannot open DuckDB store {self.path}: {exc}", hint=hint) from exc
        try:
            con.execute("SET memory_limit = ?", [self.memory_limit])
            con.execute("SET checkpoint_threshold = ?", [CHECKPOINT_THRESHOLD])
            if self.threads:
                con.execute("SET threads = ?", [int(self.threads)])
            if not self.read_only:
                con.execute(_DDL)
                con.execute(_META_DDL)
                con.execute(
                    "INSERT OR IGNORE INTO wafpipe_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
                )
            elif not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'events'").fetchall():
                raise SinkError(f"{self.path} holds no wafpipe events table", hint="is it a wafpipe store?")
        except (duckdb.Error, SinkError) as exc:
            con.close()
            if isinstance(exc, SinkError):
                raise
            raise SinkError(f"cannot prepare DuckDB store {self.path}: {exc}") from exc
        self._con = con
        if not self.read_only:  # private like the rest of the data directory (its .wal: the CLI's umask)
            make_private(self.path, f"{self.path}.wal")
        if self.retention_days is not None and not self.read_only:
            self.delete_older_than(self.retention_days)

    def close(self) -> None:
        con, self._con = self._con, None
        if con is None:
            return
        try:
            if not self.read_only:
                # on failure the WAL still holds every committed batch; the next open replays it
                with contextlib.suppress(duckdb.Error):
                    con.execute("CHECKPOINT")
        finally:
            con.close()

    def __enter__(self) -> DuckDBSink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self.open()
        assert self._con is not None
        return self._con

    # -- writing -----------------------------------------------------------------------------
    def write(self, batch: Batch) -> WriteResult:
        """Insert-if-absent, committed before returning (see the module docstring)."""
        if self.read_only:
            raise SinkError(f"DuckDB store {self.path} is open read-only", hint="the collector writes")
        if not len(batch):
            return WriteResult()
        table, stable = to_arrow(batch)
        ids = batch.ids
        if len(set(ids)) < len(ids):  # the same id twice in one batch: the first occurrence wins
            first: dict[str, int] = {}
            for i, event_id in enumerate(ids):
                first.setdefault(event_id, i)
            table = table.take(sorted(first.values()))
        con = self._conn()
        with self._lock:
            try:
                con.register("wafpipe_batch", table)
                con.execute("BEGIN TRANSACTION")
                if stable:
                    ts = table.column("ts")
                    lo, hi = pc.min(ts).as_py(), pc.max(ts).as_py()
                    res = con.execute(INSERT_RANGE_SQL, [lo, hi]).fetchone()
                else:
                    res = con.execute(INSERT_FULL_SQL).fetchone()
                failpoint("sink.duckdb.after_write")
                con.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise SinkError(
                    f"DuckDB store {self.path}: batch of {len(batch)} events not written: {exc}",
                    hint="check free disk space and memory_limit; the batch will be retried",
                ) from exc
            finally:
                con.unregister("wafpipe_batch")
        failpoint("sink.duckdb.after_commit")
        written = int(res[0]) if res else 0
        if self.retention_days is not None and time.monotonic() - self._last_retention > _RETENTION_EVERY_S:
            self.delete_older_than(self.retention_days)
        return WriteResult(written=written, duplicates=len(batch) - written)

    def delete_older_than(self, days: int) -> int:
        """Delete events whose ``ts`` is more than ``days`` days old; return how many."""
        if self.read_only:
            raise SinkError(
                f"DuckDB store {self.path} is open read-only", hint="the collector applies retention"
            )
        cutoff = utcnow().replace(tzinfo=None) - timedelta(days=days)
        con = self._conn()
        with self._lock:
            row = con.execute("DELETE FROM events WHERE ts < ?", [cutoff]).fetchone()
            deleted = int(row[0]) if row else 0
            if deleted:
                con.execute("CHECKPOINT")  # drops emptied row groups, reclaims the space
        self._last_retention = time.monotonic()
        return deleted

    # -- the read side's connection (DESIGN §2 "one writer") ------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to this open store, for one read. The collector hands this method to
        the read service (:class:`wafpipe.store.service.ReadService`): reads share the writer's
        database, each on a connection of its own, so they see every committed batch and are
        bounded and interrupted alone. Reading itself lives in :mod:`wafpipe.store`; a closed
        store is not reopened for a late read."""
        con = self._con
        if con is None:
            raise SinkError(f"DuckDB store {self.path} is closed")
        return con.cursor()

    def setting(self, name: str) -> Any:
        """A DuckDB setting as the engine reports it (``memory_limit``, ``threads``…), for doctor."""
        cur = self._conn().cursor()
        try:
            row = cur.execute("SELECT current_setting(?)", [name]).fetchone()
        finally:
            cur.close()
        return row[0] if row else None
