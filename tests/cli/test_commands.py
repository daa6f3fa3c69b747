"""The command line as a user meets it (issue 18): ``--version``, ``parse DIR``, help texts that cite
nothing outside the clone, ``deadletters list`` newest first, and ``deadletters replay`` while a
collector runs (a message and exit 2, no traceback)."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from tests.cli.helpers import collector, wafpipe, write_config
from tests.filebuilder import make_file, sample_lines
from wafpipe import _native
from wafpipe.cli.app import app
from wafpipe.collector.state.store import State

LINES = sample_lines(6)


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    res = wafpipe("--version", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"wafpipe {version('wafpipe')} (core: {_native.CORE_BUILD})"


def test_parse_a_directory_reads_its_imperva_files(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    d.mkdir()
    (d / "1_1.log").write_bytes(make_file(LINES[:2]))
    (d / "1_2.log.gz").write_bytes(make_file(LINES[2:5], gzip_wrap=True, header={"startTime": "9"}))
    (d / "notes.txt").write_text("not an Imperva file and not a *.log name\n")
    (d / "sub").mkdir()
    (d / "sub" / "1_3.log").write_bytes(make_file(LINES[5:]))  # not recursive
    res = wafpipe("parse", str(d), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(docs) == 5
    assert {d["imperva"]["waf"]["file"]["name"] for d in docs} == {"1_1.log", "1_2.log.gz"}
    assert "no such file" not in res.stderr


def test_parse_an_empty_directory_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    res = wafpipe("parse", str(tmp_path / "empty"), cwd=tmp_path)
    assert res.returncode == 1
    assert "no Imperva files (*.log, *.log.gz)" in res.stderr and "Traceback" not in res.stderr


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    if hasattr(group, "commands"):  # a group (Typer vendors its own click)
        for name, cmd in group.commands.items():
            out += _commands(cmd, (*path, name))
    return out


def test_no_help_text_cites_a_file_outside_the_repository() -> None:
    """Every ``--help`` (the root, each command, each subcommand) names no FORMATS.md, DESIGN
    section or other document a user's clone does not have."""
    runner = CliRunner()
    paths = _commands(typer.main.get_command(app))
    assert ("deadletters", "replay") in paths and ("generate",) in paths
    forbidden = re.compile(r"FORMATS|DESIGN|§|\.md\b|issue \d+", re.IGNORECASE)
    for path in paths:
        res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert res.exit_code == 0, (path, res.output)
        assert not forbidden.search(res.output), (path, forbidden.search(res.output), res.output)


def test_deadletters_list_prints_newest_first(tmp_path: Path) -> None:
    write_config(tmp_path)
    with State(tmp_path / "data") as state:
        for i in range(3):
            state.add_dead_letters([{"kind": "decode", "file": "1_1.log", "line": i + 1, "reason": f"r{i}", "raw": f"x{i}"}])
    res = wafpipe("deadletters", "list", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    listed = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["raw"] for r in listed] == ["x2", "x1", "x0"]
    assert listed[0]["id"] > listed[1]["id"] > listed[2]["id"]
    res = wafpipe("deadletters", "list", "-c", "wafpipe.toml", "--limit", "1", cwd=tmp_path)
    assert [json.loads(line)["raw"] for line in res.stdout.splitlines()] == ["x2"]  # the newest one


def test_replay_while_a_collector_runs_is_done_by_that_collector(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file([LINES[0], "CEF:0|Incapsula|broken", LINES[1]]))
    with collector(tmp_path, done_files=1) as proc:
        res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
        assert proc.poll() is None  # the collector goes on
    # the line still does not decode: the collector says why (exit 1), as the command alone does
    assert res.returncode == 1 and "decode: replayed 0, still failing 1" in res.stdout, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    # Once it has stopped, the same command runs (the line still does not decode: exit 1).
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 1 and "decode: replayed 0, still failing 1" in res.stdout, res.stderr
