"""Dead letters: the lines and records that could not become events, kept in the state database.

The pipeline stores a batch's dead letters with its checkpoint, in the same transaction
(:meth:`wafpipe.collector.state.store.State.commit_batches`), so a crash cannot keep one without the other. Storing is
idempotent: a record identical to one already stored (same kind, file, line, reason, raw…) has the
same fingerprint and is not stored twice, so a replayed batch does not double its dead letters.
``replayed_at`` marks the ones sent again, which listings leave out by default. A mixin of
:class:`wafpipe.collector.state.store.State`: it uses the state's connection through ``_tx``/``_query``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from wafpipe.collector.state.schema import DeadLetterRecord


class DeadLetters:
    """The dead-letter methods of :class:`wafpipe.collector.state.store.State`."""

    if TYPE_CHECKING:
        _dead_letter_listeners: list[list[dict[str, Any]]]

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]: ...

    @staticmethod
    def _insert_dead_letters(
        db: sqlite3.Connection, records: Iterable[Mapping[str, Any]], file_key: str | None
    ) -> int:
        """Idempotent: a record identical to one already stored (same kind, file, line, reason, raw…)
        is not stored twice, so a replayed batch does not double its dead letters; one that was
        replayed and is met again becomes live again (returned by listings and replay)."""
        now, n = time.time(), 0
        for rec in records:
            text = json.dumps(rec, sort_keys=True, default=str)
            # The replay context is left out of the fingerprint: it holds the ingest time, which a
            # replayed batch does not share with the first attempt.
            same = json.dumps({k: v for k, v in rec.items() if k != "context"}, sort_keys=True, default=str)
            fp = hashlib.blake2b(f"{file_key}\0{same}".encode(), digest_size=16).hexdigest()
            # A record met again after it was replayed (a sink that rejects it still) is live again.
            n += db.execute(
                "INSERT INTO dead_letters (created_at, kind, file, file_key, reason, record, fingerprint) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT(fingerprint) DO UPDATE SET replayed_at=NULL, "
                "created_at=excluded.created_at WHERE replayed_at IS NOT NULL",
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
        for listener in list(self._dead_letter_listeners):
            listener.extend(records)
        with self._tx() as db:
            return self._insert_dead_letters(db, records, file_key)

    @contextmanager
    def dead_letters_offered(self) -> Iterator[list[dict[str, Any]]]:
        """Every record given to :meth:`add_dead_letters` while the block runs, from any thread,
        whether it was new or already stored: how replay learns which documents a sink refused
        again (a refusal with the old reason is not stored twice, so the table alone cannot say)."""
        offered: list[dict[str, Any]] = []
        self._dead_letter_listeners.append(offered)
        try:
            yield offered
        finally:
            self._dead_letter_listeners.remove(offered)

    @staticmethod
    def _dead(r: sqlite3.Row) -> DeadLetterRecord:
        d = dict(r)
        d.pop("fingerprint")
        d["record"] = json.loads(d["record"])
        return DeadLetterRecord(**d)

    def list_dead_letters(
        self,
        limit: int = 100,
        kind: str | None = None,
        *,
        include_replayed: bool = False,
        newest_first: bool = False,
    ) -> list[DeadLetterRecord]:
        """In the order they were recorded, or the newest ``limit`` first with ``newest_first``."""
        where = "SELECT * FROM dead_letters WHERE (?1 IS NULL OR kind=?1) AND (?2 OR replayed_at IS NULL) "
        order = "ORDER BY id DESC LIMIT ?3" if newest_first else "ORDER BY id LIMIT ?3"
        rows = self._query(where + order, (kind, include_replayed, limit))
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
