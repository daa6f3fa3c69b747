"""Alerts: what the detections found, kept in the state database (a mixin of
:class:`wafpipe.collector.state.store.State`, like dead letters).

A finding (:meth:`wafpipe.detect.engine.Finding.record`) is one rule's events for one group (a
source address, or a correlation's ``group-by``). Findings of the same rule and group are one alert
while they keep coming: a finding whose first event is within :data:`SUPPRESS_S` of the alert's
last joins it (its count added, its times widened, the first :data:`MAX_IDS` event ids kept)
instead of opening another — an attacker's thousand requests are one alert, not a thousand. An
acknowledged alert takes no more findings: the next one opens a new alert.

The single-event rules' findings of a Batch are written in the Batch's own checkpoint transaction
(:meth:`State.commit_batch`), so each event is counted once whatever crashes (see
:mod:`wafpipe.detect.batch`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from wafpipe.collector.state.schema import AlertRecord

SUPPRESS_S = 3600.0
MAX_IDS = 100
# orjson for the alert records: a Batch of generated attacks brings ~600 findings, each record
# read and written with its 100 event ids, on the main process's path (issue 20). Values orjson
# has no native form for (datetimes, dataclasses) go to ``str``, as they did with ``json``.
_RECORD_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _record_text(record: Mapping[str, Any]) -> str:
    return orjson.dumps(record, default=str, option=_RECORD_OPTIONS).decode()


def _outbox(db: sqlite3.Connection, change: str, record: dict[str, Any], now: float, alert_id: int | None = None) -> None:
    """Queue an alert's change for the outputs (:mod:`wafpipe.collector.alert_outputs`), in the
    transaction that made it: an output cannot miss a change, nor see one that was rolled back."""
    alert_id = alert_id if alert_id is not None else int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
    message = {"alert_id": alert_id, "change": change, "at": now, **record}
    db.execute("INSERT INTO alert_outbox (alert_id, record, created_at) VALUES (?,?,?)",
               (alert_id, _record_text(message), now))  # fmt: skip


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


class Alerts:
    """The alert methods of :class:`wafpipe.collector.state.store.State`."""

    # Whether alert changes are queued in the outbox. The alert outputs turn it off when there are
    # none (:class:`wafpipe.collector.alert_outputs.AlertOutputs`): nothing would read the changes,
    # only empty the outbox again, and a change is a copy of the alert's record (its 100 event ids)
    # written for every Batch that adds to it (on a 1 M-event backlog of generated attacks, 61 000
    # changes: ~1 s of the main process). An output configured later gets the changes from then on;
    # the alerts themselves are all kept.
    queue_changes: bool = True

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]: ...

    def _insert_alerts(self, db: sqlite3.Connection, findings: Iterable[Mapping[str, Any]],
                       suppress_s: float = SUPPRESS_S) -> int:  # fmt: skip
        """Merge ``findings`` into open alerts of their rule and group, or open new ones (each change
        queued for the outputs when :attr:`queue_changes`); return how many alerts were opened."""
        now, opened = time.time(), 0
        for f in findings:
            rule = f["rule"]
            group = json.dumps(f["group"], sort_keys=True, default=str)
            first, last = _ms(f["first"]), _ms(f["last"])
            row = db.execute(
                "SELECT id, record, first_ms, last_ms, count FROM alerts WHERE rule_id=? AND group_key=? "
                "AND acknowledged_at IS NULL AND last_ms >= ? ORDER BY last_ms DESC LIMIT 1",
                (rule["id"], group, first - int(suppress_s * 1000)),
            ).fetchone()
            if row is None:
                record = {**f, "event_ids": list(f.get("event_ids") or [])[:MAX_IDS]}
                db.execute(
                    "INSERT INTO alerts (rule_id, title, level, group_key, first_ms, last_ms, count, record, "
                    "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (rule["id"], rule["title"], rule["level"], group, first, last, int(f["count"]),
                     _record_text(record), now, now),
                )  # fmt: skip
                if self.queue_changes:
                    _outbox(db, "opened", record, now)
                opened += 1
                continue
            alert_id, text, a_first, a_last, count = row
            record = orjson.loads(text)
            ids = list(dict.fromkeys([*record.get("event_ids", []), *(f.get("event_ids") or [])]))[:MAX_IDS]
            # a correlation's finding is re-evaluated over overlapping windows: its count is a peak
            # (the largest wins); single-event findings are disjoint Batches (they add up)
            total = max(count, int(f["count"])) if f.get("kind") == "correlation" else count + int(f["count"])
            record.update(count=total, event_ids=ids,
                          first=record["first"] if a_first <= first else f["first"],
                          last=record["last"] if a_last >= last else f["last"])  # fmt: skip
            db.execute(
                "UPDATE alerts SET first_ms=?, last_ms=?, count=?, record=?, updated_at=? WHERE id=?",
                (min(a_first, first), max(a_last, last), record["count"], _record_text(record), now,
                 alert_id),
            )  # fmt: skip
            if self.queue_changes:
                _outbox(db, "updated", record, now, alert_id)
        return opened

    def record_alerts(self, findings: list[dict[str, Any]], suppress_s: float = SUPPRESS_S) -> int:
        """Findings made outside a Batch (correlations, on a schedule), in a transaction of their own."""
        if not findings:
            return 0
        with self._tx() as db:
            return self._insert_alerts(db, findings, suppress_s)

    def outbox(self, after: int, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
        """Alert changes past ``after`` (an output's cursor), oldest first: ``(seq, message)``."""
        rows = self._query("SELECT seq, record FROM alert_outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        return [(int(r[0]), orjson.loads(r[1])) for r in rows]

    def trim_outbox(self, upto: int) -> None:
        """Forget the changes every output has delivered."""
        with self._tx() as db:
            db.execute("DELETE FROM alert_outbox WHERE seq <= ?", (upto,))

    def list_alerts(self, limit: int = 100, *, include_acknowledged: bool = False) -> list[AlertRecord]:
        """The most recently updated alerts first."""
        rows = self._query(
            "SELECT id, rule_id, title, level, count, record, created_at, updated_at, acknowledged_at FROM alerts "
            "WHERE (? OR acknowledged_at IS NULL) ORDER BY updated_at DESC, id DESC LIMIT ?",
            (include_acknowledged, limit),
        )
        return [AlertRecord(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5]), r[6], r[7], r[8]) for r in rows]

    def acknowledge_alerts(self, ids: Iterable[int]) -> int:
        """Mark alerts seen by a person; returns how many were open."""
        now = time.time()
        with self._tx() as db:
            return db.executemany(
                "UPDATE alerts SET acknowledged_at=? WHERE id=? AND acknowledged_at IS NULL",
                [(now, int(i)) for i in ids],
            ).rowcount
