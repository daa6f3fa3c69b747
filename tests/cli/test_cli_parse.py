"""``wafpipe parse`` end to end, as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.filebuilder import make_file, sample_lines

GOOD = sample_lines(4)


def wafpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wafpipe.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_clean_files_exit_zero(tmp_path: Path) -> None:
    a = tmp_path / "1_1.log"
    a.write_bytes(make_file(GOOD))
    b = tmp_path / "1_2.log.gz"
    b.write_bytes(make_file(GOOD[:2], gzip_wrap=True, header={"startTime": "9"}))
    res = wafpipe("parse", str(a), str(b))
    assert res.returncode == 0, res.stderr
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(docs) == 6
    assert all(d["event"]["dataset"] == "imperva.waf" and d["_id"] for d in docs)
    assert res.stderr == ""


def test_bad_line_reported_and_dead_lettered_good_lines_still_out(tmp_path: Path) -> None:
    bad = "CEF:0|Incapsula|SIEMintegration|broken"
    f = tmp_path / "7_3.log"
    f.write_bytes(make_file([GOOD[0], bad, GOOD[1]]))
    dl = tmp_path / "dead.ndjson"
    res = wafpipe("parse", str(f), "--dead-letter", str(dl))
    assert res.returncode == 1
    assert len(res.stdout.splitlines()) == 2
    assert f"{f}:2" in res.stderr and "byte offset" in res.stderr and "hint:" in res.stderr
    (rec,) = [json.loads(x) for x in dl.read_text().splitlines()]
    assert rec["raw"] == bad and rec["line"] == 2 and rec["kind"] == "decode" and rec["reason"]


def test_checksum_mismatch_exits_one_but_emits_events(tmp_path: Path) -> None:
    f = tmp_path / "1_1.log"
    f.write_bytes(make_file(GOOD, checksum="a" * 32))
    res = wafpipe("parse", str(f))
    assert res.returncode == 1
    assert len(res.stdout.splitlines()) == 4
    assert "checksum" in res.stderr


def test_missing_file_and_usage_errors(tmp_path: Path) -> None:
    res = wafpipe("parse", str(tmp_path / "nope.log"))
    assert res.returncode == 1 and "no such file" in res.stderr
    res = wafpipe("parse", "--format", "xml", str(tmp_path / "nope.log"))
    assert res.returncode == 2


def test_keys_option_decrypts(tmp_path: Path) -> None:
    from tests.filebuilder import make_keys

    pub = make_keys(tmp_path / "keys", "2")
    f = tmp_path / "1_1.log"
    f.write_bytes(make_file(GOOD, public_key=pub, key_id="2"))
    res = wafpipe("parse", str(f), "--keys", str(tmp_path / "keys"))
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 4
    res = wafpipe("parse", str(f))
    assert res.returncode == 1 and "publicKeyId 2" in res.stderr
