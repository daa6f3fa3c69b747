"""``wafpipe store migrate`` on the command line, and the collector refusing a version-1 store.

The version-1 store is the fixture of ``tests/store/test_migrate.py`` (which checks what the
migration writes); these tests check the command: where it finds the store, what it says, its exit
codes (DESIGN §4) and its progress lines when stderr is not a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.cli.helpers import wafpipe
from tests.store.test_migrate import MANIFEST, build_v1_state, build_v1_store, fixture_rows
from wafpipe.store.schema import stored_version

CONFIG = """
data_dir = "data"
[[sources]]
type = "directory"
path = "incoming"
[[sinks]]
type = "duckdb"
[api]
port = 0
"""


def _root(tmp_path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    (tmp_path / "incoming").mkdir()
    (tmp_path / "wafpipe.toml").write_text(CONFIG)
    (tmp_path / "wafpipe.toml").chmod(0o600)
    build_v1_state(tmp_path / "data")
    build_v1_store(tmp_path / "data" / "wafpipe.duckdb", rows)
    return tmp_path


def _version(store: Path) -> int | None:
    with duckdb.connect(str(store), read_only=True) as con:
        return stored_version(con)


def test_the_collector_refuses_a_version_1_store_and_names_the_command(tmp_path: Path) -> None:
    root = _root(tmp_path, fixture_rows()[:20])
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root)
    assert res.returncode == 2, res.stderr  # the store cannot be used as it is: nothing was read
    assert "version 1 store" in res.stderr and "wafpipe store migrate" in res.stderr
    assert "Traceback" not in res.stderr
    res = wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=root)
    assert res.returncode == 2 and "wafpipe store migrate" in res.stderr, res.stderr
    assert _version(root / "data" / "wafpipe.duckdb") == 1


def test_migrate_finds_the_store_and_state_through_the_configuration(tmp_path: Path) -> None:
    root = _root(tmp_path)
    store = root / "data" / "wafpipe.duckdb"
    res = wafpipe("store", "migrate", "-c", "wafpipe.toml", cwd=root)
    assert res.returncode == 0, res.stderr
    rows = MANIFEST["rows"]
    assert f"migrating events: 0% (0 of {rows})" in res.stderr  # plain lines: stderr is not a terminal
    assert f"migrating events: 100% ({rows} of {rows})" in res.stderr
    assert f"migrated {rows} of {rows} events" in res.stderr and f"{store}.v1.bak" in res.stderr
    assert _version(store) == 2 and _version(Path(f"{store}.v1.bak")) == 1
    assert (store.stat().st_mode & 0o077) == 0  # private, like the rest of the data directory
    again = wafpipe("store", "migrate", "-c", "wafpipe.toml", cwd=root)
    assert again.returncode == 0
    assert "already version 2, nothing to do" in again.stderr
    res = wafpipe("query", "-c", "wafpipe.toml", "--count", "*", cwd=root)
    assert res.returncode == 0 and res.stdout.strip() == str(rows), res.stderr


def test_migrate_with_lines_that_fail_exits_1_and_names_the_problems_file(tmp_path: Path) -> None:
    rows = fixture_rows()[:30]
    broken = json.loads(rows[0]["doc"])
    broken["event"]["original"] = "not an Imperva line"
    root = _root(tmp_path, [*rows, {"id": "broken", "doc": json.dumps(broken)}])
    store = root / "data" / "wafpipe.duckdb"
    res = wafpipe("store", "migrate", "--store", str(store), cwd=root)
    assert res.returncode == 1, res.stderr
    assert f"{store}.migrate-problems.ndjson" in res.stderr and "1 event(s) could not be migrated" in res.stderr
    assert _version(store) == 2


def test_migrate_usage_errors_exit_2(tmp_path: Path) -> None:
    res = wafpipe("store", "migrate", "--store", str(tmp_path / "nothing.duckdb"), cwd=tmp_path)
    assert res.returncode == 2 and "no store at" in res.stderr
    root = _root(tmp_path, fixture_rows()[:5])
    Path(f"{root / 'data' / 'wafpipe.duckdb'}.v1.bak").write_bytes(b"x")
    res = wafpipe("store", "migrate", "-c", "wafpipe.toml", cwd=root)
    assert res.returncode == 2 and "v1.bak exists" in res.stderr
    assert "Traceback" not in res.stderr
    res = wafpipe("store", cwd=root)
    assert "migrate" in res.stdout + res.stderr


# -- wafpipe store prune -------------------------------------------------------------------------

PRUNE_CONFIG = """
[[sinks]]
type = "duckdb"
path = "store.duckdb"
{retention}
[api]
port = 0
"""


def _filled(tmp_path: Path, retention: str) -> Path:
    """A store of the retention tests' events (three of each age in each dataset), and its config."""
    from tests.store.test_retention import fill
    from wafpipe.sinks.duckdb.sink import DuckDBSink

    (tmp_path / "wafpipe.toml").write_text(PRUNE_CONFIG.format(retention=retention))
    (tmp_path / "wafpipe.toml").chmod(0o600)
    with DuckDBSink(tmp_path / "store.duckdb") as sink:
        fill(sink)
    return tmp_path / "store.duckdb"


