"""Findings merged into alerts in a few statements per Batch (``state/alerts.py``) give exactly what
merging them one by one gave: the same alerts, counts, times, event ids and outbox messages, in
the same order. The oracle below is that one-by-one merge, two statements per finding, as the
state did it before (issue 20: it was ~2 s of the main process on a 1 M-event backlog)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wafpipe.collector.state.alerts import MAX_IDS, SUPPRESS_S, _ms, _record_text
from wafpipe.collector.state.store import State

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def one_by_one(state: State, findings: list[dict[str, Any]], suppress_s: float = SUPPRESS_S) -> None:
    """The oracle: each finding looked up and written on its own, in order."""
    with state._tx() as db:
        now = time.time()
        for f in findings:
            rule = f["rule"]
            group = json.dumps(f["group"], sort_keys=True, default=str)
            first, last = _ms(f["first"]), _ms(f["last"])
            row = db.execute(
                "SELECT id, record, first_ms, last_ms, count FROM alerts WHERE rule_id=? AND group_key=? "
                "AND acknowledged_at IS NULL AND last_ms >= ? ORDER BY last_ms DESC, id DESC LIMIT 1",
                (rule["id"], group, first - int(suppress_s * 1000)),
            ).fetchone()
            if row is None:
                record = {k: v for k, v in f.items() if k != "event_ids"}
                ids = list(dict.fromkeys(f.get("event_ids") or []))[:MAX_IDS]
                alert_id = db.execute(
                    "INSERT INTO alerts (rule_id, title, level, group_key, first_ms, last_ms, count, record, "
                    "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (rule["id"], rule["title"], rule["level"], group, first, last, int(f["count"]),
                     _record_text(record), now, now),
                ).lastrowid  # fmt: skip
                db.execute("INSERT INTO alert_event_ids VALUES (?,?,?)", (alert_id, len(ids), json.dumps(ids)))
                change = "opened"
            else:
                alert_id, text, a_first, a_last, count = row
                record = orjson.loads(text)
                (held,) = db.execute("SELECT ids FROM alert_event_ids WHERE alert_id=?", (alert_id,)).fetchone()
                ids = list(dict.fromkeys([*orjson.loads(held), *(f.get("event_ids") or [])]))[:MAX_IDS]
                total = max(count, int(f["count"])) if f.get("kind") == "correlation" else count + int(f["count"])
                record.update(count=total,
                              first=record["first"] if a_first <= first else f["first"],
                              last=record["last"] if a_last >= last else f["last"])  # fmt: skip
                db.execute(
                    "UPDATE alerts SET first_ms=?, last_ms=?, count=?, record=?, updated_at=? WHERE id=?",
                    (min(a_first, first), max(a_last, last), total, _record_text(record), now, alert_id),
                )
                db.execute("UPDATE alert_event_ids SET n=?, ids=? WHERE alert_id=?", (len(ids), json.dumps(ids), alert_id))
                change = "updated"
            record = {**record, "event_ids": ids}
            message = {"alert_id": alert_id, "change": change, "at": now, **record}
            db.execute("INSERT INTO alert_outbox (alert_id, record, created_at) VALUES (?,?,?)",
                       (alert_id, _record_text(message), now))  # fmt: skip


# Groups besides addresses: a correlation's group-by values of other types. Equal as Python values
# (1, 1.0, True), they are different groups in JSON; a list is not hashable; key order is not a group.
ODD_GROUPS = ({"n": 1}, {"n": 1.0}, {"n": True}, {"ua": ["a", "b"]}, {"a": "x", "b": "y"}, {"b": "y", "a": "x"})


def finding(rule: int, ip: int, start_min: int, span_min: int, count: int, ids: list[int], kind: str) -> dict[str, Any]:
    first = T0 + timedelta(minutes=start_min)
    return {
        "rule": {"id": f"r{rule}", "title": f"Rule {rule}", "level": "high", "tags": [], "source": "t"},
        "kind": kind, "group": {"source.ip": f"198.51.100.{ip}"} if ip >= 0 else dict(ODD_GROUPS[ip]),
        "first": first.isoformat().replace("+00:00", "Z"),
        "last": (first + timedelta(minutes=span_min)).isoformat().replace("+00:00", "Z"),
        "count": count, "event_ids": [f"e{i}" for i in ids],
    }  # fmt: skip


findings_st = st.builds(
    finding,
    rule=st.integers(0, 2), ip=st.integers(-len(ODD_GROUPS), 3),
    start_min=st.integers(0, 600),  # ten hours: findings join, and some come after the one-hour window
    span_min=st.integers(0, 90), count=st.integers(1, 50),
    ids=st.lists(st.integers(0, 150), max_size=60), kind=st.sampled_from(["rule", "rule", "correlation"]),
)  # fmt: skip
# Batches of findings, and after each the alerts a person acknowledged (indexes into the open ones).
steps_st = st.lists(st.tuples(st.lists(findings_st, max_size=25), st.lists(st.integers(0, 20), max_size=2)),
                    min_size=1, max_size=6)  # fmt: skip


def snapshot(state: State) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    alerts = state._query("SELECT a.id, rule_id, title, level, group_key, first_ms, last_ms, count, record, "
                          "acknowledged_at IS NOT NULL, n, ids FROM alerts AS a "
                          "JOIN alert_event_ids AS e ON e.alert_id = a.id ORDER BY a.id")  # fmt: skip
    rows = [(*r[:8], orjson.loads(r[8]), r[9], r[10], orjson.loads(r[11])) for r in alerts]
    changes = [{k: v for k, v in m.items() if k != "at"} for _, m in state.outbox(0, limit=10**6)]
    return rows, changes


def run(state: State, steps: list[tuple[list[dict[str, Any]], list[int]]], merge: Any) -> None:
    for findings, acks in steps:
        merge(state, findings)
        open_ids = [a.id for a in state.list_alerts(limit=1000)]
        state.acknowledge_alerts(sorted({open_ids[i % len(open_ids)] for i in acks}) if open_ids else [])


@pytest.fixture
def states(tmp_path: Path) -> Iterator[tuple[State, State]]:
    pair = State(tmp_path / "batched"), State(tmp_path / "oracle")
    yield pair
    for s in pair:
        s.close()


def _fresh(state: State) -> None:
    with state._tx() as db:
        db.execute("DELETE FROM alerts")
        db.execute("DELETE FROM alert_event_ids")
        db.execute("DELETE FROM alert_outbox")
        db.execute("DELETE FROM sqlite_sequence WHERE name = 'alert_outbox'")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # reset: _fresh
@given(steps=steps_st)
def test_batched_merge_equals_merging_one_by_one(states: tuple[State, State], steps: Any) -> None:
    batched, oracle = states
    for s in states:
        _fresh(s)
    run(batched, steps, lambda s, f: s.record_alerts(f))
    run(oracle, steps, one_by_one)
    assert snapshot(batched) == snapshot(oracle)


def test_many_groups_in_one_batch_span_several_lookups(states: tuple[State, State]) -> None:
    """More rule-and-group pairs than one lookup query takes (400): every pair is still found."""
    batched, oracle = states
    many = [finding(r, 0, 0, 1, 1, [i], "rule") | {"group": {"source.ip": f"10.0.{i // 250}.{i % 250}"}}
            for i in range(500) for r in (0, 1)]  # fmt: skip
    for merge, s in ((lambda s, f: s.record_alerts(f), batched), (one_by_one, oracle)):
        merge(s, many)
        merge(s, [f | {"event_ids": ["again"]} for f in many])
    got, want = snapshot(batched), snapshot(oracle)
    assert got == want and len(got[0]) == 1000 and all(r[7] == 2 for r in got[0])


def test_the_merge_reads_and_writes_a_batch_in_a_few_statements(states: tuple[State, State]) -> None:
    """Not two statements per finding: 300 findings joining 4 open alerts."""
    batched, _ = states
    batched.record_alerts([finding(0, ip, 0, 1, 1, [0], "rule") for ip in range(4)])
    statements: list[str] = []
    with batched._tx() as db:
        db.set_trace_callback(statements.append)
        opened = batched._insert_alerts(db, [finding(0, i % 4, 2, 1, 1, [i], "rule") for i in range(300)])
        db.set_trace_callback(None)
    # lookup, 4 records and 4 id lists updated, 300 outbox rows (executemany)
    assert opened == 0 and len(statements) <= 2 + 4 + 4 + 300
    assert sum(s.startswith("SELECT") for s in statements) == 2  # the open alerts, then their records
    assert {a.count for a in batched.list_alerts()} == {76}


def test_an_alert_with_all_its_ids_is_not_rewritten_with_them(states: tuple[State, State]) -> None:
    """Once an alert holds MAX_IDS distinct event ids they cannot change: a joining finding updates
    its count and times, and neither reads nor writes its ids (they are not in its record)."""
    batched, _ = states
    batched.queue_changes = False  # as with no alert outputs: the outbox would want the ids
    batched.record_alerts([finding(0, 1, 0, 1, 1, list(range(MAX_IDS + 20)), "rule")])
    statements: list[str] = []
    with batched._tx() as db:
        db.set_trace_callback(statements.append)
        batched._insert_alerts(db, [finding(0, 1, 2, 1, 5, [500, 501], "rule")])
        db.set_trace_callback(None)
    updates = [s for s in statements if s.startswith(("UPDATE", "INSERT"))]
    assert len(updates) == 1 and updates[0].startswith("UPDATE alerts SET") and '"e1"' not in updates[0]
    [alert] = batched.list_alerts()
    assert alert.count == 6 and alert.record["event_ids"] == [f"e{i}" for i in range(MAX_IDS)]
    batched.record_alerts([finding(0, 1, 3, 1, 1, [7], "rule") | {"event_ids": []}])  # ids: none at all
    assert batched.list_alerts()[0].count == 7
