"""``make run`` is ``wafpipe demo``: the first thing a new user runs must work, and every example
query it suggests must find events in the data it just stored."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import wafpipe
from wafpipe.tools.demo import DEMO_SET
from wafpipe.tools.summary import EXAMPLE_QUERIES


def test_the_demo_ingests_once_and_its_example_queries_find_events(tmp_path: Path) -> None:
    total = sum(events for *_, events, _seed in DEMO_SET)
    res = wafpipe("demo", "--dir", "demo", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"{total} new events, 0 already stored" in res.stdout, res.stdout
    for attack in ("SQL Injection", "Cross Site Scripting"):
        assert attack in res.stdout  # the attack table is filled from rule.category
    again = wafpipe("demo", "--dir", "demo", cwd=tmp_path)
    assert again.returncode == 0 and "0 new events" in again.stdout, again.stdout
    assert f"the store holds {total} events" in again.stdout
    config = str(tmp_path / "demo" / "wafpipe.toml")
    for query in EXAMPLE_QUERIES:
        count = wafpipe("query", "-c", config, query, "--count", cwd=tmp_path)
        assert count.returncode == 0, (query, count.stderr)
        assert int(count.stdout.strip()) > 0, f"the suggested query {query!r} finds nothing in the demo"
