"""``make run`` is ``wafpipe demo``: the first thing a new user runs must work, and every example
query it suggests must find events in the data it just stored."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from tests.cli.helpers import wafpipe
from wafpipe.tools.demo import DEMO_END, DEMO_SET
from wafpipe.tools.summary import EXAMPLE_QUERIES


def test_the_demo_ingests_once_and_its_example_queries_find_events(tmp_path: Path) -> None:
    total = sum(events for *_, events, _seed in DEMO_SET)
    res = wafpipe("demo", "--dir", "demo", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"{total} new events, 0 already stored" in res.stdout, res.stdout
    for attack in ("SQL Injection", "Cross Site Scripting"):
        assert attack in res.stdout  # the attack table is filled from rule.category
    opened = re.search(r"detections: (\d+) correlation alert", res.stdout)
    assert opened and int(opened[1]) > 0, res.stdout  # its correlations run over its history
    again = wafpipe("demo", "--dir", "demo", cwd=tmp_path)
    assert again.returncode == 0 and "0 new events" in again.stdout, again.stdout
    assert "detections: 0 correlation alert(s) opened" in again.stdout  # found again, joined, not doubled
    assert f"the store holds {total} events" in again.stdout
    config = str(tmp_path / "demo" / "wafpipe.toml")
    for query in EXAMPLE_QUERIES:
        count = wafpipe("query", "-c", config, query, "--count", cwd=tmp_path)
        assert count.returncode == 0, (query, count.stderr)
        assert int(count.stdout.strip()) > 0, f"the suggested query {query!r} finds nothing in the demo"
    # the integration guide's validation passes on it, with the clock at the demo's end …
    end = (DEMO_END + timedelta(minutes=5)).isoformat()
    ok = wafpipe("validate", "-c", config, cwd=tmp_path, env={"WAFPIPE_NOW": end})
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.count("pass") == 3 and "FAIL" not in ok.stdout
    # … and two days later the logs have stopped arriving: that row fails, and says what to do
    late = wafpipe("validate", "-c", config, cwd=tmp_path,
                   env={"WAFPIPE_NOW": (DEMO_END + timedelta(days=2)).isoformat()})  # fmt: skip
    assert late.returncode == 1
    rows = {line.split("│")[1].strip(): line for line in late.stdout.splitlines() if line.count("│") > 3}
    assert "FAIL" in rows["files arrive"] and "FAIL" in rows["events searchable"]
    assert "pass" in rows["collector healthy"] or "stale" in late.stdout
