"""What the collector tells its operator (DESIGN §4, issue 18 "Operations"): the start-up line and
one line per file, data escaped in log lines, repeated problems summarised, re-reads called re-reads,
a file waiting for its private key retried when the key appears, and health that stays
``degraded`` while a problem is outstanding."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collector.helpers import distinct_ids, wafpipe, write_config
from tests.collector.test_runtime import (
    DEADLINE_S,
    assert_no_traceback,
    files_by_status,
    running,
    start,
    state_rows,
    stderr_of,
    wait_for,
)
from tests.filebuilder import make_file, make_keys, sample_lines
from wafpipe.collector.logs import escape
from wafpipe.collector.report import LOGGED_PER_KIND, FileTally
from wafpipe.model import Problem


def put(root: Path, name: str, lines: list[str], **kw: Any) -> Path:
    path = root / "incoming" / name
    path.write_bytes(make_file(lines, **kw))
    return path


def run_once(root: Path) -> tuple[int, str]:
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root, timeout=DEADLINE_S)
    assert_no_traceback(res.stderr)
    return res.returncode, res.stderr


def health(root: Path) -> dict[str, Any]:
    """All of ``/api/health``: ``status`` and the one ``problems`` list (the running collector's,
    :meth:`Collector.health`'s), its live status under ``collector``."""
    info = json.loads((root / "data" / "api.json").read_text())
    token = (root / "data" / "api.token").read_text().strip()
    res = httpx.get(f"{info['url']}/api/health", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


# -- log lines -------------------------------------------------------------------------------------


def test_start_line_and_one_line_per_file(tmp_path: Path) -> None:
    write_config(tmp_path)
    put(tmp_path, "1_1.log", sample_lines(10), header={"startTime": "1"})
    put(tmp_path, "1_2.log", sample_lines(7), header={"startTime": "2"})
    rc, err = run_once(tmp_path)
    assert rc == 0, err
    incoming = tmp_path / "incoming"
    start_lines = [line for line in err.splitlines() if "collector started" in line]
    assert len(start_lines) == 1
    assert f"source directory {incoming} (*.log, *.log.gz)" in start_lines[0]
    assert f"sinks duckdb ({tmp_path / 'data' / 'wafpipe.duckdb'})" in start_lines[0]
    assert re.search(r"API http://127\.0\.0\.1:\d+", start_lines[0])
    for name, n in (("1_1.log", 10), ("1_2.log", 7)):
        lines = [line for line in err.splitlines() if f"{incoming / name}:" in line]
        assert len(lines) == 1, err
        assert re.search(rf"INFO .* done {re.escape(str(incoming / name))}: cef, {n} events, 0 problems, \d+\.\d\d s$",
                         lines[0]), lines[0]
    assert err.splitlines()[-1] == "files done 2, failed 0, quarantined 0; events 17; duckdb: stored 17"


def test_escape_makes_control_characters_visible() -> None:
    assert escape("a\nb\r\tc\x1b]52;c;x\x07d\x7f\x9b\u2028e") == "a\\nb\\r\\tc\\x1b]52;c;x\\x07d\\x7f\\x9b\\u2028e"
    assert escape("/srv/incoming/1_1.log") == "/srv/incoming/1_1.log"
    assert escape(3) == "3"


def test_a_file_name_cannot_forge_a_log_line_or_reach_the_terminal(tmp_path: Path) -> None:
    write_config(tmp_path)
    forged = "2026-01-01 00:00:00,000 INFO wafpipe.collector.pipeline: done x.log: cef, 1 events"
    put(tmp_path, f"evil\n{forged}.log", sample_lines(3), header={"startTime": "1"})
    put(tmp_path, "esc\x1b]52;c;ZXZpbA==\x07.log", sample_lines(4), header={"startTime": "2"})
    put(tmp_path, "broken\n.log", sample_lines(3) + ["CEF:0|Incapsula|broken"], header={"startTime": "3"})
    rc, err = run_once(tmp_path)
    assert rc == 1, err  # the broken line is a data problem
    assert not any(line.startswith("2026-01-01 00:00:00,000") for line in err.splitlines()), err
    assert "evil\\n2026-01-01 00:00:00,000 INFO" in err
    assert "\x1b" not in err and "\x07" not in err
    assert "esc\\x1b]52;c;ZXZpbA==\\x07.log" in err
    assert "broken\\n.log:4" in err  # the problem line names the file, escaped
    assert distinct_ids(tmp_path) == (10, 10)


# -- repeated problems -------------------------------------------------------------------------------


def test_repeated_problems_are_logged_a_few_times_then_summarised(tmp_path: Path) -> None:
    write_config(tmp_path)
    bad = put(tmp_path, "1_1.log", sample_lines(10) + ["CEF:0|Incapsula|broken"] * 50, header={"startTime": "1"})
    rc, err = run_once(tmp_path)
    assert rc == 1, err
    warnings = [line for line in err.splitlines() if "WARNING" in line and str(bad) in line]
    assert len(warnings) == LOGGED_PER_KIND + 1, "\n".join(warnings)
    assert f"… and {50 - LOGGED_PER_KIND} more decode problems in {bad}" in err
    assert "problems decode 50" in err.splitlines()[-1]
    assert f"done {bad}: cef, 10 events, 50 problems" in err


def test_a_20000_line_nginx_log_is_not_20000_warnings(tmp_path: Path) -> None:
    write_config(tmp_path)
    line = '203.0.113.5 - - [10/Jun/2024:06:00:00 +0000] "GET /index.html HTTP/1.1" 200 612 "-" "curl/8.5"\n'
    nginx = tmp_path / "incoming" / "access.log"
    nginx.write_text(line * 20_000)
    rc, err = run_once(tmp_path)
    assert rc == 1, err
    mentions = [x for x in err.splitlines() if "access.log" in x]
    assert len(mentions) <= LOGGED_PER_KIND + 2, "\n".join(mentions[:20])
    assert len(err.splitlines()) < 20, err[-3000:]


def test_rejected_documents_are_one_line_per_batch(caplog: pytest.LogCaptureFixture) -> None:
    tally = FileTally("/srv/incoming/1_1.log")
    rejected = [Problem("sink_rejected", "/srv/incoming/1_1.log", f"failed to parse field [source.ip] #{i}",
                        event_id=f"id{i}", sink="elasticsearch") for i in range(500)]
    with caplog.at_level(logging.WARNING, logger="wafpipe"):
        tally.rejected_by("elasticsearch", rejected)
        tally.more()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert "elasticsearch refused 500 document(s)" in lines[0]
    assert tally.problems["sink_rejected"] == 500


# -- re-reads ----------------------------------------------------------------------------------------


def test_a_grown_file_resumes_after_its_last_stored_line(tmp_path: Path) -> None:
    """DESIGN §2: progress is (file identity, last ordinal); a file that grew is read on from there
    (its first 20 lines are not decoded again), and is reported as what it is, not as duplicates."""
    write_config(tmp_path)
    lines = sample_lines(30)
    header = {"startTime": "5"}
    path = put(tmp_path, "5_1.log", lines[:20], header=header, checksum=None)
    rc, err = run_once(tmp_path)
    assert rc == 0, err
    path.write_bytes(make_file(lines, header=header, checksum=None))  # same header: same Imperva file
    rc, err = run_once(tmp_path)
    assert rc == 0, err
    assert f"{path} was read before as 5_1.log: reading on after its line ordinal 20" in err, err
    line = next(x for x in err.splitlines() if f"done {path}:" in x)
    assert "cef, 10 events" in line and "resumed after its line ordinal 20, 10 new events" in line, line
    assert "duplicate" not in err.lower(), err
    assert err.splitlines()[-1].endswith("events 10; duckdb: stored 10")  # none sent again
    assert distinct_ids(tmp_path) == (30, 30)
    # A copy under another name decodes nothing again, adds nothing and says so.
    (tmp_path / "incoming" / "copy.log").write_bytes(path.read_bytes())
    rc, err = run_once(tmp_path)
    assert rc == 0 and "read before as 5_1.log: resumed after its line ordinal 30, 0 new events" in err, err
    assert distinct_ids(tmp_path) == (30, 30)


def test_a_headerless_log_growing_in_place_resumes_but_another_does_not(tmp_path: Path) -> None:
    """A headerless file is known by its first event line: at the same path it is a log that grew
    (read on after its last line); elsewhere, a file that begins with the same line may be another
    file, so it is read whole (the sink keeps the first copy of the lines both have)."""
    write_config(tmp_path)
    lines = sample_lines(30)
    path = put(tmp_path, "grow.log", lines[:20], with_header=False)
    rc, err = run_once(tmp_path)
    assert rc == 0, err
    path.write_bytes(make_file(lines, with_header=False))
    rc, err = run_once(tmp_path)
    assert rc == 0 and "resumed after its line ordinal 20, 10 new events" in err, err
    put(tmp_path, "other.log", [lines[0], *lines[25:29]], with_header=False)
    rc, err = run_once(tmp_path)
    assert rc == 0 and "reading on after" not in err, err
    assert distinct_ids(tmp_path) == (34, 34)  # its first line is the same event as grow.log's


# -- a missing key, then the key --------------------------------------------------------------------


def _encrypted(root: Path, n: int = 25) -> tuple[Path, Path]:
    """An encrypted file for key 7, whose private key waits in ``staging/7`` (not installed)."""
    (root / "keys").mkdir(exist_ok=True)
    pub = make_keys(root / "staging", "7")
    path = put(root, "7_1.log", sample_lines(n), header={"startTime": "7"}, public_key=pub, key_id="7")
    return path, root / "staging" / "7"


def test_once_missing_key_then_the_key_installed_retries_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, extra="")
    put(tmp_path, "1_1.log", sample_lines(10), header={"startTime": "1"})
    enc, key = _encrypted(tmp_path)
    rc, err = run_once(tmp_path)
    assert rc == 1, err
    msg = next(x for x in err.splitlines() if str(enc) in x and "missing_key:" in x)
    assert "publicKeyId 7" in msg and str(tmp_path / "keys" / "7" / "Private.key") in msg
    assert "were kept" not in msg  # no event was decoded: the message must not claim any was kept
    assert files_by_status(tmp_path).get("quarantined") == 1
    copies = [p for p in (tmp_path / "data" / "quarantine").iterdir() if not p.name.endswith(".json")]
    assert len(copies) == 1
    os.rename(key, tmp_path / "keys" / "7")  # install the key; nobody touches the file
    rc, err = run_once(tmp_path)
    assert rc == 0, err
    assert "private key 7 is there now: reading" in err
    assert f"done {enc}: cef, 25 events" in err
    assert distinct_ids(tmp_path) == (35, 35)
    assert files_by_status(tmp_path) == {"done": 2}
    assert not [p for p in (tmp_path / "data" / "quarantine").iterdir()]  # its copy has done its job


def test_watch_retries_a_file_when_its_key_appears_and_health_stays_degraded_until_then(tmp_path: Path) -> None:
    """While the key is missing, ``/api/health`` says degraded with the reason — also after later
    files were ingested fine; when the key is installed the file is read again by itself."""
    write_config(tmp_path)
    put(tmp_path, "1_1.log", sample_lines(10), header={"startTime": "1"})
    enc, key = _encrypted(tmp_path)
    with running(start(tmp_path)) as proc:
        wait_for("the encrypted file quarantined", lambda: files_by_status(tmp_path).get("quarantined") == 1,
                 proc=proc, root=tmp_path)
        wait_for("the API", lambda: (tmp_path / "data" / "api.json").exists(), proc=proc, root=tmp_path)
        h = wait_for("health to name the missing key", lambda: (lambda h: h if any(
            "private key(s) 7" in p for p in h["problems"]) else None)(health(tmp_path)), proc=proc, root=tmp_path)
        assert h["status"] == "degraded"  # type: ignore[index]
        # A later success does not make it "ok".
        put(tmp_path, "1_2.log", sample_lines(5), header={"startTime": "2"})
        wait_for("the second good file", lambda: files_by_status(tmp_path).get("done") == 2, proc=proc, root=tmp_path)
        h = health(tmp_path)
        assert h["status"] == "degraded" and any("private key(s) 7" in p for p in h["problems"]), h
        # Install the key: the file is read again without anyone touching it.
        os.rename(key, tmp_path / "keys" / "7")
        wait_for("the encrypted file done", lambda: files_by_status(tmp_path) == {"done": 3}, proc=proc, root=tmp_path)
        h = health(tmp_path)
        # Resolved. (What may remain is a "stale" gap: the sample files are from 2021.)
        assert not any("private key" in p or "quarantined" in p for p in h["problems"]), h
        assert state_rows(tmp_path, "SELECT next_ordinal FROM files WHERE name='7_1.log'") == [(25,)]
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_S) == 0
    err = stderr_of(tmp_path)
    assert_no_traceback(err)
    assert f"done {enc}: cef, 25 events" in err
    assert distinct_ids(tmp_path) == (40, 40)


