"""``wafpipe doctor`` names the cause of each situation, created for real: a path that does not
exist, a pattern that matches nothing (and the one that would), a file wafpipe may not read (the
test drops root's capability to read anything), a file that is not Imperva's, a line that does not
decode, a clock behind the events, and a cluster sink that does not answer."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cli.helpers import broken, wafpipe, write_config
from tests.detect.events import T0, cef_line
from tests.filebuilder import make_file, sample_lines


def doctor(root: Path, env: dict[str, str] | None = None, prefix: list[str] | None = None) -> tuple[int, str]:
    """Exit code, and every finding as ``where | ok | finding | fix`` lines."""
    args = ["doctor", "-c", "wafpipe.toml", "--format", "ndjson"]
    if prefix:
        res = subprocess.run([*prefix, sys.executable, "-m", "wafpipe.cli", *args], cwd=root, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    else:
        res = wafpipe(*args, cwd=root, env=env)
    assert "Traceback" not in res.stderr, res.stderr
    found = [json.loads(x) for x in res.stdout.splitlines()]
    return res.returncode, "\n".join(f"{d['name']} | {d['ok']} | {d['evidence']} | {d['fix']}" for d in found)



def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    write_config(tmp_path)
    shutil.rmtree(tmp_path / "incoming")
    code, out = doctor(tmp_path)
    assert code == 1 and "incoming does not exist" in out


def test_a_pattern_that_matches_nothing_and_the_one_that_would(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "incoming" / "1_1.txt").write_bytes(make_file(sample_lines(2)))
    code, out = doctor(tmp_path)
    text = out
    assert code == 1 and "none matching patterns" in text and "1_1.txt" in text and "'*.txt'" in text


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) drops the capability")
def test_a_file_wafpipe_may_not_read_is_named_with_its_fix(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(sample_lines(2)))
    (tmp_path / "incoming" / "1_1.log").chmod(0)
    drop = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search",
            "--"]  # fmt: skip
    code, out = doctor(tmp_path, prefix=drop)
    text = out
    assert code == 1 and "permission denied" in text and "mode 0000" in text and "chmod u+r" in text


def test_what_was_read_badly_is_explained(tmp_path: Path) -> None:
    write_config(tmp_path)
    good = [cef_line(T0 + timedelta(seconds=i)) for i in range(3)]
    times = {"startTime": str(int(T0.timestamp() * 1000)), "endTime": str(int(T0.timestamp() * 1000) + 3000)}
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file([good[0], broken(good[1]), good[2]], header=times))
    (tmp_path / "incoming" / "2_1.log").write_bytes(b"this is an nginx access log, not Imperva's\n" * 5)
    wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    code, out = doctor(tmp_path, env={"WAFPIPE_NOW": (T0 - timedelta(hours=1)).isoformat()})
    text = out
    assert code == 1
    assert "2_1.log: quarantined" in text and "narrow the source's patterns" in text
    assert "1 line(s):" in text and "1_1.log:2" in text and "CEF:0|Incapsula|SIEMintegration|1|1|BROKEN" in text
    # the events and the header's times are an hour ahead of the clock set here
    assert "the newest event (" in text and "the newest file header's endTime (" in text
    assert text.count("60 min ahead of this clock") == 2


def test_a_cluster_sink_that_does_not_answer(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_config(tmp_path, extra=f'[[sinks]]\ntype = "opensearch"\nhosts = ["http://127.0.0.1:{port}"]\n')
    code, out = doctor(tmp_path)
    text = out
    assert code == 1 and "sink opensearch" in text and "unreachable" in text
