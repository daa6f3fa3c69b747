"""The collector's memory: one SQLite database ``<data_dir>/state.sqlite`` (DESIGN §2).

It holds the file registry and per-file checkpoints, the Imperva API's set of processed names,
dead letters, per-sink cursors, component health and the header times used to find gaps.

Durability. WAL mode with ``synchronous=FULL``: every commit is fsync'd before it returns. The
pipeline writes a checkpoint only after every sink acknowledged a batch, and acknowledges a file to
its source (delete/move) only after :meth:`State.mark_done` returned, so the state must never claim
less than what the sinks and the source already did. ``NORMAL`` would lose the last commits on a
power cut; replays are harmless thanks to event ids, but a deleted source file whose ``done`` row was
lost would make the registry lie. The price is one fsync per commit of a few batches of thousands
of events (:mod:`wafpipe.collector.checkpoints`).

Threads. One :class:`State` per process, shared by its threads: one connection opened with
``check_same_thread=False`` and every method under one re-entrant lock. SQLite has a single writer
anyway, and a single connection keeps commits in the order the acknowledgements happened. Other
processes (``wafpipe doctor``) may open the same file: WAL lets them read while we write, and
``busy_timeout`` makes their writes wait instead of failing.

Layout. This module is the :class:`State` class: the connection, the file registry, the API's
processed set, sink cursors and health. :mod:`wafpipe.collector.state.schema` holds the tables, their
migrations and the record types; :mod:`wafpipe.collector.state.dead_letters` and :mod:`wafpipe.collector.state.gaps`
the dead letters and the gap detection (mixed into :class:`State`); :mod:`wafpipe.collector.quarantine` the
copying of bad files.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from wafpipe.collector.quarantine import copy_to_quarantine, safe_file_name
from wafpipe.collector.state.alerts import Alerts
from wafpipe.collector.state.dead_letters import DeadLetters
from wafpipe.collector.state.gaps import Gap, GapDetection
from wafpipe.collector.state.schema import (
    FILE_STATUSES,
    FINISHED_STATUSES,
    SCHEMA_VERSION,
    AlertRecord,
    Checkpoint,
    DeadLetterRecord,
    FileRecord,
    HealthRecord,
    _hex,
    migrate,
)
from wafpipe.config.files import create_private, make_private, private_dir

__all__ = [
    "FILE_STATUSES",
    "FINISHED_STATUSES",
    "SCHEMA_VERSION",
    "AlertRecord",
    "Checkpoint",
    "DeadLetterRecord",
    "FileRecord",
    "Gap",
    "HealthRecord",
    "State",
    "safe_file_name",
]


class State(DeadLetters, Alerts, GapDetection):
    """The state database under ``data_dir``; see the module docstring for the rules."""

    def __init__(self, data_dir: Path | str, *, filename: str = "state.sqlite") -> None:
        self.data_dir = private_dir(Path(data_dir))
        self.path = self.data_dir / filename
        self._lock = threading.RLock()
        self._dead_letter_listeners: list[list[dict[str, Any]]] = []
        if not self.path.exists():  # created 0600 before SQLite opens it: its -wal/-shm copy that mode
            with contextlib.suppress(FileExistsError):
                os.close(create_private(self.path))
        make_private(self.path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        make_private(f"{self.path}-wal", f"{self.path}-shm")
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
            migrate(db, self.path)

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

    def file_done(self, key: str) -> bool:
        """The delivery ``key`` is finished (stored, or quarantined): a source need not fetch it again."""
        rows = self._query("SELECT status FROM files WHERE key=?", (key,))
        return bool(rows) and rows[0][0] in FINISHED_STATUSES

    def get_file(self, key: str) -> FileRecord | None:
        rows = self._query("SELECT * FROM files WHERE key=?", (key,))
        return self._file(rows[0]) if rows else None

    @staticmethod
    def _file(r: sqlite3.Row) -> FileRecord:
        d = dict(r)
        d["counts"] = json.loads(d["counts"])
        d["facts"] = json.loads(d["facts"])
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

    def set_facts(self, key: str, facts: dict[str, Any]) -> None:
        """The facts of the file as read (``FileInfo.facts()``): kept here once, not on each event."""
        self._set(key, "facts=?", (json.dumps(facts, sort_keys=True),))

    def commit_batch(
        self,
        key: str,
        next_ordinal: int,
        counts: Mapping[str, int] | None = None,
        dead_letters: list[dict[str, Any]] | None = None,
        findings: list[dict[str, Any]] | None = None,
    ) -> None:
        """Checkpoint one Batch every sink acknowledged (see :meth:`commit_batches`)."""
        self.commit_batches([Checkpoint(key, next_ordinal, counts or {}, dead_letters or [], findings or [])])

    def commit_batches(self, checkpoints: Sequence[Checkpoint]) -> None:
        """Checkpoint Batches every sink acknowledged, in the order they were, in one transaction:
        each file's resume point (its ordinal never goes back) and counters, their dead letters and
        what the detections found (alerts). As if committed one by one, except that a crash keeps
        all of them or none (the collector groups a few Batches per commit:
        :mod:`wafpipe.collector.checkpoints`)."""
        files: dict[str, tuple[int, dict[str, int]]] = {}
        for c in checkpoints:
            ordinal, counts = files.get(c.key, (c.next_ordinal, {}))
            for k, v in c.counts.items():
                counts[k] = counts.get(k, 0) + v
            files[c.key] = (max(ordinal, c.next_ordinal), counts)
        findings = [f for c in checkpoints for f in c.findings]
        with self._tx() as db:
            for key, (ordinal, counts) in files.items():
                row = db.execute("SELECT counts FROM files WHERE key=?", (key,)).fetchone()
                if row is None:
                    raise KeyError(f"file {key!r} is not registered (call register_file first)")
                merged = json.loads(row[0])
                for k, v in counts.items():
                    merged[k] = merged.get(k, 0) + v
                db.execute(
                    "UPDATE files SET next_ordinal=MAX(next_ordinal, ?), counts=?, last_seen=? WHERE key=?",
                    (ordinal, json.dumps(merged, sort_keys=True), time.time(), key),
                )
            for c in checkpoints:
                if c.dead_letters:
                    self._insert_dead_letters(db, c.dead_letters, c.key)
            if findings:
                self._insert_alerts(db, findings)

    def mark_done(self, key: str) -> None:
        """All batches of the file are acknowledged; only now may the source delete or move it."""
        self._set(key, "status='done', done_at=?, error=NULL", (time.time(),))

    def mark_failed(self, key: str, error: str) -> None:
        self._set(key, "status='failed', error=?", (error,))

    def mark_quarantined(self, key: str, reason: str) -> None:
        self._set(key, "status='quarantined', error=?", (reason,))

    def replace_failed(self, key: str) -> list[FileRecord]:
        """Forget the ``failed`` rows of earlier deliveries at the path of ``key`` (same source, same
        path, another key: the file changed since, another size or mtime) and return them.

        ``key`` is now what that path holds and what the collector reads; its own outcome (done,
        failed, quarantined) is the path's one row, so a failure that was overtaken is not listed
        as outstanding for ever (its file can no longer be read as it was). ``done`` and
        ``quarantined`` rows stay: they record stored events and kept copies."""
        with self._tx() as db:
            row = db.execute("SELECT source, path FROM files WHERE key=?", (key,)).fetchone()
            if row is None or row["path"] is None:
                return []
            args = (row["source"], row["path"], key)
            gone = db.execute(
                "DELETE FROM files WHERE source=? AND path=? AND status='failed' AND key<>? RETURNING *", args
            ).fetchall()
        return [self._file(r) for r in gone]

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
        self, status: str | None = None, source: str | None = None, limit: int = 1000, checksum: str | None = None
    ) -> list[FileRecord]:
        """Files in the order first seen; ``checksum`` keeps those whose MD5 check came out so
        (``mismatch``, ``incomplete``, ``ok``, ``absent``)."""
        rows = self._query(
            "SELECT * FROM files WHERE (?1 IS NULL OR status=?1) AND (?2 IS NULL OR source=?2) "
            "AND (?4 IS NULL OR json_extract(facts, '$.checksum_status')=?4) ORDER BY first_seen LIMIT ?3",
            (status, source, limit, checksum),
        )
        return [self._file(r) for r in rows]

    def checksum_mismatches(self) -> int:
        """Files whose body did not match the MD5 of their header (stored, but possibly damaged)."""
        rows = self._query("SELECT COUNT(*) FROM files WHERE json_extract(facts, '$.checksum_status')='mismatch'")
        return int(rows[0][0])

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

    def api_waiting_replace(self, source: str, names: Iterable[str]) -> set[str]:
        """Make ``names`` the names listed and not yet processed; returns the set it replaces."""
        now = time.time()
        with self._tx() as db:
            before = {r[0] for r in db.execute("SELECT name FROM api_waiting WHERE source=?", (source,))}
            db.execute("DELETE FROM api_waiting WHERE source=?", (source,))
            db.executemany("INSERT INTO api_waiting VALUES (?,?,?)", [(source, n, now) for n in set(names)])
        return before

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
        render: Callable[[Callable[[], IO[bytes]]], tuple[bytes, dict[str, Any]]] | None = None,
    ) -> Path:
        """Copy a bad file to ``<data_dir>/quarantine/<UTC time>_<safe name>`` with
        ``<that>.reason.json`` beside it; never overwrites (O_EXCL, a numeric suffix on collision).
        ``src`` is a path or an opener (for sources without a local path). Marks ``key`` quarantined."""
        target = copy_to_quarantine(
            self.quarantine_dir, src, reason, name=name, key=key, details=details, render=render
        )
        if key is not None and self.get_file(key) is not None:
            self.mark_quarantined(key, reason)
        return target
