"""``wafpipe detect``: a SigmaHQ-format rule dropped into the rules directory is loaded and fires, an
unsupported one is refused naming the file, the rule and the construct, and the same findings come
back through a running collector's API as from the store read directly."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from tests.cli.helpers import collector, wafpipe, write_config
from tests.detect.events import T0, cef_line
from tests.filebuilder import make_file

NOW = (T0 + timedelta(minutes=5)).isoformat()
# SigmaHQ's format as their repository has it (webserver taxonomy, a list of values, |contains)
SIGMAHQ_RULE = """\
title: Suspicious Keyword In Query (local)
id: 2b3c4d5e-6f70-4a81-9b2c-3d4e5f607182
status: test
description: A rule written the way SigmaHQ writes them.
references:
    - https://github.com/SigmaHQ/sigma
author: a user
date: 2026-01-01
tags:
    - attack.initial-access
logsource:
    category: webserver
detection:
    selection:
        cs-uri-query|contains:
            - 'debug=true'
            - 'verbose=1'
        cs-method: 'GET'
    condition: selection
falsepositives:
    - Developers testing
level: medium
"""


def line(n: int, query: str) -> str:
    return cef_line(T0 + timedelta(seconds=n), ua="curl/8.0", path="/app", query=query, ip=f"192.0.2.{n + 1}")


def setup(root: Path) -> None:
    write_config(root, extra='[detect]\nrules_dir = "rules"\n')
    (root / "rules").mkdir()
    (root / "rules" / "local.yml").write_text(SIGMAHQ_RULE)
    span = {"startTime": str(int(T0.timestamp() * 1000)), "endTime": str(int(T0.timestamp() * 1000) + 60_000)}
    (root / "incoming" / "1_1.log").write_bytes(make_file([line(0, "page=1"), line(1, "x=1&DEBUG=TRUE")], header=span))


def findings(root: Path) -> list[dict[str, object]]:
    res = wafpipe("detect", "-c", "wafpipe.toml", "--since", T0.isoformat(), "--format", "ndjson", cwd=root,
                  env={"WAFPIPE_NOW": NOW})  # fmt: skip
    assert res.returncode == 0, res.stderr
    return [json.loads(x) for x in res.stdout.splitlines()]


def test_a_dropped_sigmahq_rule_loads_and_fires_locally_and_through_the_collector(tmp_path: Path) -> None:
    setup(tmp_path)
    listed = wafpipe("detect", "-c", "wafpipe.toml", "--list", cwd=tmp_path)
    assert listed.returncode == 0 and "Suspicious Keyword In Query (local)" in listed.stdout
    assert "Path traversal in the requested URL" in listed.stdout  # the shipped ones beside it
    assert wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path).returncode == 0
    everything = findings(tmp_path)
    local = [f for f in everything if f["rule"]["title"] == "Suspicious Keyword In Query (local)"]  # type: ignore[index]
    assert len(local) == 1
    assert local[0]["group"] == {"source.ip": "192.0.2.2"} and local[0]["count"] == 1
    with collector(tmp_path, done_files=1):  # now the store is the collector's: read through its API
        assert findings(tmp_path) == everything


def test_an_unsupported_rule_is_refused_naming_file_rule_and_construct(tmp_path: Path) -> None:
    setup(tmp_path)
    (tmp_path / "rules" / "windows.yml").write_text(
        "title: Process Creation\nlogsource:\n  category: process_creation\n  product: windows\n"
        "detection:\n  sel:\n    Image|endswith: '\\\\cmd.exe'\n  condition: sel\nlevel: low\n"
    )
    res = wafpipe("detect", "-c", "wafpipe.toml", "--list", cwd=tmp_path)
    assert res.returncode == 2
    assert "windows.yml" in res.stderr and "'Process Creation'" in res.stderr and "not web traffic" in res.stderr
    assert "Traceback" not in res.stderr
