"""The tables of ``state.sqlite``, their migrations and the records read from them.

Versioned schema. ``meta.schema_version`` records the version a database was brought to;
:func:`migrate` runs, in one transaction, each script from that version up to
:data:`SCHEMA_VERSION` (v1 is the initial schema), so an old database is upgraded in place and a
crash mid-way leaves it at the old version. A database *newer* than this wafpipe is refused rather
than written with a schema it does not know.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wafpipe.errors import WafpipeError

SCHEMA_VERSION = 5
FILE_STATUSES = ("seen", "in_progress", "done", "failed", "quarantined")
FINISHED_STATUSES = ("done", "quarantined")  # a delivery not to read again: stored, or set aside with its reason
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, name TEXT NOT NULL, path TEXT,
    size INTEGER, mtime REAL, identity TEXT,
    status TEXT NOT NULL CHECK (status IN ('seen','in_progress','done','failed','quarantined')),
    next_ordinal INTEGER NOT NULL DEFAULT 0, counts TEXT NOT NULL DEFAULT '{}',
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, done_at REAL, error TEXT);
CREATE INDEX IF NOT EXISTS files_identity ON files (identity);
CREATE INDEX IF NOT EXISTS files_status ON files (status, source);
CREATE TABLE IF NOT EXISTS file_times (
    identity TEXT PRIMARY KEY, config_id TEXT NOT NULL, account_id TEXT, source TEXT, name TEXT,
    start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS file_times_cfg ON file_times (config_id, start_ms);
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, detail TEXT NOT NULL,
    start_ms INTEGER, end_ms INTEGER, created_at REAL NOT NULL, UNIQUE (kind, source, detail));
CREATE TABLE IF NOT EXISTS api_processed (
    source TEXT NOT NULL, name TEXT NOT NULL, added_at REAL NOT NULL, PRIMARY KEY (source, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, kind TEXT NOT NULL, file TEXT,
    file_key TEXT, reason TEXT, record TEXT NOT NULL, fingerprint TEXT NOT NULL UNIQUE, replayed_at REAL);
CREATE INDEX IF NOT EXISTS dead_letters_kind ON dead_letters (kind, id);
CREATE TABLE IF NOT EXISTS sink_cursors (sink TEXT PRIMARY KEY, cursor TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS health (
    component TEXT PRIMARY KEY, last_success REAL, last_error REAL, error TEXT, details TEXT,
    updated_at REAL NOT NULL);
"""
# v2: the facts of each file (header, compression, encryption, W3C directives, checksum…), kept
# once per file now that events carry only the per-event file fields (DESIGN §1).
_SCHEMA_V2 = "ALTER TABLE files ADD COLUMN facts TEXT NOT NULL DEFAULT '{}'"
# v3: the Imperva API source's names listed and not yet processed, so that one leaving the index
# unfetched is a gap even across restarts (``wafpipe run --once`` is one process per poll).
_SCHEMA_V3 = """CREATE TABLE IF NOT EXISTS api_waiting (
    source TEXT NOT NULL, name TEXT NOT NULL, first_seen REAL NOT NULL, PRIMARY KEY (source, name)
) WITHOUT ROWID"""
# v4: alerts, what the detections found (wafpipe.collector.state.alerts).
_SCHEMA_V4 = """CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY, rule_id TEXT NOT NULL, title TEXT NOT NULL, level TEXT NOT NULL,
    group_key TEXT NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, count INTEGER NOT NULL,
    record TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, acknowledged_at REAL
);
CREATE INDEX IF NOT EXISTS alerts_by_group ON alerts (rule_id, group_key, last_ms);
CREATE TABLE IF NOT EXISTS alert_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER NOT NULL, record TEXT NOT NULL, created_at REAL NOT NULL
)"""
# v5: an alert's event ids in a table of their own, its count before them. The first MAX_IDS ids
# are kept, so an alert's ids stop changing early while its count and times change with every
# Batch that joins it; in the alert's row they were rewritten each time (~6 KB, issue 20).
_SCHEMA_V5 = """CREATE TABLE IF NOT EXISTS alert_event_ids (
    alert_id INTEGER PRIMARY KEY, n INTEGER NOT NULL, ids TEXT NOT NULL
);
INSERT OR REPLACE INTO alert_event_ids
    SELECT id, COALESCE(json_array_length(record, '$.event_ids'), 0),
           COALESCE(json_extract(record, '$.event_ids'), '[]')
    FROM alerts;
UPDATE alerts SET record = json_remove(record, '$.event_ids')"""
# version → script that brings the previous version up to it; v1 is the initial schema.
_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4, 5: _SCHEMA_V5}


@dataclass
class FileRecord:
    key: str
    source: str
    name: str
    path: str | None
    size: int | None
    mtime: float | None
    identity: str | None  # hex of the Imperva header digest (or content digest)
    status: str
    next_ordinal: int
    counts: dict[str, int]
    first_seen: float
    last_seen: float
    done_at: float | None
    error: str | None
    facts: dict[str, Any] = field(default_factory=dict)  # FileInfo.facts() once the file is read


@dataclass
class Checkpoint:
    """What the state records of one Batch every sink has taken (:meth:`State.commit_batches`):
    the file's resume point, the Batch's counters (added to the file's), its dead letters and what
    the detections found in it."""

    key: str
    next_ordinal: int
    counts: Mapping[str, int] = field(default_factory=dict)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DeadLetterRecord:
    id: int
    created_at: float
    kind: str
    file: str | None
    file_key: str | None
    reason: str | None
    record: dict[str, Any]
    replayed_at: float | None


@dataclass
class AlertRecord:
    """One alert: a rule's findings for one group, merged while they keep coming (``record``:
    the rule, the group, first and last event times, how many events, the first event ids)."""

    id: int
    rule_id: str
    title: str
    level: str
    count: int
    record: dict[str, Any]
    created_at: float
    updated_at: float
    acknowledged_at: float | None


@dataclass
class HealthRecord:
    component: str
    last_success: float | None
    last_error: float | None
    error: str | None
    details: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0

    @property
    def ok(self) -> bool:
        """Healthy when the last success is newer than the last error (or there was no error)."""
        return self.last_error is None or (self.last_success or 0) > self.last_error


def _hex(identity: bytes | str | None) -> str | None:
    """File identities are stored as hex text (``files.identity``, ``file_times.identity``)."""
    return identity.hex() if isinstance(identity, bytes | bytearray) else identity


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the database to :data:`SCHEMA_VERSION`; call inside a write transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise WafpipeError(
            f"{path} has state schema version {version}, newer than this wafpipe ({SCHEMA_VERSION})",
            hint="upgrade wafpipe, or point data_dir at another directory",
        )
    for v in range(version + 1, SCHEMA_VERSION + 1):
        for stmt in _MIGRATIONS[v].split(";"):
            if stmt.strip():
                db.execute(stmt)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
