"""The embedded store's writer: one DuckDB file (DESIGN §1, §2); its tables are defined in
:mod:`wafpipe.store.schema`.

Loading. A Batch's Arrow record batch is the table's row shape (:func:`~wafpipe.store.schema.stored`
only moves ``event.original`` to its own column), registered with DuckDB and inserted by one
``INSERT … SELECT``: no value is picked, converted or serialised in Python, and nothing is done per
event in this process.

Exactly once by the ledger (DESIGN §2). Each Batch of a file read commits together with its ledger
row (file identity → the ordinal below which every line is settled), in one transaction. A Batch
replayed after a crash (the state had not yet recorded what the store had committed) is recognised
by that row: only its lines at or past the settled ordinal are inserted, a vectorised filter on
``imperva.waf.file.ordinal``, with no lookup of ids. This holds because a file's lines are read in
order and an event's id is fixed by the identity, the ordinal and the line's bytes.

The ledger vouches only for reads it can trust: a body whose checksum matched (or has none) and that
did not break off. Events of a mismatched or partial read (``imperva.waf.file.checksum_status``,
``partial``) mark the identity's row untrusted, and from then on that identity's Batches are checked
id by id, as are Batches that are not one file read (dead-letter replay, tools): a complete copy
of a damaged file may hold other bytes at the same ordinals, and those lines must still be stored.
Measured (``bench/duckdb_insert.py``, 10 M-row store): see docs/architecture.md "The store".

The id-by-id check is an anti-join limited to the Batch's ``@timestamp`` range, exact because the
id fixes the time (the identity includes the header's ``startTime``); a Batch with an event stamped
at ingest time, or without a time, is checked against the whole table.

Durability. One transaction per Batch; DuckDB fsyncs its WAL on ``COMMIT``, so ``write`` returns
only when the Batch survives a crash. The WAL is checkpointed into the file every
:data:`~.connection.CHECKPOINT_ROWS` stored events, at ``CHECKPOINT_THRESHOLD`` of WAL and on
``close``; a retention delete waits for the next one (forcing it could take seconds:
:mod:`wafpipe.store.retention`).

Memory: see :mod:`.connection` (a checkpoint every two Batches, row groups to match).

One writer (DESIGN §2). DuckDB allows one read-write process per file: the collector. ``wafpipe
query`` opens the file ``read_only=True`` only when no collector runs (else it uses the API).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from wafpipe.clock import utcnow
from wafpipe.config.files import make_private, private_dir
from wafpipe.errors import SinkError
from wafpipe.failpoints import failpoint
from wafpipe.fields.arrow import column
from wafpipe.model import Batch
from wafpipe.sinks.base import Sink, WriteResult
from wafpipe.sinks.duckdb import connection
from wafpipe.sinks.duckdb.config import DEFAULT_MEMORY_LIMIT
from wafpipe.store import rollup
from wafpipe.store.retention import Pruned, Retention, Routing, prune
from wafpipe.store.schema import (
    EVENTS,
    FILES,
    LEDGER,
    META,
    SCHEMA_VERSION,
    OldStoreError,
    ddl,
    stored,
    stored_version,
)

__all__ = ["SCHEMA_VERSION", "DuckDBSink"]

log = logging.getLogger(__name__)

# The batch is registered as ``wafpipe_batch``; every statement is fixed text, values are parameters.
_BATCH = "wafpipe_batch"
# Which rows of the batch are new: past the ledger's settled ordinal, or absent id by id.
_PAST_SETTLED = "b.imperva.waf.file.ordinal >= ?"
_ABSENT = f'NOT EXISTS (SELECT 1 FROM {EVENTS} e WHERE e._id = b._id{{range}})'  # noqa: S608
ABSENT_RANGE = _ABSENT.format(range=' AND e."@timestamp" BETWEEN ? AND ?')
ABSENT_FULL = _ABSENT.format(range="")
_INSERT = f"INSERT INTO {EVENTS} SELECT b.* FROM {_BATCH} b WHERE {{new}}"  # noqa: S608
INSERT_RANGE_SQL = _INSERT.format(new=ABSENT_RANGE)
INSERT_FULL_SQL = _INSERT.format(new=ABSENT_FULL)
_LEDGER_GET = f"SELECT next_ordinal, trusted FROM {LEDGER} WHERE identity = ?"  # noqa: S608
_LEDGER_PUT = (
    f"INSERT INTO {LEDGER} VALUES (?, ?, ?, ?) ON CONFLICT (identity) DO UPDATE SET "  # noqa: S608
    "next_ordinal = greatest(next_ordinal, excluded.next_ordinal), "
    "trusted = trusted AND excluded.trusted, updated = excluded.updated"
)
_FILE_PUT = f"INSERT OR REPLACE INTO {FILES} VALUES (?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
# Checksum verdicts of a body whose lines can be trusted to be the file's own.
_TRUSTED_CHECKSUMS = {"ok", "absent"}

RETENTION_EVERY_S = 3600.0  # how often the collector applies retention (monotonic seconds)


def _one_value(array: pa.Array) -> Any:
    """The value every row of ``array`` holds, or None when they differ or one is null."""
    if array.null_count or not len(array):
        return None
    first = array[0].as_py()
    return first if pc.all(pc.equal(array, first)).as_py() else None


class DuckDBSink(Sink):
    """Events stored in a DuckDB file; see the module docstring for the why of each choice."""

    name = "duckdb"
    needs_documents = False  # rows are the Batch's columns; documents are rebuilt on read

    def __init__(
        self,
        path: str | Path,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int | None = 1,
        retention: Retention | None = None,
        read_only: bool = False,
        routing: Routing | None = None,
    ) -> None:
        self.path = Path(path)
        self.memory_limit = memory_limit
        self.threads = threads
        self.retention = retention or Retention()
        self.routing = routing or Routing()  # which namespace an event is in (retention_days.namespaces)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._last_retention = 0.0
        self._unmerged = 0  # rollup rows added since the last merge
        self._since_checkpoint = 0  # events stored since the last checkpoint

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
            con = connection.connect(self.path, read_only=self.read_only, memory_limit=self.memory_limit,
                                     threads=self.threads)
        except duckdb.Error as exc:
            hint = (
                "another process (a running collector?) holds the store; query it through the collector's API"
                if any(word in str(exc).lower() for word in ("lock", "conflict"))
                else "check that the path is a DuckDB file and readable"
            )
            raise SinkError(f"cannot open DuckDB store {self.path}: {exc}", hint=hint) from exc
        try:
            version = stored_version(con)
            if version not in (None, SCHEMA_VERSION):
                raise OldStoreError(str(self.path), version or 0)
            if version is None and self.read_only:
                raise SinkError(f"{self.path} holds no wafpipe events table", hint="is it a wafpipe store?")
            if not self.read_only:  # every table IF NOT EXISTS: a store made before a table was added gets it
                con.execute("BEGIN TRANSACTION")
                for statement in ddl():
                    con.execute(statement)
                if version is None:
                    con.execute(f"INSERT INTO {META} VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])  # noqa: S608
                con.execute("COMMIT")
                rollup.ensure(con)
                self._unmerged = rollup.unmerged(con)
        except (duckdb.Error, SinkError) as exc:
            con.close()
            if isinstance(exc, SinkError):
                raise
            raise SinkError(f"cannot prepare DuckDB store {self.path}: {exc}") from exc
        self._con = con
        if not self.read_only:  # private like the rest of the data directory (its .wal: the CLI's umask)
            make_private(self.path, f"{self.path}.wal")

    def close(self) -> None:
        con, self._con = self._con, None
        if con is None:
            return
        try:
            if not self.read_only:
                if self._unmerged:
                    self._compact(con)
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
        """Store the events not stored yet, and the Batch's ledger row and file facts, in one
        transaction committed before returning (see the module docstring)."""
        if self.read_only:
            raise SinkError(f"DuckDB store {self.path} is open read-only", hint="the collector writes")
        rows = stored(batch.events)
        identity = _one_value(column(batch.events, "imperva.waf.file.identity")) if len(batch) else None
        facts = batch.info.facts() if batch.final and batch.info is not None else None
        if not len(batch) and not (facts and facts.get("identity")):
            return WriteResult()
        con = self._conn()
        with self._lock:
            try:
                con.register(_BATCH, rows)
                con.execute("BEGIN TRANSACTION")
                written = self._insert(con, batch, rows, identity) if len(batch) else 0
                if facts and facts.get("identity"):
                    self._put_file(con, facts)
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
                con.unregister(_BATCH)
            if self._unmerged >= rollup.COMPACT_ROWS:
                self._compact(con)
            self._since_checkpoint += written
            if self._since_checkpoint >= connection.CHECKPOINT_ROWS:
                self._checkpoint(con)
        failpoint("sink.duckdb.after_commit")
        return WriteResult(written=written, duplicates=len(batch) - written)

    def _insert(self, con: duckdb.DuckDBPyConnection, batch: Batch, rows: pa.RecordBatch, identity: str | None) -> int:
        """Insert what is new, by the ledger when it can vouch, else id by id; return how many."""
        trusted = identity is not None and batch.file_read and self._trusted(batch)
        if identity is not None and batch.file_read:
            ledger = con.execute(_LEDGER_GET, [identity]).fetchall()
            settled, was_trusted = (int(ledger[0][0]), bool(ledger[0][1])) if ledger else (0, True)
            con.execute(_LEDGER_PUT, [identity, batch.next_ordinal, trusted, utcnow()]).fetchall()
            if trusted and was_trusted:
                return self._insert_new(con, _PAST_SETTLED, [settled])
        return self._insert_absent(con, batch, rows)

    def _insert_new(self, con: duckdb.DuckDBPyConnection, new: str, params: list[Any]) -> int:
        """Insert the rows of the registered batch that ``new`` selects, and their hourly counts
        (:mod:`wafpipe.store.rollup`: counted first, while the rows are still absent)."""
        self._unmerged += rollup.add(con, f"(SELECT b.* FROM {_BATCH} b WHERE {new})", params)  # noqa: S608
        return _count(con, _INSERT.format(new=new), params)

    @staticmethod
    def _trusted(batch: Batch) -> bool:
        """Whether the Batch's lines are certainly the file's own (see the module docstring)."""
        status = _one_value(column(batch.events, "imperva.waf.file.checksum_status"))
        partial = column(batch.events, "imperva.waf.file.partial")
        return status in _TRUSTED_CHECKSUMS and not pc.any(partial).as_py()

    def _insert_absent(self, con: duckdb.DuckDBPyConnection, batch: Batch, rows: pa.RecordBatch) -> int:
        """The id-by-id path: insert the events whose ids are not stored (first occurrence wins)."""
        ids = batch.ids
        if len(set(ids)) < len(ids):
            first: dict[str, int] = {}
            for i, event_id in enumerate(ids):
                first.setdefault(event_id, i)
            con.unregister(_BATCH)
            con.register(_BATCH, rows.take(sorted(first.values())))
        ts = column(batch.events, "@timestamp")
        source = column(batch.events, "imperva.waf.timestamp_source")
        if ts.null_count or pc.any(pc.equal(source, "ingest_time")).as_py():
            return self._insert_new(con, ABSENT_FULL, [])
        return self._insert_new(con, ABSENT_RANGE, [pc.min(ts).as_py(), pc.max(ts).as_py()])

    def _checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the rows committed since the last checkpoint into the file (why so often:
        :mod:`.connection`). A failure loses nothing, the WAL holds them: it is tried again after
        the next Batch."""
        try:
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            log.warning("checkpointing %s: %s (tried again after the next batch)", self.path, exc)
            return
        self._since_checkpoint = 0

    def _compact(self, con: duckdb.DuckDBPyConnection) -> None:
        """Merge the rollup's rows of the hours recent Batches added to (a transaction of its own;
        a failure leaves the rows as they were, correct, and is tried again later)."""
        try:
            rollup.compact(con)
        except duckdb.Error as exc:
            log.warning("merging the hourly counts of %s: %s", self.path, exc)
            return
        self._unmerged = 0

    @staticmethod
    def _put_file(con: duckdb.DuckDBPyConnection, facts: dict[str, Any]) -> None:
        con.execute(
            _FILE_PUT,
            [
                facts["identity"],
                facts["name"],
                facts["format"],
                facts["checksum_status"],
                facts["partial"],
                utcnow(),
                orjson.dumps(facts).decode(),
            ],
        )

    def prune(self, *, reason: str = "schedule") -> list[Pruned]:
        """Delete the events older than the retention allows, in one transaction with their
        ``prunes`` records (:mod:`wafpipe.store.retention`); return what was deleted. A failure is
        a :class:`SinkError`, nothing deleted."""
        if self.read_only:
            raise SinkError(
                f"DuckDB store {self.path} is open read-only", hint="the collector applies retention"
            )
        con = self._conn()
        with self._lock:
            try:
                # no CHECKPOINT: see retention.py
                done = prune(con, self.retention, utcnow(), reason=reason, routing=self.routing)
            except duckdb.Error as exc:
                raise SinkError(
                    f"DuckDB store {self.path}: retention not applied: {exc}",
                    hint="check free disk space and memory_limit; nothing was deleted",
                ) from exc
        self._last_retention = time.monotonic()
        return done

    def maintain(self) -> list[Pruned]:
        """The collector's periodic call: apply retention when it is due (every
        :data:`RETENTION_EVERY_S`, and at the first call), log and return what it deleted. A
        failure is logged and tried again at the next call: retention never stops ingestion."""
        if not self.retention or self.read_only:
            return []
        if self._last_retention and time.monotonic() - self._last_retention < RETENTION_EVERY_S:
            return []
        try:
            done = self.prune()
        except SinkError as exc:
            log.warning("retention: %s", exc)
            return []
        for pruned in done:
            if pruned.deleted:
                log.info("retention: deleted %d %s events%s before %s", pruned.deleted, pruned.dataset,
                         f" of namespace {pruned.namespace}" if pruned.namespace else "", pruned.cutoff.isoformat())
        return done

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
        return connection.cursor(con, read_only=self.read_only)

    def setting(self, name: str) -> Any:
        """A DuckDB setting as the engine reports it (``memory_limit``, ``threads``…), for doctor."""
        self._conn()
        cur = self.cursor()
        try:
            row = cur.execute("SELECT current_setting(?)", [name]).fetchone()
        finally:
            cur.close()
        return row[0] if row else None


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    """Run an INSERT or DELETE and return how many rows it touched, leaving no result open (an open
    result would stop the next ``register`` on this connection)."""
    rows = con.execute(sql, params).fetchall()
    return int(rows[0][0]) if rows else 0
