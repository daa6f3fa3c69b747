"""The data directory is private (issue 18): created 0700, and every file wafpipe creates in it —
the state and its WAL files, the DuckDB store and its WAL, spool segments, quarantine copies and
their reasons, ``api.json``, ``api.token`` — is 0600, whatever the umask it was started with."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

from tests.cli.helpers import collector, wafpipe, write_config
from tests.cli.test_bad_files import nginx_log
from tests.filebuilder import make_file, sample_lines
from wafpipe.collector.state.store import State
from wafpipe.sinks.duckdb.sink import DuckDBSink


def modes(data: Path) -> dict[str, int]:
    """Relative path → permission bits of the data directory and everything in it."""
    out = {".": stat.S_IMODE(data.stat().st_mode)}
    for p in data.rglob("*"):
        out[str(p.relative_to(data))] = stat.S_IMODE(p.lstat().st_mode)
    return out


def assert_private(data: Path) -> dict[str, int]:
    found = modes(data)
    wrong = {
        name: f"{mode:04o}"
        for name, mode in found.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert not wrong, f"not private: {wrong}"
    return found


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_run_leaves_only_private_files_in_the_data_directory(tmp_path: Path) -> None:
    """Store, state, quarantine, spool (a cluster that is down keeps the events in segments), token."""
    write_config(
        tmp_path,
        extra=f'[[sinks]]\ntype = "elasticsearch"\nhosts = ["http://127.0.0.1:{closed_port()}"]\n',
    )
    cfg = tmp_path / "wafpipe.toml"
    cfg.write_text(cfg.read_text().replace("batch_timeout_s = 0.5", "batch_timeout_s = 0.5\ndrain_timeout_s = 0"))
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(sample_lines(20)))
    (tmp_path / "incoming" / "access.log").write_bytes(nginx_log(200))  # quarantined
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, umask=0o022)
    assert res.returncode == 3, res.stderr  # the cluster is down: events left in the spool
    found = assert_private(tmp_path / "data")
    names = set(found)
    assert {"state.sqlite", "wafpipe.duckdb", "api.token", "quarantine", "spool"} <= names
    assert any(n.startswith("quarantine/") and n.endswith("_access.log") for n in names)
    assert any(n.startswith("quarantine/") and n.endswith(".reason.json") for n in names)
    spooled = [n for n in names if n.startswith("spool/") and (tmp_path / "data" / n).is_file()]
    assert spooled and sum((tmp_path / "data" / n).stat().st_size for n in spooled) > 0


def test_files_of_a_running_collector_are_private(tmp_path: Path) -> None:
    """While it runs: SQLite's -wal/-shm, DuckDB's .wal and api.json exist, all 0600."""
    write_config(tmp_path)
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(sample_lines(20)))
    with collector(tmp_path, done_files=1):
        found = assert_private(tmp_path / "data")
    assert {"state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "wafpipe.duckdb", "wafpipe.duckdb.wal",
            "api.json", "api.token"} <= set(found), sorted(found)


def test_the_library_makes_state_and_store_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        data = tmp_path / "data"
        with State(data) as state:
            state.add_dead_letters([{"kind": "decode", "file": "x", "raw": "y"}])
            state.quarantine(__file__, "test", name="copy.log")
        store = DuckDBSink(data / "wafpipe.duckdb")
        store.open()
        store.close()
    finally:
        os.umask(old)
    found = assert_private(data)
    assert {"state.sqlite", "wafpipe.duckdb", "quarantine"} <= set(found)


def test_an_existing_state_file_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with State(data):
        pass
    os.chmod(data / "state.sqlite", 0o644)
    with State(data):
        pass
    assert stat.S_IMODE((data / "state.sqlite").stat().st_mode) == 0o600
