"""``wafpipe report compliance`` over a real collection: generated files of one log configuration
with a known hole of 1 h 40 min between them, and a file that is not Imperva's (quarantined, its
first line an HTML payload that the reason quotes). The report names both with their times in
JSON, Markdown and HTML; the HTML, opened in Debian's Chromium, asks for nothing but itself and
shows the payload as text. A collection without a hole is "complete" and exits 0; retention's
deletions appear with their counts.

"Now" is fixed with ``WAFPIPE_NOW`` wherever it matters (staleness, retention); the times a file
was seen are the real clock's, so the period always runs to today.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser import WAIT_MS
from tests.cli.helpers import collector, state_rows, wafpipe, write_config
from wafpipe.tools.generate import generate_files

START = datetime(2026, 11, 30, 6, tzinfo=UTC)
NOW = (START + timedelta(hours=2, minutes=30)).isoformat()  # 10 min after the last file: nothing stale
PAYLOAD = "<script>alert(1)</script>"
ARCHIVE = '[[sinks]]\ntype = "archive"\npath = "archive"\n'


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _period() -> tuple[str, str]:
    """From the files' day to today (the real clock stamps when a file was seen)."""
    today = datetime.now(UTC).date()
    return min(START.date(), today).isoformat(), max(START.date(), today).isoformat()


def _collect(root: Path, *, hole: bool, bad: bool, extra: str = ARCHIVE, now: str = NOW) -> None:
    write_config(root, extra=extra)
    (root / "wafpipe.toml").chmod(0o600)
    early = generate_files(root / "gen" / "early", events=40, files=2, start=START,
                           end=START + timedelta(minutes=20), seed=11)  # fmt: skip
    later = START + (timedelta(hours=2) if hole else timedelta(minutes=20))
    late = generate_files(root / "gen" / "late", events=40, files=2, start=later, end=later + timedelta(minutes=20),
                          seed=11)  # fmt: skip
    for path in early:
        shutil.copy(path, root / "incoming" / path.name)
    for path in late:  # the same configId and names: another delivery of the configuration
        shutil.copy(path, root / "incoming" / f"9{path.name}")
    if bad:
        (root / "incoming" / "55_1.log").write_text(f"{PAYLOAD} is not an Imperva line\n" * 3)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root, env={"WAFPIPE_NOW": now})
    assert res.returncode == (1 if bad else 0), res.stderr


def report(root: Path, fmt: str, *extra: str, now: str = NOW, period: tuple[str, str] | None = None) -> tuple[int, str]:
    lo, hi = period or _period()
    res = wafpipe("report", "compliance", "-c", "wafpipe.toml", "--from", lo, "--to", hi, "--format", fmt, *extra,
                  cwd=root, env={"WAFPIPE_NOW": now})  # fmt: skip
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, res.stdout


@pytest.fixture(scope="module")
def holed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    _collect(root, hole=True, bad=True)
    return root


@pytest.fixture(scope="module")
def facts(holed: Path) -> dict[str, Any]:
    code, out = report(holed, "json")
    assert code == 1  # written, and incomplete: scripts can alert
    return json.loads(out)


def _hole(root: Path) -> tuple[str, str]:
    """The hole as the state's own header times give it: the early files' last endTime to the late
    files' first startTime."""
    rows = state_rows(root, "SELECT name, start_ms, end_ms FROM file_times ORDER BY start_ms")
    early = [r for r in rows if not str(r[0]).startswith("9")]
    late = [r for r in rows if str(r[0]).startswith("9")]
    assert len(early) == 2 and len(late) == 2, rows
    return _iso(max(int(r[2]) for r in early)), _iso(min(int(r[1]) for r in late))


def test_json_names_the_gap_and_the_quarantined_file_with_their_times(holed: Path, facts: dict[str, Any]) -> None:
    gap_start, gap_end = _hole(holed)
    cov = facts["coverage"]
    (config,) = cov["configurations"]
    assert config["files"] == 4 == cov["files"]
    holes = [g for g in cov["gaps"] if g["kind"] == "time_hole"]
    assert [(g["start"], g["end"], g["scope"]) for g in holes] == [(gap_start, gap_end, config["config_id"])]
    assert not [g for g in cov["gaps"] if g["kind"] == "stale"]
    (quarantined,) = cov["quarantined"]
    assert quarantined["name"] == "55_1.log" and "not_imperva" in quarantined["reason"]
    assert PAYLOAD in quarantined["reason"]
    seen = state_rows(holed, "SELECT first_seen FROM files WHERE name='55_1.log'")[0][0]
    assert datetime.fromisoformat(quarantined["seen_at"].replace("Z", "+00:00")).timestamp() == pytest.approx(seen, abs=0.001)
    assert facts["complete"] is False
    assert any(gap_start in m and gap_end in m for m in facts["missing"])
    assert any("55_1.log" in m for m in facts["missing"])


def test_every_number_is_the_stores_and_the_states(holed: Path, facts: dict[str, Any]) -> None:
    q = wafpipe("query", "-c", "wafpipe.toml", "--count", "imperva.waf.security_event:true", cwd=holed)
    assert facts["security"]["events"] == 80
    assert facts["security"]["security_events"] == int(q.stdout.strip()) > 0
    assert sum(v["count"] for v in facts["security"]["by_category_and_action"]) == int(q.stdout.strip())
    (delay,) = facts["delays"]
    seen = state_rows(holed, "SELECT seen_at - end_ms / 1000.0 FROM file_times")
    assert delay["files"] == 4 and delay["stored_files"] == 4
    assert delay["seen"]["max_s"] == pytest.approx(max(r[0] for r in seen), abs=0.002)
    (archive,) = facts["archive"]["sinks"]
    assert archive["intact"] and archive["events"] == 80 and len(archive["last_hash"]) == 64
    assert facts["redaction"]["statement"] == "no redaction configured: the stores hold the data as Imperva sent it"
    datasets = {d["dataset"]: d for d in facts["retention"]["datasets"]}
    assert datasets["security"]["store_days"] is None and datasets["security"]["oldest_event"] >= "2026-11-30T06"
    assert facts["retention"]["deletions"] == []
    assert {r["section"] for r in facts["requirements"]} >= {"Coverage", "Retention", "Archive"}