def _stored(store: Path) -> dict[bool, int]:
    with duckdb.connect(str(store), read_only=True) as con:
        return dict(con.execute("SELECT imperva.waf.security_event, count(*) FROM events GROUP BY 1").fetchall())


def test_prune_counts_first_then_deletes_what_the_configuration_no_longer_keeps(tmp_path: Path) -> None:
    from tests.store.test_retention import NOW

    store = _filled(tmp_path, "retention_days = {security = 365, access = 30}")
    env = {"WAFPIPE_NOW": NOW.isoformat()}
    dry = wafpipe("store", "prune", "-c", "wafpipe.toml", "--dry-run", cwd=tmp_path, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "security: would delete 3 events before 2025-12-02T12:00:00Z" in dry.stdout
    assert "access: would delete 9 events before 2026-11-02T12:00:00Z" in dry.stdout
    assert _stored(store) == {True: 15, False: 15}  # a dry run deletes nothing
    res = wafpipe("store", "prune", "-c", "wafpipe.toml", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "security: deleted 3 events" in res.stdout and "access: deleted 9 events" in res.stdout
    assert _stored(store) == {True: 12, False: 6}
    # the options override the configuration for one run, per dataset
    res = wafpipe("store", "prune", "-c", "wafpipe.toml", "--access-days", "5", cwd=tmp_path, env=env)
    assert "access: deleted 3 events before 2026-11-27T12:00:00Z" in res.stdout, res.stdout + res.stderr
    assert _stored(store) == {True: 12, False: 3}
    elsewhere = {**env, "TZ": "America/New_York"}  # the machine's zone never shows: times are UTC
    listed = wafpipe("store", "prune", "-c", "wafpipe.toml", "--history", cwd=tmp_path, env=elsewhere)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 4 and all("(wafpipe store prune)" in line for line in lines)
    assert "access" in lines[0] and "3 events before 2026-11-27T12:00:00Z" in lines[0]  # newest first
    assert "security" in lines[1] and " 0 events" in lines[1]


def test_prune_refuses_without_retention_and_beside_a_running_collector(tmp_path: Path) -> None:
    store = _filled(tmp_path, "")
    res = wafpipe("store", "prune", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 2 and "no retention is set" in res.stderr and "--access-days" in res.stderr
    with duckdb.connect(str(store)):  # this process holds the store, as a running collector would
        res = wafpipe("store", "prune", "--store", str(store), "--access-days", "1", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "applies retention itself every hour" in res.stderr and "Traceback" not in res.stderr
    assert _stored(store) == {True: 15, False: 15}
