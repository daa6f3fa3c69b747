"""State database: WAL, checkpoints that survive a crash, dead letters, the API's processed set,
gap detection, quarantine and schema versioning. Real SQLite files in tmp_path; the crash is a real
process killed with os._exit."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from wafpipe.collector.state.schema import _MIGRATIONS
from wafpipe.collector.state.store import SCHEMA_VERSION, State, safe_file_name
from wafpipe.errors import WafpipeError


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    s = State(tmp_path / "data")
    yield s
    s.close()


def register(state: State, key: str = "dir:/in/1_1.log:10:1") -> str:
    state.register_file(key, source="dir", name="1_1.log", path="/in/1_1.log", size=10, mtime=1.0)
    return key


def test_wal_mode_and_schema_version(state: State) -> None:
    assert state.journal_mode() == "wal"
    assert state.schema_version == SCHEMA_VERSION
    assert state.path.name == "state.sqlite"
    sync = sqlite3.connect(state.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert sync == "wal"  # persistent: other processes see WAL too


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    State(tmp_path).close()
    db = sqlite3.connect(tmp_path / "state.sqlite")
    db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(WafpipeError, match="schema version 999"):
        State(tmp_path)


def test_a_version_1_state_gains_the_files_facts(tmp_path: Path) -> None:
    """Schema 1 → 2 in place: files registered before keep their progress and get empty facts."""
    db = sqlite3.connect(tmp_path / "state.sqlite")
    db.executescript(_MIGRATIONS[1])
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO files (key, source, name, status, next_ordinal, first_seen, last_seen) "
               "VALUES ('k', 'dir', '1_1.log', 'done', 7, 1.0, 1.0)")
    db.commit()
    db.close()
    state = State(tmp_path)
    try:
        rec = state.get_file("k")
        assert rec is not None and (rec.status, rec.next_ordinal, rec.facts) == ("done", 7, {})
        assert state.schema_version == SCHEMA_VERSION == 5  # brought all the way up, alerts included
        state.set_facts("k", {"format": "cef", "header": {"configid": "618"}})
        assert state.get_file("k").facts == {"format": "cef", "header": {"configid": "618"}}
        assert state.list_alerts() == [] and state.outbox(0) == []
    finally:
        state.close()


def test_a_version_4_state_keeps_its_alerts_event_ids_beside_them(tmp_path: Path) -> None:
    """Schema 4 → 5 in place: an alert's event ids move out of its record into their own table;
    it reads as before and takes more findings."""
    db = sqlite3.connect(tmp_path / "state.sqlite")
    for v in range(1, 5):
        db.executescript(_MIGRATIONS[v])
    db.execute("INSERT INTO meta VALUES ('schema_version', '4')")
    record = {"rule": {"id": "r", "title": "T", "level": "high", "tags": [], "source": "s"}, "kind": "rule",
              "group": {"source.ip": "192.0.2.1"}, "first": "2026-03-01T00:00:00Z",
              "last": "2026-03-01T00:01:00Z", "count": 2, "event_ids": ["a", "b"]}  # fmt: skip
    db.execute("INSERT INTO alerts (rule_id, title, level, group_key, first_ms, last_ms, count, record, created_at, "
               "updated_at) VALUES ('r', 'T', 'high', ?, 1772323200000, 1772323260000, 2, ?, 1.0, 1.0)",
               (json.dumps(record["group"], sort_keys=True), json.dumps(record)))  # fmt: skip
    db.commit()
    db.close()
    state = State(tmp_path)
    try:
        assert state.schema_version == SCHEMA_VERSION == 5
        [alert] = state.list_alerts()
        assert alert.record == record
        assert "event_ids" not in json.loads(state._query("SELECT record FROM alerts")[0][0])
        state.record_alerts([{**record, "first": "2026-03-01T00:02:00Z", "last": "2026-03-01T00:02:00Z",
                              "count": 1, "event_ids": ["b", "c"]}])  # fmt: skip
        [alert] = state.list_alerts()
        assert (alert.count, alert.record["event_ids"], alert.record["last"]) == (3, ["a", "b", "c"], "2026-03-01T00:02:00Z")
    finally:
        state.close()


def test_checkpoints_accumulate_and_never_go_back(state: State) -> None:
    key = register(state)
    assert state.get_file(key).status == "seen"
    assert state.start_file(key, identity=b"\xab\xcd") == 0
    state.commit_batch(key, 5000, {"events": 5000})
    state.commit_batch(key, 7000, {"events": 2000, "problem_decode": 1})
    state.commit_batch(key, 6000, {"events": 0})  # a late/out-of-order commit cannot rewind
    rec = state.get_file(key)
    assert rec.status == "in_progress"
    assert rec.next_ordinal == 7000
    assert rec.counts == {"events": 7000, "problem_decode": 1}
    assert rec.identity == "abcd"
    assert state.identity_done("abcd") is None
    state.mark_done(key)
    assert state.get_file(key).status == "done"
    assert state.identity_done(b"\xab\xcd").key == key  # same file under another name is recognised
    assert state.file_status_counts()["done"] == 1
    with pytest.raises(KeyError):
        state.commit_batch("unknown", 1)


def test_register_is_idempotent_and_resume_point_survives(state: State) -> None:
    key = register(state)
    state.start_file(key)
    state.commit_batch(key, 42)
    rec = register(state) and state.get_file(key)
    assert rec.next_ordinal == 42 and rec.status == "in_progress"
    assert state.start_file(key) == 42


def test_crash_safety_a_killed_process_keeps_its_last_commit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code = """
import os, sys
from wafpipe.collector.state.store import State
s = State(sys.argv[1])
s.register_file("k", source="dir", name="1_1.log")
s.start_file("k", b"\\x01")
s.commit_batch("k", 5000, {"events": 5000}, [{"kind": "decode", "file": "1_1.log", "line": 7, "reason": "bad"}])
s.commit_batch("k", 10000, {"events": 5000})
s._db.execute("BEGIN IMMEDIATE")
s._db.execute("UPDATE files SET next_ordinal=99999 WHERE key='k'")  # never committed
os._exit(9)
"""
    proc = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    with State(data) as s:
        rec = s.get_file("k")
        assert rec.next_ordinal == 10000
        assert rec.counts == {"events": 10000}
        assert s.count_dead_letters() == 1
        s.commit_batch("k", 15000)
    with State(data) as s:  # open/close/reopen
        assert s.get_file("k").next_ordinal == 15000


def test_dead_letters_round_trip(state: State) -> None:
    key = register(state)
    records = [
        {
            "kind": "decode",
            "file": "/in/1_1.log",
            "line": 3,
            "offset": 120,
            "column": 9,
            "reason": "no '=' after key",
            "hint": "check the line",
            "raw": "CEF:0|bad",
            "raw_bytes": 9,
        },
        {"kind": "checksum", "file": "/in/1_1.log", "line": None, "reason": "md5 mismatch"},
    ]
    assert state.add_dead_letters(records, file_key=key) == 2
    assert state.add_dead_letters(records, file_key=key) == 0  # a replayed batch adds nothing
    listed = state.list_dead_letters()
    assert [d.kind for d in listed] == ["decode", "checksum"]
    assert listed[0].record == records[0]
    assert listed[0].file_key == key
    assert [d.kind for d in state.list_dead_letters(kind="checksum")] == ["checksum"]
    got = state.get_dead_letter(listed[0].id)
    assert got is not None and got.record["raw"] == "CEF:0|bad"
    assert state.mark_replayed([listed[0].id]) == 1
    assert state.mark_replayed([listed[0].id]) == 0
    assert [d.kind for d in state.list_dead_letters()] == ["checksum"]
    assert len(state.list_dead_letters(include_replayed=True)) == 2
    assert state.get_dead_letter(listed[0].id).replayed_at is not None
    assert state.count_dead_letters() == 1
    assert state.get_dead_letter(12345) is None


def test_api_processed_set_is_trimmed_to_the_index(state: State) -> None:
    assert state.api_processed_add("api", ["1_1.log", "1_2.log", "1_5.log"]) == 3
    assert state.api_processed_add("api", ["1_5.log"]) == 0
    state.api_processed_add("other", ["1_1.log"])
    assert state.api_processed_trim("api", ["1_2.log", "1_5.log", "1_9.log"]) == 1
    assert state.api_processed_list("api") == {"1_2.log", "1_5.log"}
    assert state.api_processed_list("other") == {"1_1.log"}  # per source


def test_sink_cursors_and_health(state: State) -> None:
    assert state.sink_cursor_get("es") is None
    state.sink_cursor_set("es", {"segment": 3, "offset": 1024})
    assert state.sink_cursor_get("es") == {"segment": 3, "offset": 1024}
    state.set_health("sink:es", last_error=100.0, error="connection refused", details={"spooled": 5})
    assert not state.health()["sink:es"].ok
    state.set_health("sink:es", last_success=200.0)
    h = state.health()["sink:es"]
    assert h.ok and h.error == "connection refused" and h.details == {"spooled": 5}


def _header(config_id: str, start: int, end: int) -> dict[str, str]:
    return {"configId": config_id, "startTime": str(start), "endTime": str(end), "accountId": "1"}


def test_time_holes_between_files_of_one_configuration(state: State) -> None:
    minute = 60_000
    files = [(0, 5), (5, 10), (4, 30), (31, 40), (60, 70)]  # minutes; third overlaps, 40→60 is a hole
    for i, (a, b) in enumerate(files):
        assert state.record_header(bytes([i]), _header("618", a * minute, b * minute), name=f"1_{i}.log")
    state.record_header(b"\xff", _header("700", 0, minute), name="2_1.log")  # another configuration
    assert not state.record_header(b"\xfe", {"format": "CEF"})  # no times: nothing to track
    gaps = state.time_gaps(grace_s=120)
    assert [(g.kind, g.scope, g.start_ms, g.end_ms) for g in gaps] == [
        ("time_hole", "618", 40 * minute, 60 * minute)
    ]
    assert gaps[0].seconds == 1200 and "1_3.log" in gaps[0].detail and "1_4.log" in gaps[0].detail
    assert len(state.time_gaps(grace_s=0.5)) == 2  # the 1-minute hole 30→31 counts with a tiny grace
    assert state.time_gaps(grace_s=120, config_id="700") == []


def test_stale_configuration_and_recorded_gaps(state: State) -> None:
    minute = 60_000
    state.record_header(b"\x01", _header("618", 0, 10 * minute))
    state.record_header(b"\x02", _header("700", 0, 40 * minute))
    stale = state.stale(now=45 * 60, max_delay_s=30 * 60)  # 45 minutes after epoch
    assert [g.scope for g in stale] == ["618"]
    state.add_gap("index_missed", "api", "1_7.log left logs.index before it was fetched")
    state.add_gap("index_missed", "api", "1_7.log left logs.index before it was fetched")  # once
    kinds = [g.kind for g in state.gaps(now=45 * 60, max_delay_s=30 * 60)]
    assert kinds == ["index_missed", "stale"]


def test_quarantine_copies_never_overwrites_and_explains(state: State, tmp_path: Path) -> None:
    bad = tmp_path / "1_1.log"
    bad.write_bytes(b"accountId:1\n|==|\n\x00garbage")
    key = register(state)
    first = state.quarantine(bad, "checksum mismatch", key=key, details={"expected": "ab", "computed": "cd"})
    second = state.quarantine(bad, "again")
    third = state.quarantine(partial(bad.open, "rb"), "from an opener", name="../../etc/passwd")
    assert first != second and first.parent == second.parent == state.quarantine_dir
    for p in (first, second, third):
        assert p.read_bytes() == bad.read_bytes()
        assert p.parent == state.quarantine_dir
    assert bad.exists()  # a copy, not a move
    assert ".." not in third.name and "/" not in third.name and third.name.endswith("passwd")
    note = json.loads(first.with_name(first.name + ".reason.json").read_text())
    assert (
        note["reason"] == "checksum mismatch"
        and note["expected"] == "ab"
        and note["size"] == bad.stat().st_size
    )
    assert len(note["sha256"]) == 64
    assert state.get_file(key).status == "quarantined"
    assert state.get_file(key).error == "checksum mismatch"


def test_safe_file_name() -> None:
    assert safe_file_name("1234_5.log.gz") == "1234_5.log.gz"
    assert safe_file_name("../../x y;rm -rf") == "x_y_rm_-rf"
    assert safe_file_name(".hidden") == "hidden"
    assert safe_file_name("") == "unnamed"


def test_threads_share_one_state(state: State) -> None:
    keys = [register(state, f"k{i}") for i in range(8)]

    def work(key: str) -> None:
        state.start_file(key)
        for n in range(1, 51):
            state.commit_batch(key, n * 10, {"events": 10})
        state.mark_done(key)

    threads = [threading.Thread(target=work, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in keys:
        rec = state.get_file(k)
        assert rec.status == "done" and rec.next_ordinal == 500 and rec.counts == {"events": 500}