def test_markdown_and_html_hold_them_escaped(holed: Path) -> None:
    gap_start, gap_end = _hole(holed)
    for fmt in ("md", "html"):
        code, text = report(holed, fmt)
        assert code == 1
        assert gap_start in text and gap_end in text and "55_1.log" in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and PAYLOAD not in text
        assert "no redaction configured: the stores hold the data as Imperva sent it" in text
        assert "incomplete" in text


def test_the_html_is_one_file_that_fetches_nothing(holed: Path, browser: Any) -> None:
    out = holed / "report.html"
    code, _ = report(holed, "html", "-o", str(out))
    assert code == 1 and out.is_file()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    requests: list[str] = []
    dialogs: list[str] = []
    context.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(out.as_uri(), wait_until="load")
        assert requests == [out.as_uri()]
        assert dialogs == [] and page.evaluate("document.scripts.length") == 0
        reason = page.locator("#quarantined td").nth(5).inner_text()
        assert PAYLOAD in reason  # the payload is text on the page, not an element
        assert page.locator("svg").count() >= 1 and "incomplete" in page.locator("#status").inner_text()
        # the recording sees a request when there is one: the same page with a stylesheet elsewhere
        leaky = holed / "leaky.html"
        leaky.write_text(out.read_text().replace('<meta http-equiv="Content-Security-Policy"',
                                                 '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><meta name="x"'))
        page.goto(leaky.as_uri(), wait_until="load")
        assert "http://127.0.0.1:9/x.css" in requests
    finally:
        context.close()


def test_a_collection_without_holes_is_complete_and_exits_0(tmp_path: Path) -> None:
    now = (START + timedelta(minutes=50)).isoformat()  # 10 min after the last file
    _collect(tmp_path, hole=False, bad=False, now=now)
    out = tmp_path / "r.json"
    code, _ = report(tmp_path, "json", "-o", str(out), now=now)
    facts = json.loads(out.read_text())
    assert (code, facts["complete"], facts["missing"]) == (0, True, [])
    assert facts["coverage"]["gaps"] == [] and facts["coverage"]["quarantined"] == []
    code, md = report(tmp_path, "md", now=now)
    assert code == 0 and "**Status: complete**" in md


def test_with_a_collector_running_the_report_reads_through_its_api(tmp_path: Path) -> None:
    """The store is the running collector's own: the events come through its API, and the report
    says the deletion history cannot be read rather than showing none."""
    now = (START + timedelta(minutes=50)).isoformat()
    _collect(tmp_path, hole=False, bad=False, now=now)
    with collector(tmp_path, done_files=4):
        code, out = report(tmp_path, "json", now=now)
    facts = json.loads(out)
    assert facts["security"]["events"] == 80 and facts["coverage"]["files"] == 4
    assert facts["retention"]["deletions"] is None and "running collector" in facts["unavailable"]["prunes"]
    assert code == 0 and facts["complete"]


def test_retention_deletions_are_listed_with_their_counts(tmp_path: Path) -> None:
    later = "2027-01-15T00:00:00Z"  # 46 days on: access events (30 days) go, security events (400) stay
    extra = '[[sinks]]\ntype = "duckdb"\nretention_days = {security = 400, access = 30}\n'
    write_config(tmp_path)
    # the helper's config has its own duckdb table: give it the retention instead of adding a second one
    cfg = tmp_path / "wafpipe.toml"
    cfg.write_text(cfg.read_text().replace('[[sinks]]\ntype = "duckdb"\n', extra))
    cfg.chmod(0o600)
    generate_files(tmp_path / "incoming", events=50, files=1, start=START, end=START + timedelta(minutes=10), seed=5)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env={"WAFPIPE_NOW": later})
    assert res.returncode == 0, res.stderr
    kept = int(wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=tmp_path).stdout.strip())
    code, out = report(tmp_path, "json", now=later, period=(START.date().isoformat(), date(2027, 1, 15).isoformat()))
    facts = json.loads(out)
    datasets = {d["dataset"]: d for d in facts["retention"]["datasets"]}
    assert (datasets["security"]["store_days"], datasets["access"]["store_days"]) == (400, 30)
    assert datasets["access"]["oldest_event"] is None and datasets["security"]["oldest_event"] is not None
    deleted = {d["dataset"]: d for d in facts["retention"]["deletions"]}
    assert deleted["access"]["deleted"] == 50 - kept > 0 and deleted["access"]["pruned_at"] == "2027-01-15T00:00:00Z"
    assert deleted["security"]["deleted"] == 0
    assert code == 1  # the configuration has been silent for weeks at that "now": stale


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "wafpipe.toml").chmod(0o600)
    assert report(tmp_path, "pdf")[0] == 2
    assert report(tmp_path, "json", period=("2026-12-02", "2026-12-01"))[0] == 2
    assert report(tmp_path, "json", period=("yesterday", "2026-12-01"))[0] == 2
