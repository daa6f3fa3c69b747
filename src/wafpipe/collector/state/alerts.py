"""Alerts: what the detections found, kept in the state database (a mixin of
:class:`wafpipe.collector.state.store.State`, like dead letters).

A finding (:meth:`wafpipe.detect.engine.Finding.record`) is one rule's events for one group (a
source address, or a correlation's ``group-by``). Findings of the same rule and group are one alert
while they keep coming: a finding whose first event is within :data:`SUPPRESS_S` of the alert's
last joins it (its count added, its times widened, the first :data:`MAX_IDS` distinct event ids
kept) instead of opening another — an attacker's thousand requests are one alert, not a thousand.
An acknowledged alert takes no more findings: the next one opens a new alert.

An alert's event ids are kept beside it (``alert_event_ids``), not in its record: once it has
:data:`MAX_IDS` of them they no longer change, while its count and times change with every Batch
that joins it, and a Batch of generated attacks joins ~600 alerts.

The single-event rules' findings of a Batch are written in the Batch's own checkpoint transaction
(:meth:`State.commit_batches`), so each event is counted once whatever crashes (see
:mod:`wafpipe.detect.batch`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from wafpipe.collector.state.schema import AlertRecord

SUPPRESS_S = 3600.0
MAX_IDS = 100
# orjson for the alert records: a Batch of generated attacks brings ~600 findings, each record
# read and written on the main process's path (issue 20). Values orjson
# has no native form for (datetimes, dataclasses) go to ``str``, as they did with ``json``.
_RECORD_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _record_text(record: Mapping[str, Any]) -> str:
    return orjson.dumps(record, default=str, option=_RECORD_OPTIONS).decode()


@dataclass
class _OpenAlert:
    """The newest open alert of a rule and group, as :meth:`Alerts._insert_alerts` merges into it.

    A commit brings thousands of findings that mostly join a few hundred alerts, so a join touches
    only numbers and the ids it adds: the stored record is parsed once, when the alert is written
    back (:meth:`loaded`), and its event ids read only while they can change (fewer than MAX_IDS)."""

    alert_id: int
    first_ms: int
    last_ms: int
    count: int
    text: str | None = None  # the stored record (its event ids apart), until parsed into ``record``
    record: dict[str, Any] | None = None
    n_ids: int = 0
    ids_text: str | None = None  # the stored ids, read only if not yet MAX_IDS (or for the outbox)
    ids: list[str] | None = None
    ids_changed: bool = False
    joined: bool = False  # a finding joined it: its count (and maybe times) changed
    first: str | None = None  # a joining finding's ``first`` that moved the alert's start earlier
    last: str | None = None  # a joining finding's ``last`` that moved the alert's end later
    _seen: set[str] | None = None  # ``ids`` as a set, while ids are still added

    def loaded(self) -> dict[str, Any]:
        """The record with what joined it: its count and widened times."""
        if self.record is None:
            assert self.text is not None
            self.record = orjson.loads(self.text)
        if self.joined:
            self.record["count"] = self.count
            if self.first is not None:
                self.record["first"] = self.first
            if self.last is not None:
                self.record["last"] = self.last
        return self.record

    def event_ids(self) -> list[str]:
        if self.ids is None:
            self.ids = orjson.loads(self.ids_text) if self.ids_text is not None else []
        return self.ids

    def whole(self) -> dict[str, Any]:
        """The record as outputs and readers see it: with its event ids."""
        return {**self.loaded(), "event_ids": self.event_ids()}

    def join(self, f: Mapping[str, Any], first: int, last: int) -> None:
        """Add a finding: its count, its times widening the alert's, its event ids up to MAX_IDS."""
        more = f.get("event_ids")
        if more and self.n_ids < MAX_IDS:  # MAX_IDS distinct ids: no finding changes them any more
            ids = self.event_ids()
            if self._seen is None:
                self._seen = set(ids)
                if len(self._seen) != len(ids):  # a version-4 state kept repeats: distinct now
                    ids[:] = dict.fromkeys(ids)
                    self.ids_changed = True
            for event_id in more:
                if len(ids) >= MAX_IDS:
                    break
                if event_id not in self._seen:
                    self._seen.add(event_id)
                    ids.append(event_id)
                    self.ids_changed = True
            self.n_ids = len(ids)
        # a correlation's finding is re-evaluated over overlapping windows: its count is a peak (the
        # largest wins); single-event findings are disjoint Batches (they add up)
        count = int(f["count"])
        self.count = max(self.count, count) if f.get("kind") == "correlation" else self.count + count
        if first < self.first_ms:
            self.first_ms, self.first = first, f["first"]
        if last > self.last_ms:
            self.last_ms, self.last = last, f["last"]
        self.joined = True


