"""Alerts from the collector: the decode workers run the single-event rules on every Batch and the
findings are checkpointed with it, so an alert counts each event once — also across a crash after
the store committed and before the state did (a failpoint, not a timing); findings of one rule and
source join one alert until it is acknowledged; a rule that cannot run stops the start."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.cli.helpers import wafpipe, write_config
from tests.detect.events import T0, cef_line
from tests.filebuilder import make_file

XSS = "Cross-site scripting strings in the query"
TRAVERSAL = "Path traversal in the requested URL"


def line(n: int, ip: str, path: str = "/", query: str = "page=1") -> str:
    return cef_line(T0 + timedelta(seconds=n), ip=ip, path=path, query=query)


def first_file() -> list[str]:
    lines = [line(i, "198.51.100.7", query="q=%3Cscript%3Ealert(1)%3C/script%3E") for i in range(5)]
    lines += [line(10 + i, "203.0.113.9", path="/files/../../etc/passwd") for i in range(4)]
    lines += [line(20 + i, "192.0.2.1") for i in range(3)]
    return lines


def alerts(root: Path, *extra: str) -> list[dict[str, Any]]:
    res = wafpipe("alerts", "list", "-c", "wafpipe.toml", *extra, cwd=root)
    assert res.returncode == 0, res.stderr
    return [json.loads(x) for x in res.stdout.splitlines()]


def summary(root: Path) -> dict[tuple[str, str], int]:
    return {(a["rule"]["title"], a["group"]["source.ip"]): a["count"] for a in alerts(root)}


EXPECTED = {(XSS, "198.51.100.7"): 5, (TRAVERSAL, "203.0.113.9"): 4}


def test_each_event_counts_once_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    write_config(tmp_path, batch_size=4)
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(first_file()))
    assert wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path).returncode == 0
    assert summary(tmp_path) == EXPECTED
    one = next(a for a in alerts(tmp_path) if a["rule"]["title"] == XSS)
    assert len(one["event_ids"]) == 5 and one["first"] < one["last"] and one["rule"]["level"] == "medium"
    assert wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path).returncode == 0
    assert summary(tmp_path) == EXPECTED


def test_a_crash_after_the_store_committed_counts_nothing_twice(tmp_path: Path) -> None:
    write_config(tmp_path, batch_size=4)
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(first_file()))
    crashed = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path,
                      env={"WAFPIPE_FAILPOINT": "sink.duckdb.after_commit:2"})  # fmt: skip
    assert crashed.returncode == 137, crashed.stderr
    assert wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path).returncode == 0
    assert summary(tmp_path) == EXPECTED


def test_findings_join_an_open_alert_and_an_acknowledged_one_stays_closed(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(first_file()))
    wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    more = [line(100 + i, "198.51.100.7", query="q=%3Cscript%3E") for i in range(2)]
    (tmp_path / "incoming" / "1_2.log").write_bytes(make_file(more, header={"configId": "1"}))
    wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert summary(tmp_path)[(XSS, "198.51.100.7")] == 7  # one alert, both files' events
    xss = next(a for a in alerts(tmp_path) if a["rule"]["title"] == XSS)
    acked = wafpipe("alerts", "ack", str(xss["id"]), "-c", "wafpipe.toml", cwd=tmp_path)
    assert acked.returncode == 0 and "acknowledged 1 of 1" in acked.stdout
    assert (XSS, "198.51.100.7") not in summary(tmp_path)
    (tmp_path / "incoming" / "1_3.log").write_bytes(make_file([line(200, "198.51.100.7", query="q=%3Csvg")]))
    wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert summary(tmp_path)[(XSS, "198.51.100.7")] == 1  # a new alert
    assert len([a for a in alerts(tmp_path, "--acknowledged") if a["rule"]["title"] == XSS]) == 2


def test_a_rule_that_cannot_run_stops_the_start_with_its_name(tmp_path: Path) -> None:
    write_config(tmp_path, extra='[detect]\nrules_dir = "rules"\n')
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yml").write_text(
        "title: Cookie thief\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-cookie: x\n"
        "  condition: sel\nlevel: low\n"
    )
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 2
    assert "bad.yml" in res.stderr and "'Cookie thief'" in res.stderr and "cs-cookie" in res.stderr


def test_correlations_run_at_the_end_of_a_run_and_again_without_doubling(tmp_path: Path) -> None:
    write_config(tmp_path)
    scan = [cef_line(T0 + timedelta(seconds=3 * i), ua="gobuster/3.6", path=f"/admin{i}.php", status=404,
                     ip="198.51.100.66") for i in range(50)]  # fmt: skip
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(scan))
    now = {"WAFPIPE_NOW": (T0 + timedelta(minutes=10)).isoformat()}
    scanner = "Scanner: many missing paths from one source"
    for _ in range(2):  # the second run reads no file; the correlation runs again over the same events
        assert wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env=now).returncode == 0
        found = [a for a in alerts(tmp_path) if a["rule"]["title"] == scanner]
        assert len(found) == 1 and found[0]["kind"] == "correlation"
        assert found[0]["group"] == {"source.ip": "198.51.100.66"} and found[0]["count"] == 50
