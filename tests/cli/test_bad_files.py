"""Files that are not Imperva logs, or hold nothing (DESIGN §7, issue 18): recognised once per file,
not once per line; a binary is not "corrupt compression"; container faults say how many events
were kept."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.cli.helpers import state_rows, wafpipe, write_config
from tests.filebuilder import make_file, make_keys, sample_lines

NGINX_LINES = 20_000


def nginx_log(n: int = NGINX_LINES) -> bytes:
    return b"".join(
        b'203.0.113.%d - - [10/Oct/2024:13:55:%02d +0000] "GET /products/%d?page=2 HTTP/1.1" 200 %d "-" '
        b'"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"\n' % (i % 250, i % 60, i, 1000 + i)
        for i in range(n)
    )


def binary_file() -> bytes:
    rng = random.Random(7)
    return b"\x7fELF\x02\x01\x01\x00" + bytes(rng.getrandbits(8) for _ in range(64 * 1024))


def quarantined(root: Path) -> list[Path]:
    q = root / "data" / "quarantine"
    return sorted(p for p in q.iterdir() if not p.name.endswith(".reason.json")) if q.is_dir() else []


def test_an_nginx_log_is_one_problem_and_one_quarantine_record(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "incoming" / "access.log").write_bytes(nginx_log())
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(sample_lines(3)))  # a good file beside it
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert res.stderr.count("not_imperva") <= 2  # its one warning (and the summary line's counter)
    assert len(res.stderr.splitlines()) < 20, res.stderr[-2000:]
    assert "does not look like an Imperva CEF/LEEF/W3C log" in res.stderr
    assert "web server access log" in res.stderr and "patterns" in res.stderr
    (copy,) = quarantined(tmp_path)
    assert copy.name.endswith("access.log") and copy.stat().st_size == len(nginx_log())
    reason = json.loads(copy.with_name(copy.name + ".reason.json").read_text())["reason"]
    assert "not_imperva" in reason
    (dead,) = state_rows(tmp_path, "SELECT count(*) FROM dead_letters")
    assert dead[0] <= 1  # not 20,000
    statuses = dict(state_rows(tmp_path, "SELECT name, status FROM files"))  # type: ignore[arg-type]
    assert statuses == {"access.log": "quarantined", "1_1.log": "done"}


def test_parse_reports_an_nginx_log_once(tmp_path: Path) -> None:
    f = tmp_path / "access.log"
    f.write_bytes(nginx_log())
    res = wafpipe("parse", str(f), cwd=tmp_path)
    assert res.returncode == 1 and res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert "not_imperva" in line and "first line '203.0.113.0 - - [10/Oct/2024" in line


def test_a_binary_file_is_not_called_corrupt_compression(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "incoming" / "tool.log").write_bytes(binary_file())
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "binary data (first bytes 7f 45 4c 46" in res.stderr
    assert "corrupt" not in res.stderr and "fetch it again" not in res.stderr
    assert len(quarantined(tmp_path)) == 1
    res = wafpipe("parse", str(tmp_path / "incoming" / "tool.log"), cwd=tmp_path)
    assert res.returncode == 1 and "not_imperva" in res.stderr and "corrupt" not in res.stderr


def test_empty_and_separator_only_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "1_1.log").write_bytes(b"")
    (tmp_path / "1_2.log").write_bytes(b"|==|\n")
    (tmp_path / "1_3.log").write_bytes(b"\n\n   \n")
    for name, words in (("1_1.log", "it is empty"), ("1_2.log", "only the '|==|' separator"), ("1_3.log", "only blank lines")):
        res = wafpipe("parse", str(tmp_path / name), cwd=tmp_path)
        assert res.returncode == 1, name
        (line,) = res.stderr.splitlines()
        assert ": empty: the file has no events" in line and words in line, line
    # The collector reports them too (one line each, exit 1) instead of exiting 0 silently.
    write_config(tmp_path)
    for name in ("1_1.log", "1_2.log"):
        (tmp_path / "incoming" / name).write_bytes((tmp_path / name).read_bytes())
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert res.stderr.count("the file has no events") == 2
    assert quarantined(tmp_path) == []


def test_a_header_without_events_is_not_a_problem(tmp_path: Path) -> None:
    f = tmp_path / "1_1.log"
    f.write_bytes(make_file(b""))
    res = wafpipe("parse", str(f), cwd=tmp_path)
    assert res.returncode == 0 and res.stderr == "", res.stderr


def test_container_faults_say_how_many_events_were_kept(tmp_path: Path) -> None:
    pub = make_keys(tmp_path / "other", "9")
    missing = tmp_path / "1_1.log"
    missing.write_bytes(make_file(sample_lines(4), public_key=pub, key_id="9"))
    res = wafpipe("parse", str(missing), "--keys", str(tmp_path / "keys"), cwd=tmp_path)
    assert res.returncode == 1
    assert "no events were decoded before the fault" in res.stderr
    assert "were kept" not in res.stderr

    data = make_file(sample_lines(3000))
    truncated = tmp_path / "1_2.log"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    res = wafpipe("parse", str(truncated), cwd=tmp_path)
    kept = len(res.stdout.splitlines())
    assert res.returncode == 1 and 0 < kept < 3000
    assert f"{kept} event(s) decoded before the fault were kept; the file is partial" in res.stderr
