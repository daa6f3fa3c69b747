"""``wafpipe validate`` on broken setups: each fails with the right row and says what to do, and the
guide's test request is found whatever its URL encoding and judged by whether it was blocked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.cli.helpers import wafpipe, write_config
from tests.detect.events import T0, cef_line
from tests.filebuilder import make_file

NOW = (T0 + timedelta(minutes=3)).isoformat()


def line(n: int, query: str = "page=2", act: str = "REQ_PASSED") -> str:
    return cef_line(T0 + timedelta(seconds=n), ua="curl/8.0", query=query, act=act, ip=f"192.0.2.{n + 1}")


def rows(stdout: str) -> dict[str, str]:
    """check name → its line(s) of the table."""
    out: dict[str, str] = {}
    name = ""
    for text in stdout.splitlines():
        cells = text.split("│")
        if len(cells) > 4:
            name = cells[1].strip() or name
            out[name] = out.get(name, "") + text
    return out


def ingest(root: Path, lines: list[str]) -> None:
    write_config(root)
    span = {"startTime": str(int(T0.timestamp() * 1000)), "endTime": str(int(T0.timestamp() * 1000) + 60_000)}
    (root / "incoming" / "1_1.log").write_bytes(make_file(lines, header=span))
    assert wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root).returncode in (0, 1)


@pytest.mark.parametrize(
    ("query", "act", "verdict"),
    [
        ("id=%27%20OR%201=1", "REQ_BLOCKED_SECURITY", "pass"),
        ("id='+OR+1%3D1", "REQ_BLOCKED_SECURITY", "pass"),
        ("id=%27%20or%201%3D1", "REQ_PASSED", "FAIL"),
    ],
)
def test_the_test_request_is_found_in_any_encoding_and_must_be_blocked(tmp_path: Path, query: str, act: str,
                                                                        verdict: str) -> None:  # fmt: skip
    ingest(tmp_path, [line(0), line(1, query, act), line(2)])
    res = wafpipe("validate", "-c", "wafpipe.toml", "--expect-test-event", cwd=tmp_path, env={"WAFPIPE_NOW": NOW})
    row = rows(res.stdout)["test request"]
    assert verdict in row, res.stdout
    assert res.returncode == (0 if verdict == "pass" else 1)
    if verdict == "FAIL":
        assert "not blocked" in row


def test_without_the_test_request_that_row_fails_and_says_how_to_send_it(tmp_path: Path) -> None:
    ingest(tmp_path, [line(0), line(1)])
    res = wafpipe("validate", "-c", "wafpipe.toml", "--expect-test-event", cwd=tmp_path, env={"WAFPIPE_NOW": NOW})
    assert res.returncode == 1
    checks = rows(res.stdout)
    assert "pass" in checks["files arrive"] and "pass" in checks["events searchable"]
    assert "FAIL" in checks["test request"] and "curl" in checks["test request"]


def test_a_quarantined_file_fails_the_health_row_with_its_reason(tmp_path: Path) -> None:
    ingest(tmp_path, [line(0), line(1)])
    (tmp_path / "incoming" / "2_1.log").write_bytes(b"this is not an Imperva log\n" * 10)
    wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    res = wafpipe("validate", "-c", "wafpipe.toml", cwd=tmp_path, env={"WAFPIPE_NOW": NOW})
    assert res.returncode == 1
    health = rows(res.stdout)["collector healthy"]
    assert "FAIL" in health and "quarantined 1" in health


def test_before_anything_was_ingested_it_fails_without_a_traceback(tmp_path: Path) -> None:
    write_config(tmp_path)
    res = wafpipe("validate", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr + res.stdout
    assert "FAIL" in res.stdout and "no store" in res.stdout
