"""The state's checkpoints of delivered Batches, grouped (wafpipe.collector.checkpoints): a group
commits what one commit per Batch would, all or nothing, and waits only as long as it may.

Crashes while checkpoints wait (the sinks ahead of the state by a few Batches) are the failpoint
matrix's ``sink.*.after_commit`` cases (tests/collector/test_failpoints.py): there, the file's
first Batches are still waiting when the process dies, and the restart must add nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wafpipe.collector.checkpoints import GROUP_BATCHES, Checkpoints
from wafpipe.collector.state import State
from wafpipe.collector.state.store import Checkpoint

KEYS = ("incoming:a.log", "incoming:b.log")


def finding(ip: str, second: int, count: int, ids: list[str]) -> dict[str, Any]:
    at = f"2026-06-01T12:00:{second:02d}.000Z"
    return {"rule": {"id": "r1", "title": "SQL injection", "level": "high"}, "kind": "rule",
            "group": {"source.ip": ip}, "first": at, "last": at, "count": count, "event_ids": ids}  # fmt: skip


def batches() -> list[Checkpoint]:
    """Two files' Batches, interleaved: counters, dead letters, findings joining and opening alerts."""
    out: list[Checkpoint] = []
    for i in range(12):
        key = KEYS[i % 2]
        dead = [{"kind": "decode", "file": key, "line": i, "reason": "bad", "raw": f"line {i}"}] if i % 5 == 0 else []
        found = [finding("192.0.2.1", i, 2, [f"e{i}a", f"e{i}b"]), finding(f"198.51.100.{i % 3}", i, 1, [f"f{i}"])]
        out.append(Checkpoint(key, 100 * (i // 2 + 1), {"events": 100, "problem_decode": len(dead)}, dead, found))
    return out


def opened(path: Path) -> State:
    state = State(path)
    for key in KEYS:
        state.register_file(key, source="incoming", name=key.split(":")[1])
    return state


def contents(state: State) -> tuple[Any, ...]:
    files = sorted((f.key, f.next_ordinal, f.counts) for f in state.list_files())
    alerts = sorted((a.rule_id, a.count, a.record["group"]["source.ip"], a.record["first"], a.record["last"],
                     tuple(a.record["event_ids"])) for a in state.list_alerts())  # fmt: skip
    dead = sorted((d.file_key, d.record["line"]) for d in state.list_dead_letters())
    return files, alerts, dead


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[State, State]]:
    one, grouped = opened(tmp_path / "one"), opened(tmp_path / "grouped")
    yield one, grouped
    one.close()
    grouped.close()


def test_one_commit_for_several_batches_records_what_one_commit_each_does(pair: tuple[State, State]) -> None:
    one, grouped = pair
    for c in batches():
        one.commit_batch(c.key, c.next_ordinal, c.counts, c.dead_letters, c.findings)
    grouped.commit_batches(batches())
    assert contents(grouped) == contents(one)
    files, alerts, dead = contents(grouped)
    assert files == [(KEYS[0], 600, {"events": 600, "problem_decode": 2}),
                     (KEYS[1], 600, {"events": 600, "problem_decode": 1})]  # fmt: skip
    assert len(alerts) == 4 and len(dead) == 3  # one alert per address: joined, not one per Batch
    assert next(a for a in alerts if a[2] == "192.0.2.1")[1] == 24


def test_a_group_is_committed_whole_or_not_at_all(tmp_path: Path) -> None:
    state = opened(tmp_path)
    try:
        with pytest.raises(KeyError, match="not registered"):
            state.commit_batches([*batches()[:3], Checkpoint("incoming:unknown.log", 5)])
        assert contents(state) == (sorted((k, 0, {}) for k in KEYS), [], [])
    finally:
        state.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_checkpoints_wait_for_a_full_group_and_no_longer_than_they_may(tmp_path: Path) -> None:
    state, clock = opened(tmp_path), Clock()
    waiting = Checkpoints(state, clock=clock)
    ordinal = lambda: state.get_file(KEYS[0]).next_ordinal  # noqa: E731
    try:
        for n in range(1, GROUP_BATCHES):
            waiting.add(Checkpoint(KEYS[0], n, {"events": 1}))
        assert (len(waiting), ordinal()) == (GROUP_BATCHES - 1, 0)  # waiting, not yet in the state
        waiting.add(Checkpoint(KEYS[0], GROUP_BATCHES, {"events": 1}))
        assert (len(waiting), ordinal()) == (0, GROUP_BATCHES)  # the group is full: one commit
        assert state.get_file(KEYS[0]).counts == {"events": GROUP_BATCHES}

        waiting.add(Checkpoint(KEYS[0], 20))
        clock.now += waiting.lag_s / 2
        waiting.add(Checkpoint(KEYS[0], 21))
        assert ordinal() == GROUP_BATCHES
        clock.now += waiting.lag_s / 2  # the oldest has waited long enough
        waiting.add(Checkpoint(KEYS[0], 22))
        assert (len(waiting), ordinal()) == (0, 22)

        waiting.add(Checkpoint(KEYS[0], 30))
        waiting.add(Checkpoint(KEYS[0], 31), now=True)  # a file's last Batch
        assert (len(waiting), ordinal()) == (0, 31)

        waiting.add(Checkpoint(KEYS[0], 40, dead_letters=[{"kind": "decode", "file": "a.log", "line": 1,
                                                            "reason": "bad", "raw": "x" * 100_000}]))  # fmt: skip
        assert (len(waiting), ordinal()) == (0, 40)  # dead letters are not kept waiting in memory

        waiting.add(Checkpoint(KEYS[0], 50))
        waiting.commit()  # what the collector does when no Batch is ready, or it stops
        assert (len(waiting), ordinal()) == (0, 50)
        waiting.commit()  # nothing waits: nothing to do
        assert ordinal() == 50
    finally:
        state.close()
