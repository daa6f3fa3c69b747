"""Dead-letter listing and replay, and the JSON log format."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from tests.collector.helpers import count, wafpipe, write_config
from tests.filebuilder import make_file, sample_lines
from wafpipe.collector.logs import JsonFormatter, setup_logging
from wafpipe.collector.state.store import State


def test_list_and_replay(tmp_path: Path) -> None:
    write_config(tmp_path)
    good = sample_lines(3)
    bad = "CEF:0|Incapsula|SIEMintegration|1|1"
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file([good[0], bad, good[1]]))
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 1
    assert count(tmp_path) == 2
    listed = [json.loads(x) for x in wafpipe("deadletters", "list", "-c", "wafpipe.toml", cwd=tmp_path).stdout.splitlines()]
    assert [r["raw"] for r in listed] == [bad]
    assert listed[0]["line"] == 2 and listed[0]["ordinal"] == 1
    # Nothing decodes the broken line yet: replay reports it as still failing and stores nothing.
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 1 and "still failing 1" in res.stdout
    # A record whose raw line decodes now (as after a decoder fix) is stored with the id it would
    # have had, and is marked replayed.
    with State(tmp_path / "data") as state:
        (rec,) = state.list_dead_letters()
        fixed = dict(rec.record, raw=good[2], reason="test: fixed upstream")
        state.add_dead_letters([fixed], file_key=rec.file_key)
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert "replayed 1" in res.stdout
    assert count(tmp_path) == 3
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert "replayed 0" in res.stdout  # replayed records are not replayed twice
    assert count(tmp_path) == 3


def test_json_logs_are_one_object_per_line() -> None:
    buf = io.StringIO()
    setup_logging("json", "info")
    logger = logging.getLogger("wafpipe.test")
    handler = logging.getLogger("wafpipe").handlers[0]
    assert isinstance(handler.formatter, JsonFormatter)
    handler.setStream(buf)  # type: ignore[attr-defined]
    logger.warning("file %s: %s", "1_1.log", "bad <script>alert(1)</script>")
    rec = json.loads(buf.getvalue().strip())
    assert rec["level"] == "warning" and rec["logger"] == "wafpipe.test"
    assert rec["msg"] == "file 1_1.log: bad <script>alert(1)</script>"
    assert rec["ts"].endswith("Z")
