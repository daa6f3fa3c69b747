"""The collector's memory: one SQLite database ``<data_dir>/state.sqlite`` (DESIGN §2).

It holds the file registry and per-file checkpoints, the Imperva API's set of processed names,
dead letters, per-sink cursors, component health and the header times used to find gaps.

Durability. WAL mode with ``synchronous=FULL``: every commit is fsync'd before it returns. The
pipeline writes a checkpoint only after every sink acknowledged a batch, and acknowledges a file to
its source (delete/move) only after :meth:`State.mark_done` returned, so the state must never claim
less than what the sinks and the source already did. ``NORMAL`` would lose the last commits on a
power cut; replays are harmless thanks to event ids, but a deleted source file whose ``done`` row was
lost would make the registry lie. The price is one fsync per batch of thousands of events.

Threads. One :class:`State` per process, shared by its threads: one connection opened with
``check_same_thread=False`` and every method under one re-entrant lock. SQLite has a single writer
anyway, and a single connection keeps commits in the order the acknowledgements happened. Other
processes (``wafpipe doctor``) may open the same file: WAL lets them read while we write, and
``busy_timeout`` makes their writes wait instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from wafpipe.errors import WafpipeError

SCHEMA_VERSION = 1
FILE_STATUSES = ("seen", "in_progress", "done", "failed", "quarantined")
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
# version → script that brings the previous version up to it; v1 is the initial schema.
_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1}


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


@dataclass
class Gap:
    """A possible hole in the data (DESIGN §2 Gaps). Times are epoch milliseconds."""

    kind: str  # index_missed | time_hole | stale
    scope: str  # config id (time_hole, stale) or source name (index_missed)
    start_ms: int | None
    end_ms: int | None
    detail: str

    @property
    def seconds(self) -> float | None:
        return None if self.start_ms is None or self.end_ms is None else (self.end_ms - self.start_ms) / 1000


def _hex(identity: bytes | str | None) -> str | None:
    return identity.hex() if isinstance(identity, bytes | bytearray) else identity


def safe_file_name(name: str) -> str:
    """A name that cannot escape its directory or hide: [A-Za-z0-9._-], no leading dot, ≤ 150 chars."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return (cleaned or "unnamed")[:150]


