"""The ``azure_blob`` source end to end: ``wafpipe run --once`` (a subprocess) against Azurite
(tests/servers/azurite_server.py, ``--skipApiVersionCheck``) on 127.0.0.1, into the embedded store.

Expected numbers come from the generated files; Azurite's own listing says what is left. Nothing
depends on timing: ``--once`` returns when its work is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.helpers import count, distinct_ids, wafpipe
from tests.servers.azurite_server import ACCOUNT_KEY, AzuriteServer
from tests.sources.helpers import END, START, events_in
from wafpipe.tools.generate import generate_files

CONTAINER = "imperva-logs"


@pytest.fixture
def container(azurite: AzuriteServer) -> Iterator[Any]:
    client = azurite.service().get_container_client(CONTAINER)
    client.create_container()
    try:
        yield client
    finally:
        client.delete_container()


def upload(container: Any, paths: list[Path], prefix: str = "waf/") -> list[str]:
    names = [f"{prefix}{p.name}" for p in paths]
    for path, name in zip(paths, names, strict=True):
        container.upload_blob(name, path.read_bytes())
    return names



def write_config(root: Path, azurite: AzuriteServer, **extra: str) -> None:
    lines = [f'data_dir = "{root / "data"}"', "", "[[sources]]", 'type = "azure_blob"',
             f'account_url = "{azurite.account_url}"', f'container = "{CONTAINER}"', 'prefix = "waf/"',
             'account_key_env = "WP_TEST_AZURE_KEY"', "poll_interval_s = 0.1", "max_backoff_s = 1.0",
             *(f"{k} = {v}" for k, v in extra.items()), "", "[api]", "port = 0", ""]
    root.mkdir(parents=True, exist_ok=True)
    (root / "wafpipe.toml").write_text("\n".join(lines))
    (root / "wafpipe.toml").chmod(0o600)


def run_once(root: Path, key: str = ACCOUNT_KEY) -> tuple[int, str]:
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root, env={"WP_TEST_AZURE_KEY": key})
    out = res.stdout + res.stderr
    assert ACCOUNT_KEY not in out and key not in out, "the account key was printed"
    return res.returncode, out


def test_every_blob_is_stored_once_and_a_restart_downloads_nothing_new(
        tmp_path: Path, azurite: AzuriteServer, container: Any) -> None:
    paths = [p for i, fmt in enumerate(("cef", "leef", "w3c"))
             for p in generate_files(tmp_path / "gen" / fmt, events=40, files=2, fmt=fmt, start=START, end=END,
                                     seed=120 + i)]
    upload(container, paths[:4])
    upload(container, paths[4:], prefix="waf/deeper/")
    container.upload_blob("other/1_1.log", paths[0].read_bytes())  # outside the prefix
    write_config(tmp_path, azurite)
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    expected = events_in(paths)
    assert count(tmp_path) == expected and distinct_ids(tmp_path) == (expected, expected)
    rc, out = run_once(tmp_path)
    assert rc == 0 and "files done 0" in out, out
    later = generate_files(tmp_path / "gen" / "later", events=15, fmt="cef", start=START, end=END, seed=130)
    upload(container, later, prefix="waf/late/")
    rc, out = run_once(tmp_path)
    assert rc == 0 and "files done 1" in out, out
    assert count(tmp_path) == expected + 15


def test_after_delete_removes_each_stored_blob(tmp_path: Path, azurite: AzuriteServer, container: Any) -> None:
    paths = generate_files(tmp_path / "gen", events=30, files=3, fmt="leef", start=START, end=END, seed=131)
    upload(container, paths)
    container.upload_blob("waf/notes.txt", b"not a log")  # not a wanted name: stays
    write_config(tmp_path, azurite, after='"delete"')
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert [b.name for b in container.list_blobs()] == ["waf/notes.txt"]
    assert count(tmp_path) == events_in(paths)


def test_a_wrong_key_and_a_missing_container_say_what_to_fix(
        tmp_path: Path, azurite: AzuriteServer, container: Any) -> None:
    write_config(tmp_path, azurite)
    wrong = "A" * 86 + "=="
    rc, out = run_once(tmp_path, key=wrong)
    assert rc == 2 and "access denied (AuthorizationFailure)" in out and "account_key_env" in out, out
    write_config(tmp_path / "nocontainer", azurite)
    toml = tmp_path / "nocontainer" / "wafpipe.toml"
    toml.write_text(toml.read_text().replace(CONTAINER, "no-such-container"))
    rc, out = run_once(tmp_path / "nocontainer")
    assert rc == 2 and "there is no such container" in out, out


def test_blob_names_that_would_leave_the_spool_are_refused(
        tmp_path: Path, azurite: AzuriteServer, container: Any) -> None:
    paths = generate_files(tmp_path / "gen", events=20, fmt="cef", start=START, end=END, seed=135)
    upload(container, paths)
    container.upload_blob("waf/a\\..\\..\\escape.log", paths[0].read_bytes())  # listed as waf/a/../../escape.log
    write_config(tmp_path, azurite)
    rc, out = run_once(tmp_path)
    assert rc == 1 and "'waf/a/../../escape.log'" in out and "never reaches the disk" in out, out
    assert count(tmp_path) == 20
    assert not list(tmp_path.rglob("escape.log*"))