# Rule-and-group pairs per query: two parameters each, well under SQLite's oldest limit (999).
_KEYS_PER_QUERY = 400


def _newest_open(db: sqlite3.Connection, keys: set[tuple[str, str]], *,
                 all_ids: bool) -> dict[tuple[str, str], _OpenAlert]:  # fmt: skip
    """The newest (by last event, then id) unacknowledged alert of each rule and group in ``keys``:
    the open alerts of those pairs found through the index, then the records of the newest only
    (a group attacked on and off for months has an open alert for each spell nobody acknowledged),
    with their event ids where fewer than MAX_IDS (or ``all_ids``: the outbox wants them)."""
    newest: dict[tuple[str, str], _OpenAlert] = {}
    ordered = sorted(keys)
    for at in range(0, len(ordered), _KEYS_PER_QUERY):
        chunk = ordered[at : at + _KEYS_PER_QUERY]
        pairs = ",".join(["(?,?)"] * len(chunk))  # placeholders only: the values are parameters
        sql = ("SELECT a.id, a.rule_id, a.group_key, a.first_ms, a.last_ms, a.count "  # noqa: S608
               f"FROM (VALUES {pairs}) AS k JOIN alerts AS a ON a.rule_id = k.column1 AND a.group_key = k.column2 "
               "WHERE a.acknowledged_at IS NULL")  # fmt: skip
        found: dict[tuple[str, str], _OpenAlert] = {}
        for alert_id, rule_id, group, first_ms, last_ms, count in db.execute(sql, [v for key in chunk for v in key]):
            held = found.get((rule_id, group))
            if held is None or (last_ms, alert_id) > (held.last_ms, held.alert_id):
                found[(rule_id, group)] = _OpenAlert(alert_id, first_ms, last_ms, count)
        if found:
            by_id = {a.alert_id: a for a in found.values()}
            marks = ",".join("?" * len(by_id))
            sql = ("SELECT a.id, a.record, COALESCE(e.n, 0), CASE WHEN e.n < ? OR ? THEN e.ids END "  # noqa: S608
                   f"FROM alerts AS a LEFT JOIN alert_event_ids AS e ON e.alert_id = a.id WHERE a.id IN ({marks})")
            for alert_id, text, n_ids, ids_text in db.execute(sql, [MAX_IDS, all_ids, *by_id]):
                alert = by_id[alert_id]
                alert.text, alert.n_ids, alert.ids_text = text, n_ids, ids_text
            newest.update(found)
    return newest


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _group_keys(findings: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """``(rule id, group key, finding)`` for each finding: the group as sorted JSON text, written
    once per distinct group (a commit's findings come from a few hundred groups, ten times each)."""
    texts: dict[tuple[tuple[str, str], ...], str] = {}
    keyed = []
    for f in findings:
        group = f["group"]
        # Only groups of text values are looked up: 1, 1.0 and True (or lists holding them) are
        # equal as Python values but different JSON, and lists are no dictionary keys.
        seen = tuple(group.items()) if all(type(v) is str for v in group.values()) else None
        text = texts.get(seen) if seen is not None else None
        if text is None:
            text = json.dumps(group, sort_keys=True, default=str)
            if seen is not None:
                texts[seen] = text
        keyed.append((f["rule"]["id"], text, f))
    return keyed


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
        queued for the outputs when :attr:`queue_changes`); return how many alerts were opened.

        As if one finding after the other were merged, in a few statements: two queries find the
        newest open alert of every rule and group at hand (an alert a finding can join is that one,
        or none) and its record, the findings are merged in memory in order, and the alerts that
        changed are written once each. A Batch of generated attacks brings ~600 findings, mostly
        joining alerts already open, on the main process's path; a lookup and a write per finding
        cost about as much end to end (most of it is the records written), but a Batch's statements
        no longer grow with its findings."""
        keyed = _group_keys(findings)
        if not keyed:
            return 0
        now, opened, window_ms = time.time(), 0, int(suppress_s * 1000)
        newest = _newest_open(db, {(rule_id, group) for rule_id, group, _ in keyed}, all_ids=self.queue_changes)
        changes: list[tuple[int, str, float]] = []  # the outbox rows, in the order the changes happened
        joined: dict[int, _OpenAlert] = {}  # by id: a newer alert may have taken its place in `newest`
        for rule_id, group, f in keyed:
            first, last = _ms(f["first"]), _ms(f["last"])
            alert = newest.get((rule_id, group))
            if alert is None or alert.last_ms < first - window_ms:
                rule = f["rule"]
                record = {k: v for k, v in f.items() if k != "event_ids"}
                ids = list(dict.fromkeys(f.get("event_ids") or []))[:MAX_IDS]
                alert_id = db.execute(
                    "INSERT INTO alerts (rule_id, title, level, group_key, first_ms, last_ms, count, record, "
                    "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (rule_id, rule["title"], rule["level"], group, first, last, int(f["count"]),
                     _record_text(record), now, now),
                ).lastrowid  # fmt: skip
                assert alert_id is not None
                db.execute("INSERT INTO alert_event_ids (alert_id, n, ids) VALUES (?,?,?)",
                           (alert_id, len(ids), _record_text(ids)))  # fmt: skip
                # the newest of its rule and group now: it ends after this finding began, and any
                # other open one ended more than the window before that
                alert = _OpenAlert(alert_id, first, last, int(f["count"]), record=record, n_ids=len(ids), ids=ids)
                newest[(rule_id, group)] = alert
                opened += 1
                change = "opened"
            else:
                alert.join(f, first, last)
                joined[alert.alert_id] = alert
                change = "updated"
            if self.queue_changes:
                message = {"alert_id": alert.alert_id, "change": change, "at": now, **alert.whole()}
                changes.append((alert.alert_id, _record_text(message), now))
        db.executemany(
            "UPDATE alerts SET first_ms=?, last_ms=?, count=?, record=?, updated_at=? WHERE id=?",
            [(a.first_ms, a.last_ms, a.count, _record_text(a.loaded()), now, a.alert_id) for a in joined.values()],
        )  # fmt: skip
        db.executemany("UPDATE alert_event_ids SET n=?, ids=? WHERE alert_id=?",
                       [(a.n_ids, _record_text(a.event_ids()), a.alert_id) for a in joined.values() if a.ids_changed])  # fmt: skip
        if changes:
            # an output cannot miss a change, nor see one that was rolled back: same transaction
            db.executemany("INSERT INTO alert_outbox (alert_id, record, created_at) VALUES (?,?,?)", changes)
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
            "SELECT a.id, a.rule_id, a.title, a.level, a.count, a.record, a.created_at, a.updated_at, "
            "a.acknowledged_at, e.ids FROM alerts AS a LEFT JOIN alert_event_ids AS e ON e.alert_id = a.id "
            "WHERE (? OR a.acknowledged_at IS NULL) ORDER BY a.updated_at DESC, a.id DESC LIMIT ?",
            (include_acknowledged, limit),
        )
        return [AlertRecord(r[0], r[1], r[2], r[3], r[4], {**orjson.loads(r[5]), "event_ids": orjson.loads(r[9] or "[]")},
                            r[6], r[7], r[8]) for r in rows]  # fmt: skip

    def acknowledge_alerts(self, ids: Iterable[int]) -> int:
        """Mark alerts seen by a person; returns how many were open."""
        now = time.time()
        with self._tx() as db:
            return db.executemany(
                "UPDATE alerts SET acknowledged_at=? WHERE id=? AND acknowledged_at IS NULL",
                [(now, int(i)) for i in ids],
            ).rowcount