class State:
    """The state database under ``data_dir``; see the module docstring for the rules."""

    def __init__(self, data_dir: Path | str, *, filename: str = "state.sqlite") -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / filename
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # ---------------------------------------------------------------------------------- plumbing
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT under the lock: takes the write lock up front, so a
        read-modify-write (counts merge) cannot interleave with another process's writer."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise WafpipeError(
                    f"{self.path} has state schema version {version}, newer than this wafpipe ({SCHEMA_VERSION})",
                    hint="upgrade wafpipe, or point data_dir at another directory",
                )
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for stmt in _MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        db.execute(stmt)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    @property
    def schema_version(self) -> int:
        return int(self._query("SELECT value FROM meta WHERE key='schema_version'")[0][0])

    def journal_mode(self) -> str:
        return str(self._query("PRAGMA journal_mode")[0][0])

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- files
    def register_file(
        self,
        key: str,
        *,
        source: str,
        name: str,
        path: str | None = None,
        size: int | None = None,
        mtime: float | None = None,
    ) -> FileRecord:
        """Insert a file as ``seen`` (or just touch ``last_seen``) and return its record."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO files (key, source, name, path, size, mtime, status, first_seen, last_seen) "
                "VALUES (?,?,?,?,?,?,'seen',?,?) ON CONFLICT(key) DO UPDATE SET last_seen=excluded.last_seen",
                (key, source, name, path, size, mtime, now, now),
            )
        rec = self.get_file(key)
        assert rec is not None
        return rec

    def get_file(self, key: str) -> FileRecord | None:
        rows = self._query("SELECT * FROM files WHERE key=?", (key,))
        return self._file(rows[0]) if rows else None

    @staticmethod
    def _file(r: sqlite3.Row) -> FileRecord:
        d = dict(r)
        d["counts"] = json.loads(d["counts"])
        return FileRecord(**d)

    def _set(self, key: str, sql: str, args: tuple[Any, ...]) -> None:
        with self._tx() as db:
            if db.execute(f"UPDATE files SET {sql} WHERE key=?", (*args, key)).rowcount != 1:  # noqa: S608
                raise KeyError(f"file {key!r} is not registered (call register_file first)")

    def start_file(self, key: str, identity: bytes | str | None = None) -> int:
        """Mark ``in_progress`` and return the ordinal to resume from (0 for a new file)."""
        self._set(key, "status='in_progress', identity=COALESCE(?, identity), error=NULL", (_hex(identity),))
        rec = self.get_file(key)
        assert rec is not None
        return rec.next_ordinal

    def set_identity(self, key: str, identity: bytes | str) -> None:
        self._set(key, "identity=?", (_hex(identity),))

    def commit_batch(
        self,
        key: str,
        next_ordinal: int,
        counts: Mapping[str, int] | None = None,
        dead_letters: list[dict[str, Any]] | None = None,
    ) -> None:
        """Checkpoint after every sink acknowledged a batch: the resume point, the batch's counters
        (added to the file's) and its dead letters, in one transaction. The ordinal never goes back."""
        with self._tx() as db:
            row = db.execute("SELECT counts FROM files WHERE key=?", (key,)).fetchone()
            if row is None:
                raise KeyError(f"file {key!r} is not registered (call register_file first)")
            merged = json.loads(row[0])
            for k, v in (counts or {}).items():
                merged[k] = merged.get(k, 0) + v
            db.execute(
                "UPDATE files SET next_ordinal=MAX(next_ordinal, ?), counts=?, last_seen=? WHERE key=?",
                (next_ordinal, json.dumps(merged, sort_keys=True), time.time(), key),
            )
            if dead_letters:
                self._insert_dead_letters(db, dead_letters, key)

    def mark_done(self, key: str) -> None:
        """All batches of the file are acknowledged; only now may the source delete or move it."""
        self._set(key, "status='done', done_at=?, error=NULL", (time.time(),))

    def mark_failed(self, key: str, error: str) -> None:
        self._set(key, "status='failed', error=?", (error,))

    def mark_quarantined(self, key: str, reason: str) -> None:
        self._set(key, "status='quarantined', error=?", (reason,))

    def forget_file(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE key=?", (key,))

    def find_identity(self, identity: bytes | str) -> list[FileRecord]:
        """Every registered file with this identity (the same Imperva file by any path or name)."""
        return [self._file(r) for r in self._query("SELECT * FROM files WHERE identity=?", (_hex(identity),))]

    def identity_done(self, identity: bytes | str) -> FileRecord | None:
        """The ``done`` record of this Imperva file if it was already stored under any key."""
        return next((r for r in self.find_identity(identity) if r.status == "done"), None)

    def list_files(
        self, status: str | None = None, source: str | None = None, limit: int = 1000
    ) -> list[FileRecord]:
        rows = self._query(
            "SELECT * FROM files WHERE (?1 IS NULL OR status=?1) AND (?2 IS NULL OR source=?2) "
            "ORDER BY first_seen LIMIT ?3",
            (status, source, limit),
        )
        return [self._file(r) for r in rows]

    def file_status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(FILE_STATUSES, 0)
        counts.update({r[0]: r[1] for r in self._query("SELECT status, COUNT(*) FROM files GROUP BY status")})
        return counts

    # ------------------------------------------------------------------- Imperva API processed set
    def api_processed_add(self, source: str, names: Iterable[str]) -> int:
        now = time.time()
        with self._tx() as db:
            return db.executemany(
                "INSERT OR IGNORE INTO api_processed VALUES (?,?,?)", [(source, n, now) for n in names]
            ).rowcount

    def api_processed_trim(self, source: str, still_listed: Iterable[str]) -> int:
        """Forget names no longer in ``logs.index`` (they cannot come back); returns how many."""
        keep = set(still_listed)
        with self._tx() as db:
            gone = [
                r[0]
                for r in db.execute("SELECT name FROM api_processed WHERE source=?", (source,))
                if r[0] not in keep
            ]
            db.executemany("DELETE FROM api_processed WHERE source=? AND name=?", [(source, n) for n in gone])
        return len(gone)

    def api_processed_list(self, source: str) -> set[str]:
        return {r[0] for r in self._query("SELECT name FROM api_processed WHERE source=?", (source,))}

    # ---------------------------------------------------------------------------------- dead letters
    @staticmethod
    def _insert_dead_letters(
        db: sqlite3.Connection, records: Iterable[Mapping[str, Any]], file_key: str | None
    ) -> int:
        """Idempotent: a record identical to one already stored (same kind, file, line, reason, raw…)
        is not stored twice, so a replayed batch does not double its dead letters."""
        now, n = time.time(), 0
        for rec in records:
            text = json.dumps(rec, sort_keys=True, default=str)
            fp = hashlib.blake2b(f"{file_key}\0{text}".encode(), digest_size=16).hexdigest()
            n += db.execute(
                "INSERT OR IGNORE INTO dead_letters (created_at, kind, file, file_key, reason, record, fingerprint) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    now,
                    str(rec.get("kind", "unknown")),
                    rec.get("file"),
                    file_key,
                    rec.get("reason"),
                    text,
                    fp,
                ),
            ).rowcount
        return n

    def add_dead_letters(self, records: list[dict[str, Any]], *, file_key: str | None = None) -> int:
        """Store records shaped like ``reader.Problem.record()``; returns how many were new."""
        with self._tx() as db:
            return self._insert_dead_letters(db, records, file_key)

    @staticmethod
    def _dead(r: sqlite3.Row) -> DeadLetterRecord:
        d = dict(r)
        d.pop("fingerprint")
        d["record"] = json.loads(d["record"])
        return DeadLetterRecord(**d)

    def list_dead_letters(
        self, limit: int = 100, kind: str | None = None, *, include_replayed: bool = False
    ) -> list[DeadLetterRecord]:
        rows = self._query(
            "SELECT * FROM dead_letters WHERE (?1 IS NULL OR kind=?1) AND (?2 OR replayed_at IS NULL) "
            "ORDER BY id LIMIT ?3",
            (kind, include_replayed, limit),
        )
        return [self._dead(r) for r in rows]

    def get_dead_letter(self, dead_letter_id: int) -> DeadLetterRecord | None:
        rows = self._query("SELECT * FROM dead_letters WHERE id=?", (dead_letter_id,))
        return self._dead(rows[0]) if rows else None

    def mark_replayed(self, ids: Iterable[int]) -> int:
        now = time.time()
        with self._tx() as db:
            return db.executemany(
                "UPDATE dead_letters SET replayed_at=? WHERE id=? AND replayed_at IS NULL",
                [(now, i) for i in ids],
            ).rowcount

    def count_dead_letters(self, kind: str | None = None, *, include_replayed: bool = False) -> int:
        return int(
            self._query(
                "SELECT COUNT(*) FROM dead_letters WHERE (?1 IS NULL OR kind=?1) AND (?2 OR replayed_at IS NULL)",
                (kind, include_replayed),
            )[0][0]
        )

    # ------------------------------------------------------------------------- sink cursors, health
    def sink_cursor_get(self, sink: str) -> Any | None:
        rows = self._query("SELECT cursor FROM sink_cursors WHERE sink=?", (sink,))
        return json.loads(rows[0][0]) if rows else None

    def sink_cursor_set(self, sink: str, cursor: Any) -> None:
        """Any JSON value (an offset, a segment name and offset, …)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO sink_cursors VALUES (?,?,?)", (sink, json.dumps(cursor), time.time())
            )

    def set_health(
        self,
        component: str,
        *,
        last_success: float | None = None,
        last_error: float | None = None,
        error: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Update what is given and keep the rest (``error`` is kept until a newer error replaces it)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO health VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT(component) DO UPDATE SET "
                "last_success=COALESCE(?2, last_success), last_error=COALESCE(?3, last_error), "
                "error=COALESCE(?4, error), details=COALESCE(?5, details), updated_at=?6",
                (
                    component,
                    last_success,
                    last_error,
                    error,
                    json.dumps(dict(details), default=str) if details is not None else None,
                    time.time(),
                ),
            )

    def health(self) -> dict[str, HealthRecord]:
        out = {}
        for r in self._query("SELECT * FROM health ORDER BY component"):
            d = dict(r)
            d["details"] = json.loads(d["details"]) if d["details"] else {}
            out[d["component"]] = HealthRecord(**d)
        return out

    # ------------------------------------------------------------------------------------------ gaps
    def record_header(
        self, identity: bytes | str, header: Mapping[str, str], *, source: str = "", name: str = ""
    ) -> bool:
        """Remember a file's ``configId``/``startTime``/``endTime`` (header names compared without case)
        for gap detection; False when the header lacks them."""
        low = {k.lower(): v.strip() for k, v in header.items()}
        try:
            start, end = int(low["starttime"]), int(low["endtime"])
            config_id = low["configid"]
        except (KeyError, ValueError):
            return False
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO file_times VALUES (?,?,?,?,?,?,?,?)",
                (_hex(identity), config_id, low.get("accountid"), source, name, start, end, time.time()),
            )
        return True

    def add_gap(
        self, kind: str, source: str, detail: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> None:
        """Record a gap seen by a source, e.g. ``index_missed``: a file left logs.index before we fetched it."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO gaps (kind, source, detail, start_ms, end_ms, created_at) VALUES (?,?,?,?,?,?)",
                (kind, source, detail, start_ms, end_ms, time.time()),
            )

    def time_gaps(self, *, grace_s: float = 300.0, config_id: str | None = None) -> list[Gap]:
        """Holes longer than ``grace_s`` between one file's endTime and the next file's startTime, per
        log configuration. Files may overlap, so the hole starts at the latest endTime so far. A quiet
        site makes holes too: these are *possible* gaps for a person to check."""
        rows = self._query(
            "SELECT config_id, name, start_ms, end_ms FROM file_times WHERE (?1 IS NULL OR config_id=?1) "
            "ORDER BY config_id, start_ms, end_ms",
            (config_id,),
        )
        gaps: list[Gap] = []
        cur, last_end, last_name = None, 0, ""
        for cfg, name, start, end in rows:
            if cfg != cur:
                cur, last_end, last_name = cfg, end, name
                continue
            if start - last_end > grace_s * 1000:
                gaps.append(
                    Gap("time_hole", cfg, last_end, start, f"no events between {last_name} and {name}")
                )
            if end > last_end:
                last_end, last_name = end, name
        return gaps

    def stale(self, *, now: float | None = None, max_delay_s: float = 1800.0) -> list[Gap]:
        """Log configurations whose newest event time (header endTime) is older than ``max_delay_s``:
        Imperva delivers security logs within 3–5 min and access logs within 10–30 min, so a longer
        silence means files are missing or stuck upstream (or the site had no traffic)."""
        now_ms = int((time.time() if now is None else now) * 1000)
        rows = self._query(
            "SELECT config_id, MAX(end_ms) FROM file_times GROUP BY config_id ORDER BY config_id"
        )
        return [
            Gap(
                "stale",
                cfg,
                end,
                now_ms,
                f"no file newer than {(now_ms - end) / 60000:.0f} min for configId {cfg}",
            )
            for cfg, end in rows
            if now_ms - end > max_delay_s * 1000
        ]

    def gaps(
        self, *, grace_s: float = 300.0, max_delay_s: float = 1800.0, now: float | None = None
    ) -> list[Gap]:
        """All three kinds of DESIGN §2: recorded (index_missed), time holes, and staleness."""
        recorded = [
            Gap(r[0], r[1], r[3], r[4], r[2])
            for r in self._query("SELECT kind, source, detail, start_ms, end_ms FROM gaps ORDER BY id")
        ]
        return recorded + self.time_gaps(grace_s=grace_s) + self.stale(now=now, max_delay_s=max_delay_s)

    # ------------------------------------------------------------------------------------ quarantine
    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    def quarantine(
        self,
        src: Path | str | Callable[[], IO[bytes]],
        reason: str,
        *,
        name: str | None = None,
        key: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Path:
        """Copy a bad file to ``<data_dir>/quarantine/<UTC time>_<safe name>`` with
        ``<that>.reason.json`` beside it; never overwrites (O_EXCL, a numeric suffix on collision).
        ``src`` is a path or an opener (for sources without a local path). Marks ``key`` quarantined."""
        if callable(src):
            opener, label = src, name or "unnamed"
        else:
            opener, label = partial(Path(src).open, "rb"), name or Path(src).name
        qdir = self.quarantine_dir
        qdir.mkdir(parents=True, exist_ok=True)
        stamp, safe = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), safe_file_name(label)
        for i in range(1, 10_000):
            target = qdir / (f"{stamp}_{safe}" if i == 1 else f"{stamp}-{i}_{safe}")
            note = target.with_name(target.name + ".reason.json")
            if note.exists():
                continue
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            break
        else:
            raise WafpipeError(f"cannot find a free quarantine name for {label} in {qdir}")
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out, opener() as inp:
                while chunk := inp.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        info = {
            "original": str(src) if not callable(src) else label,
            "reason": reason,
            "file_key": key,
            "quarantined_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "size": size,
            "sha256": digest.hexdigest(),
            **dict(details or {}),
        }
        with open(note, "x", encoding="utf-8") as fh:
            json.dump(info, fh, indent=2, default=str)
        if key is not None and self.get_file(key) is not None:
            self.mark_quarantined(key, reason)
        return target
