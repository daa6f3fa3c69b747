"""``wafpipe store migrate``: a version-1 embedded store becomes a version-2 one (DESIGN §1, §2).

Version 1 kept one row per event: ``id``, a few typed columns and ``doc``, the whole ECS document as
JSON text, with ``event.original`` (the line) and ``imperva.waf.file`` (the file's name, format,
header without its ``key``, compression, W3C directives, the line's number and ordinal). Version 2
keeps the Batch's typed columns (:mod:`wafpipe.store.schema`). Nothing is converted field by field:
every line is **decoded again** by the core with the file context its document records, through the
entry dead-letter replay uses (``FileRun.replaying`` and ``replay``, which
:func:`wafpipe.decode.reader.decode_known_line` calls with a run built anew for each line; here a
run is kept per file context, 4x faster), so a migrated event is exactly what version 2 makes of
that line. The documents become the Arrow rows as a replayed dead letter's do
(:func:`wafpipe.fields.arrow.record_batch`, then :func:`wafpipe.store.schema.stored`). The
**version-1 id is kept** as ``_id``: users, saved links and cluster copies know it. For a file with
a header it is also the id version 2 gives (checked on every row; the report counts any that is
not); for a headerless file it is not (version 1 digested the whole body, version 2 digests the
first event line), and its rows keep their version-1 ids all the same.

What the documents do not say, and how it is found:

* **The file identity** (the digest of the header lines, which events, files and ledger are keyed
  by). Version 1 dropped the ``key`` line and lower-cased the names, so the header lines are rebuilt
  in Imperva's spellings and the digest is *proven* by recomputing the first row's id from it; else
  the identities version 1's state recorded for that file name are tried the same way (``state``:
  the way for an encrypted file). A header file whose identity is not proven is not migrated, its
  rows go to the problems file: a guessed identity would let a later read of the file store its
  events again. A headerless file's identity is version 2's, the digest of its first event line.
* **The checksum verdict**, which version 1 did not record per event. ``incomplete`` (and
  ``partial``) for a file whose every read version 1's state recorded as stopped by a container
  fault (``quarantined``; a mismatch ended ``done``), ``absent`` for a header without a checksum;
  otherwise the body is rebuilt from the stored lines (their byte offsets prove there is no gap
  between them; a W3C body's directive lines are rebuilt from the recorded directives) and its MD5
  compared with the header's: equal proves ``ok``. What cannot be proven (a mismatch, a line version
  1 did not store, a long line's cut head) leaves ``checksum_status`` out of the events rather than
  guessing, and the report counts those files.
* **A W3C file's columns**: version 1 kept the directives but not the ``#Fields`` line. The header's
  own column list when it has one, else Imperva's one real list (docs/formats.md, "W3C"), checked on
  the file's first row against version 1's document (time, client address, site).

The ledger gets one row per identity, ``next_ordinal`` past the last stored line. A file with a
header is **not trusted**: a version-1 store cannot vouch that its ordinals form a settled prefix (it
did not record checksum mismatches, and a damaged read's lines may differ from a complete copy's at
the same ordinals), and the id-by-id check a later read of it then takes is exact, since its ids are
version 2's. A headerless file is trusted unless it broke off: its rows hold version-1 ids, which
a later read's ids never match, so only the ledger can say its lines are stored (lines version 1
could not decode are dead letters, which version 2's ledger steps over too). Today's sink checks
every headerless read id by id whatever the ledger says (it trusts a read only with a checksum
verdict), so such a read still stores the lines again; the ledger row is ready for when it does.

Lines that do not decode now, or whose file cannot be placed, are never dropped silently: each is
counted and written, with its id, line and reason, to ``<store>.migrate-problems.ndjson`` (0600).
The swap still happens — the version-1 file stays as ``<store>.v1.bak``, nothing is lost — and the
command exits 1 naming the problems file. The new store is written to ``<store>.migrating`` (a
leftover one is deleted first), attached to the old store's DuckDB instance so that one
``memory_limit`` bounds both, in transactions of :data:`CHUNK_ROWS` events, the schema version
last; it is checkpointed and fsync'd, then the old file becomes the backup and the new one takes its
place (an interruption between the two renames is finished by the next run). Before the one pass
that decodes, two SQL passes survey the files and rebuild the bodies the MD5 needs (DuckDB sorts
those lines, spilling to disk past the memory limit). Measured on 120 000 generated events: 2 400
events/s on one core, 600 MB peak RSS; most of the time is the core's replay of one line.

The parts: :mod:`.version1` (the rows as read, one file, one line), :mod:`.survey` (what the
documents do not say), :mod:`.replay` (one row decoded again), :mod:`.events` (the one pass that
decodes and inserts), :mod:`.ledger` (files and ledger rows), :mod:`.swap` (the new file's life);
:mod:`.report` is what a migration hands back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import duckdb

from wafpipe.store import rollup
from wafpipe.store.migrate.events import Problems, migrate_events
from wafpipe.store.migrate.ledger import files_and_ledger
from wafpipe.store.migrate.report import MigrateError, MigrateReport
from wafpipe.store.migrate.survey import State, survey_files
from wafpipe.store.migrate.swap import connect, finish_interrupted, remove, swap_in, temp_path
from wafpipe.store.schema import EVENTS, SCHEMA_VERSION, ddl, stored_version

__all__ = ["CHUNK_ROWS", "MigrateError", "MigrateReport", "backup_path", "migrate", "problems_path"]

# Events per transaction of the new store: 10 000 documents in flight cost ~250 MB of Python and
# Arrow memory at the peak (measured: 600 MB RSS in all for a 120 000-event store at the default
# memory_limit); twice as many made the peak 250 MB higher and the run no faster.
CHUNK_ROWS = 10_000
_NEW = "wafpipe_new"  # the new store, attached beside the old one


def backup_path(store: Path) -> Path:
    return store.with_name(store.name + ".v1.bak")


def problems_path(store: Path) -> Path:
    return store.with_name(store.name + ".migrate-problems.ndjson")


def migrate(
    store: Path | str,
    *,
    state: Path | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    memory_limit: str = "256MB",
) -> MigrateReport:
    """Migrate the version-1 store at ``store`` in place (see the module docstring). ``state`` is
    version 1's ``state.sqlite``, where identities the documents cannot give are looked up;
    ``progress(rows done, rows in all)`` is called as rows are decoded. Raises
    :class:`MigrateError` when the store cannot be migrated as it is."""
    store = Path(store)
    temp, backup = temp_path(store), backup_path(store)
    if finish_interrupted(store, temp, backup):
        return MigrateReport(store, 1, recovered=True, backup=backup)
    if not store.is_file():
        hint = "pass the DuckDB sink's file (--store) or its configuration (-c)"
        raise MigrateError(f"no store at {store}", hint=hint)
    old = connect(store, memory_limit)
    try:
        version = stored_version(old)
        if version == SCHEMA_VERSION:
            return MigrateReport(store, version)
        _check_version_1(old, store, version)
        if backup.exists():
            hint = "move it elsewhere (it is the only copy of that store), then migrate again"
            why = "a version 1 backup from an earlier migration is in the way"
            raise MigrateError(f"{backup} exists: {why}", hint=hint)
        old.execute("CHECKPOINT")  # the WAL into the file: the backup is one file
        remove(temp, Path(f"{temp}.wal"), problems_path(store))
        report = MigrateReport(store, 1, backup=backup)
        try:
            _build(old, temp, report, Path(state) if state else None, progress, chunk_rows)
        except BaseException:  # Ctrl-C included: nothing half-made is left
            remove(temp, Path(f"{temp}.wal"), problems_path(store))
            raise
    finally:
        old.close()
    swap_in(store, temp, backup)
    return report


def _check_version_1(old: duckdb.DuckDBPyConnection, store: Path, version: int | None) -> None:
    if version is None:
        raise MigrateError(f"{store} holds no wafpipe events table", hint="is it a wafpipe store?")
    if version != 1:
        raise MigrateError(f"{store} is a version {version} store, newer than this wafpipe (version "
                           f"{SCHEMA_VERSION})", hint="use the wafpipe that wrote it")  # fmt: skip
    sql = "SELECT column_name FROM duckdb_columns() WHERE table_name = ?"
    if not {"id", "doc"} <= {r[0] for r in old.execute(sql, [EVENTS]).fetchall()}:
        raise MigrateError(f"{store} says version 1 but its events table has no id and doc columns")


def _build(old: duckdb.DuckDBPyConnection, temp: Path, report: MigrateReport, state: Path | None,
           progress: Callable[[int, int], None] | None, chunk_rows: int) -> None:  # fmt: skip
    """The new store at ``temp``: survey, events, files and ledger, schema version, checkpoint. It
    is attached to the old store's DuckDB instance, so one ``memory_limit`` bounds both."""
    files = survey_files(old, State.read(state))
    report.rows = sum(f.rows for f in files)
    problems = Problems(problems_path(report.store))
    new = old.cursor()
    new.execute(f"ATTACH '{str(temp).replace(chr(39), chr(39) * 2)}' AS {_NEW}")
    try:
        new.execute(f"USE {_NEW}")
        for statement in ddl():
            new.execute(statement)
        migrate_events(old, new, files, report, problems, progress, chunk_rows)
        files_and_ledger(new, files, report)
        rollup.ensure(new)  # the overview's hourly counts (wafpipe.store.rollup)
        new.execute(f"CHECKPOINT {_NEW}")
    finally:
        new.close()
        problems.close()
        with contextlib.suppress(duckdb.Error):
            old.execute(f"DETACH {_NEW}")
    if report.problems:
        report.problems_file = problems.path
