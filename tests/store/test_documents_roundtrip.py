"""``wafpipe query --format ndjson`` prints the documents ``wafpipe parse`` prints for the same files.

The store keeps typed columns, not documents (store version 2); the read side rebuilds each document
(:mod:`wafpipe.store.documents`). For generated files of every format, with ``--bad-input`` (broken
files after the valid ones, whose surviving lines are stored), every event the collector stored
comes back equal, as a parsed JSON object, to the line ``parse`` wrote for it, and the two hold the
same ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.store.conftest import CONFIG, wafpipe


def documents(ndjson: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in filter(None, ndjson.split("\n")):  # not splitlines: U+2028 and \x85 are data
        doc = json.loads(line)
        assert doc["_id"] not in out, doc["_id"]
        out[doc["_id"]] = doc
    return out


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
def test_query_ndjson_equals_parse(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "wafpipe.toml").write_text(CONFIG)
    (tmp_path / "wafpipe.toml").chmod(0o600)
    res = wafpipe("generate", "--out", "incoming", "--events", "400", "--files", "2", "--format", fmt,
                  "--seed", "13", "--attack-ratio", "0.4", "--bad-input",
                  "--start", "2024-06-10T06:00:00Z", "--end", "2024-06-10T07:00:00Z", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    run = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr  # 1: the broken files are data problems
    # the absolute path, as the collector's directory source names the files (log.file.path)
    parsed = wafpipe("parse", str(tmp_path / "incoming"), cwd=tmp_path)
    assert parsed.returncode in (0, 1) and parsed.stdout, parsed.stderr
    queried = wafpipe("query", "-c", "wafpipe.toml", "--format", "ndjson", "--limit", "100000", cwd=tmp_path)
    assert queried.returncode == 0, queried.stderr
    want, got = documents(parsed.stdout), documents(queried.stdout)
    assert len(want) > 400  # the valid files' events and the survivors of the broken ones
    assert set(got) == set(want)
    different = [i for i in want if got[i] != want[i]]
    assert not different, (len(different), want[different[0]], got[different[0]])