def test_health_lists_dead_letters_and_quarantined_files(tmp_path: Path) -> None:
    write_config(tmp_path)
    put(tmp_path, "1_1.log", sample_lines(3) + ["CEF:0|Incapsula|broken"], header={"startTime": "1"})
    corrupt = make_file(sample_lines(300), header={"startTime": "2"})
    (tmp_path / "incoming" / "1_2.log").write_bytes(corrupt[: len(corrupt) // 2])
    with running(start(tmp_path)) as proc:
        wait_for("both files finished", lambda: files_by_status(tmp_path).get("done") == 1
                 and files_by_status(tmp_path).get("quarantined") == 1, proc=proc, root=tmp_path)
        wait_for("the API", lambda: (tmp_path / "data" / "api.json").exists(), proc=proc, root=tmp_path)
        h = health(tmp_path)
        assert h["status"] == "degraded", h
        assert any("dead letter(s) not replayed" in p for p in h["problems"]), h
        assert any("1 file(s) quarantined" in p for p in h["problems"]), h
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE_S) == 0
    assert_no_traceback(stderr_of(tmp_path))


def test_health_lists_a_quarantined_file_exactly_once(tmp_path: Path) -> None:
    """``/api/health`` has one ``problems`` list: the running collector's. The state's view of the
    same quarantined file ("1 file(s) quarantined") is not listed beside it, and the collector's
    part of the answer does not repeat the list."""
    write_config(tmp_path)
    corrupt = make_file(sample_lines(300), header={"startTime": "2"})
    (tmp_path / "incoming" / "1_2.log").write_bytes(corrupt[: len(corrupt) // 2])
    with running(start(tmp_path)) as proc:
        wait_for("the file quarantined", lambda: files_by_status(tmp_path).get("quarantined") == 1,
                 proc=proc, root=tmp_path)
        wait_for("the API", lambda: (tmp_path / "data" / "api.json").exists(), proc=proc, root=tmp_path)
        h = health(tmp_path)
        assert h["status"] == "degraded" and h["files"]["quarantined"] == 1, h
        listed = [p for p in h["problems"] if "quarantined" in p]
        assert listed == [f"1 file(s) quarantined (see {tmp_path / 'data' / 'quarantine'})"], h["problems"]
        assert json.dumps(h).count("file(s) quarantined") == 1, h  # nowhere else in the answer
        assert "problems" not in h["collector"] and "gaps" not in h["collector"], h["collector"]
        assert len(h["problems"]) == len(set(h["problems"])), h["problems"]
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE_S) == 0
    assert_no_traceback(stderr_of(tmp_path))
