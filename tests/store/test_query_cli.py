"""``wafpipe query``: without a collector (read-only open) and through a running one, the 80-column
table, control characters escaped in every format, streamed NDJSON/CSV, usage errors."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rich.cells import cell_len

from tests.filebuilder import make_file, sample_lines
from tests.store.conftest import HOSTILE_UA, Built, build, wafpipe
from wafpipe.cli.output import json_line, safe
from wafpipe.store.client import API_FILE, TOKEN_FILE

RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


def query(built: Built, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return wafpipe("query", "-c", "wafpipe.toml", *args, cwd=built.root, env={"COLUMNS": "80", **(env or {})})


def test_count_and_top_without_a_collector(built: Built) -> None:
    res = query(built, "--count")
    assert res.returncode == 0 and res.stdout.strip() == str(built.total), res.stderr
    res = query(built, "--count", "--since", "2024-06-10T06:00:00Z", "--until", "2024-06-10T07:00:00Z")
    assert res.stdout.strip() == str(built.total - 1)
    res = query(built, "--top", "source.geo.country_iso_code", "--limit", "3", "--format", "ndjson")
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 3 and rows[0]["count"] >= rows[-1]["count"]


def test_top_by_counts_pairs_in_every_format(built: Built) -> None:
    args = ("--top", "rule.category", "--by", "event.outcome", "--limit", "1000", "imperva.waf.security_event:true")
    res = query(built, *args, "--format", "ndjson")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and set(rows[0]) == {"value", "by", "count"}
    assert rows == sorted(rows, key=lambda r: (-r["count"], r["value"], r["by"]))
    total = query(built, "--count", "imperva.waf.security_event:true and rule.category:* and event.outcome:*")
    assert sum(r["count"] for r in rows) == int(total.stdout)
    res = query(built, *args, "--format", "csv")
    assert list(csv.reader(io.StringIO(res.stdout))) == [["rule.category", "event.outcome", "count"]] + [
        [r["value"], r["by"], str(r["count"])] for r in rows]
    res = query(built, *args)
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["rule.category", "event.outcome", "count"]
    assert lines[2].split()[-1] == str(rows[0]["count"])


def test_since_and_until_take_a_duration_before_now(built: Built) -> None:
    now = {"WAFPIPE_NOW": "2024-06-10T07:00:00Z"}
    half = query(built, "--count", "--since", "2024-06-10T06:30:00Z").stdout
    assert query(built, "--count", "--since", "30m", env=now).stdout == half
    assert query(built, "--count", "--since", "24h", env=now).stdout.strip() == str(built.total - 1)
    assert query(built, "--count", "--since", "7d", "--until", "30m", env=now).stdout.strip() == str(
        built.total - 1 - int(half))
    res = query(built, "--top", "source.ip", "--since", "24h", "--format", "ndjson", env=now)
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 20, res.stderr
    assert res.stdout == query(built, "--top", "source.ip", "--since", "2024-06-10T06:00:00Z", "--format", "ndjson").stdout


def test_histogram_counts_every_match_once_in_every_format(built: Built) -> None:
    res = query(built, "--histogram", "--interval", "10m", "--since", "2024-06-10T06:00:00Z",
                "--until", "2024-06-10T07:00:00Z", "--format", "ndjson")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["time"][11:16] for r in rows] == ["06:00", "06:10", "06:20", "06:30", "06:40", "06:50"]
    assert sum(r["count"] for r in rows) == built.total - 1  # the one event outside the hour is not counted
    attacks = query(built, "--histogram", "--format", "csv", "imperva.waf.security_event:true")
    table = list(csv.reader(io.StringIO(attacks.stdout)))
    assert table[0] == ["time", "count"]
    total = query(built, "--count", "imperva.waf.security_event:true").stdout.strip()
    assert sum(int(n) for _, n in table[1:]) == int(total)
    res = query(built, "--histogram", "--interval", "10m", "--since", "2024-06-10T06:00:00Z",
                "--until", "2024-06-10T07:00:00Z")
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["time", "(UTC)", "count", "per", "10m"]
    assert len(lines) == 7 and all(cell_len(line) <= 80 for line in lines) and "█" in res.stdout
    widest = max(rows, key=lambda r: r["count"])
    [line] = [line for line in lines if line.startswith(widest["time"][:10] + " " + widest["time"][11:19])]
    assert line.endswith(f"{widest['count']}  " + "█" * (80 - 19 - 5 - 4))  # the largest count fills the width


def test_table_fits_80_columns_and_cuts_long_values_with_an_ellipsis(built: Built) -> None:
    res = query(built, "--limit", "50")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["time", "(UTC)", "source.ip"]
    assert len(lines) == 51 and all(cell_len(line) <= 80 for line in lines), res.stdout
    res = query(built, "--limit", "20", "--fields", "@timestamp,user_agent.original,url.full")
    lines = res.stdout.splitlines()
    assert all(cell_len(line) <= 80 for line in lines) and any("…" in line for line in lines[1:])
    assert lines[0].split() == ["@timestamp", "user_agent.original", "url.full"]


def test_control_characters_never_reach_the_terminal(built: Built) -> None:
    expr = "url.path:*red*"
    table = query(built, expr, "--fields", "user_agent.original,url.path", env={"COLUMNS": "200"})
    csv_out = query(built, expr, "--format", "csv", "--fields", "user_agent.original,url.path")
    ndjson = query(built, expr, "--format", "ndjson")
    for res in (table, csv_out, ndjson):
        assert res.returncode == 0, res.stderr
        assert not any(c in res.stdout for c in RAW_CONTROLS), repr(res.stdout)
    assert "\\x1b]52;c;SGVsbG8=\\x07agent\\x1b[2J\\x0dX\\u202eZ" in table.stdout
    assert "/x\\x9b31mred" in table.stdout
    [row] = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert row["user_agent.original"] == safe(HOSTILE_UA)
    [doc] = [json.loads(line) for line in ndjson.stdout.splitlines()]
    assert doc["user_agent"]["original"] == HOSTILE_UA  # escaped as JSON, the value intact


def test_json_line_escapes_what_orjson_leaves_raw() -> None:
    line = json_line({"a": "\x1b[1m\x7f\x85\u2028\u202e"})
    assert line == '{"a":"\\u001b[1m\\u007f\\u0085\\u2028\\u202e"}'
    assert json.loads(line) == {"a": "\x1b[1m\x7f\x85\u2028\u202e"}


def test_ndjson_and_csv_stream_past_one_page(built: Built) -> None:
    res = query(built, "--format", "ndjson", "--limit", "1100", "--fields", "_id")
    ids = [json.loads(line)["_id"] for line in res.stdout.splitlines()]
    assert len(ids) == len(set(ids)) == 1100
    res = query(built, "--format", "csv", "--limit", "5000")
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert len(rows) == built.total + 1 and rows[0][0] == "@timestamp"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--limit", "-1"), "--limit must be from 1 to 10000"),
        (("--limit", "0"), "--limit must be from 1 to 10000"),
        (("--limit", str(2**64)), "--limit must be from 1 to 10000"),
        (("--limit", "100000000", "--format", "ndjson"), "--limit must be from 1 to 10000000"),
        (("--top", "status", "--limit", "5000"), "from 1 to 1000 with --top"),
        (("--format", "xml"), "--format must be one of"),
        (("--fields", "nope"), "unknown field 'nope'"),
        (("--since", "yesterday", "--count"), "ISO 8601"),
        (("--since", "5 parsecs", "--count"), "duration before now such as 15m, 24h or 7d"),
        (("--by", "event.outcome"), "--by goes with --top"),
        (("--interval", "1h"), "--interval goes with --histogram"),
        (("--histogram", "--count"), "choose one of --count, --top and --histogram"),
        (("--histogram", "--interval", "7 fortnights"), "interval"),
        (("--top", "source.ip", "--by", "nope"), "unknown field 'nope' for by"),
        (("status:",), "^"),
    ],
)
def test_usage_errors_exit_2_with_a_message(built: Built, args: tuple[str, ...], words: str) -> None:
    res = query(built, *args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert words in res.stderr and "Traceback" not in res.stderr


def test_query_through_a_running_collector(tmp_path: Path) -> None:
    """``wafpipe run`` (watch mode) owns the store: ``query`` goes through its API, bad limits are
    refused without harm, ingest goes on, and SIGINT stops it cleanly."""
    built = build(tmp_path, events=300)
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "data" / API_FILE).exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)  # polling an observable state, with a deadline
        info = json.loads((tmp_path / "data" / API_FILE).read_text())
        assert info["pid"] == proc.pid
        res = query(built, "--count")
        assert res.returncode == 0 and res.stdout.strip() == str(built.total), res.stderr
        res = query(built, "--limit", "3", "--format", "ndjson", "imperva.waf.security_event:true")
        assert res.returncode == 0 and len(res.stdout.splitlines()) == 3
        assert query(built, "--limit", "-1").returncode == 2
        token = (tmp_path / "data" / TOKEN_FILE).read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        for limit in ("-1", "0", str(2**64), "100000000"):
            r = httpx.get(f"{info['url']}/api/search", params={"limit": limit}, headers=headers, timeout=60)
            assert r.status_code == 400 and "from 1 to 10000" in r.json()["error"]
        # ingest goes on after the refused reads
        (tmp_path / "incoming" / "998_1.log").write_bytes(make_file(sample_lines(7), header={"configId": "998"}))
        got = -1
        while time.monotonic() < deadline and got != built.total + 7:
            res = query(built, "--count")
            got = int(res.stdout) if res.returncode == 0 else -1
        assert got == built.total + 7
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not (tmp_path / "data" / API_FILE).exists()
    res = query(built, "--count")  # no collector: the store is opened read-only
    assert res.returncode == 0 and res.stdout.strip() == str(built.total + 7)
