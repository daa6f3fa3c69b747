"""The ``imperva_api`` source end to end: ``wafpipe run --once`` (a subprocess) against a local
stand-in of Imperva's log API (tests/servers/imperva_api.py) serving plain, zlib and encrypted
files behind Basic authentication, into the embedded store.

Expected numbers come from the generated files (``wafpipe parse`` semantics: every event once),
never from the collector. The server counts every download, which proves what is fetched once.
Nothing depends on timing: ``--once`` returns when its work is done.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.collector.helpers import count, distinct_ids, wafpipe
from tests.servers.imperva_api import ImpervaApiServer
from tests.sources.helpers import END, START, events_in
from wafpipe.collector.state.store import State
from wafpipe.tools.generate import generate_files, keygen

API_ID, API_KEY = "1234", "k3y-Th4t-Must-N3ver-Show"
ENV = {"WP_TEST_API_ID": API_ID, "WP_TEST_API_KEY": API_KEY}


def files_of(root: Path) -> list[Path]:
    """Plain, zlib and encrypted files with API-style names ``<apiId>_<seq>.log``, in sequence order."""
    keys = root / "keys"
    public = keygen(keys, "1")
    made: list[Path] = []
    for i, (comp, enc) in enumerate((("none", None), ("zlib", None), ("zlib", public))):
        made += generate_files(root / f"set{i}", events=60, files=2, fmt=("cef", "leef", "w3c")[i], compression=comp,
                               encrypt=enc, public_key_id="1", start=START, end=END, seed=70 + i)
    return made



def write_config(root: Path, url: str, **extra: str) -> None:
    lines = [f'data_dir = "{root / "data"}"', "", "[keys]", f'dir = "{root / "gen" / "keys"}"', "",
             "[[sources]]", 'type = "imperva_api"', f'url = "{url}"', 'api_id_env = "WP_TEST_API_ID"',
             'api_key_env = "WP_TEST_API_KEY"', "poll_interval_s = 0.1", "max_backoff_s = 1.0",
             *(f"{k} = {v}" for k, v in extra.items()), "", "[api]", "port = 0", ""]
    (root / "wafpipe.toml").write_text("\n".join(lines))
    (root / "wafpipe.toml").chmod(0o600)


@pytest.fixture
def api() -> ImpervaApiServer:
    with ImpervaApiServer(api_id=API_ID, api_key=API_KEY) as server:
        yield server  # type: ignore[misc]


def serve(api: ImpervaApiServer, paths: list[Path], names: list[str]) -> None:
    for path, name in zip(paths, names, strict=True):
        api.put(name, path.read_bytes())


def run_once(root: Path) -> tuple[int, str]:
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root, env=ENV)
    out = res.stdout + res.stderr
    assert API_KEY not in out, "the API key was printed"
    return res.returncode, out


def test_every_file_is_fetched_once_stored_once_and_a_restart_downloads_nothing(
        tmp_path: Path, api: ImpervaApiServer) -> None:
    paths = files_of(tmp_path / "gen")
    names = [f"{API_ID}_{seq}.log" for seq in (3, 7, 8, 20, 21, 40)]  # sequences skip values on purpose
    serve(api, paths, names)
    expected = events_in(paths, tmp_path / "gen" / "keys")
    write_config(tmp_path, api.log_server_uri.rstrip("/"))  # pasted without its slash: joined right anyway
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert count(tmp_path) == expected and distinct_ids(tmp_path) == (expected, expected)
    assert api.downloads == dict.fromkeys(names, 1)
    assert list((tmp_path / "data" / "spool" / "sources" / "imperva_api").iterdir()) == []  # removed once stored

    rc, out = run_once(tmp_path)  # a restart: the cursor says every listed file is processed
    assert rc == 0, out
    assert api.downloads == dict.fromkeys(names, 1) and count(tmp_path) == expected

    more = generate_files(tmp_path / "gen" / "later", events=25, fmt="cef", start=START, end=END, seed=99)
    api.put(f"{API_ID}_41.log", more[0].read_bytes())
    api.list_raw(f"{API_ID}_41.log")  # listed twice: still one file
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert api.downloads[f"{API_ID}_41.log"] == 1 and sum(api.downloads.values()) == len(names) + 1
    assert count(tmp_path) == expected + 25


def test_wrong_credentials_name_the_settings_to_fix_and_never_show_the_key(
        tmp_path: Path, api: ImpervaApiServer) -> None:
    api.put(f"{API_ID}_1.log", files_of(tmp_path / "gen")[0].read_bytes())
    write_config(tmp_path, api.log_server_uri)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path,
                  env={**ENV, "WP_TEST_API_KEY": "wrong-" + API_KEY})
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    assert "HTTP 401" in out and "sources[0].api_key_env" in out, out
    assert "Logs → Log Setup" in out and API_KEY not in out
    assert api.downloads == {}


def test_a_missing_index_says_wrong_url_or_not_active_yet(tmp_path: Path, api: ImpervaApiServer) -> None:
    api.no_index()
    write_config(tmp_path, api.log_server_uri + "logs.index")  # pasted with logs.index: accepted as well
    rc, out = run_once(tmp_path)
    assert rc == 2, out
    assert "no logs.index at this URL" in out and "not active yet" in out


def test_a_file_that_leaves_the_index_before_it_is_fetched_is_a_gap(tmp_path: Path, api: ImpervaApiServer) -> None:
    paths = files_of(tmp_path / "gen")[:2]
    serve(api, paths, [f"{API_ID}_1.log", f"{API_ID}_3.log"])
    api.list_only(f"{API_ID}_2.log")  # listed, not there yet: 404
    write_config(tmp_path, api.log_server_uri)
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert api.downloads == {f"{API_ID}_1.log": 1, f"{API_ID}_3.log": 1}
    rc, out = run_once(tmp_path)  # still listed, still missing: retried, not a gap yet
    assert rc == 0 and "gap" not in out, out
    api.unlist(f"{API_ID}_2.log")  # rotated out before it ever arrived
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert re.search(rf"gap: {API_ID}_2\.log left logs\.index before it was fetched", out), out
    state = State(tmp_path / "data")  # what /api/health shows: the gap, and the source's own health
    try:
        (gap,) = [g for g in state.gaps() if g.kind == "index_missed"]
        assert gap.scope == "imperva_api" and f"{API_ID}_2.log" in gap.detail
        health = state.health()["source:imperva_api"]
        assert health.ok and health.details["listed"] == 2 and health.details["gaps"] == 1
    finally:
        state.close()
    rc, out = run_once(tmp_path)  # told once, not at every poll
    assert rc == 0 and "gap" not in out, out


def test_hostile_index_lines_are_refused_and_the_rest_is_fetched(tmp_path: Path, api: ImpervaApiServer) -> None:
    paths = files_of(tmp_path / "gen")[:1]
    serve(api, paths, [f"{API_ID}_1.log"])
    for line in ("../../etc/passwd", "/etc/shadow", f"sub/{API_ID}_2.log", "..\\win.ini"):
        api.list_raw(line)
    write_config(tmp_path, api.log_server_uri)
    rc, out = run_once(tmp_path)
    assert "would point outside the spool" in out and "'../../etc/passwd'" in out, out
    assert api.downloads == {f"{API_ID}_1.log": 1}
    assert count(tmp_path) == events_in(paths, tmp_path / "gen" / "keys")
    assert not (tmp_path / "etc").exists()
    assert rc == 1  # reported problems make the run's exit code 1


def test_a_download_cut_mid_file_is_retried_and_nothing_partial_is_stored(
        tmp_path: Path, api: ImpervaApiServer) -> None:
    paths = files_of(tmp_path / "gen")[:2]
    serve(api, paths, [f"{API_ID}_1.log", f"{API_ID}_2.log"])
    api.cut_next(f"{API_ID}_2.log", 100)
    api.faults.fail_next(1, 429, endpoint="index")  # and the first index answer is a rate limit
    write_config(tmp_path, api.log_server_uri)
    rc, out = run_once(tmp_path)  # the partial download is dropped and fetched again in the same run
    expected = events_in(paths, tmp_path / "gen" / "keys")
    assert rc == 0, out
    assert count(tmp_path) == expected and distinct_ids(tmp_path) == (expected, expected)
    assert api.downloads[f"{API_ID}_2.log"] == 2


def test_a_return_after_imperva_rotated_everything_reports_the_time_span_lost(
        tmp_path: Path, api: ImpervaApiServer) -> None:
    early = generate_files(tmp_path / "gen" / "early", events=20, files=2, fmt="cef", seed=5,
                           start=datetime(2024, 6, 10, 6, tzinfo=UTC), end=datetime(2024, 6, 10, 7, tzinfo=UTC))
    late = generate_files(tmp_path / "gen" / "late", events=20, files=1, fmt="cef", seed=6,
                          start=datetime(2024, 6, 13, 9, tzinfo=UTC), end=datetime(2024, 6, 13, 10, tzinfo=UTC))
    serve(api, early, [f"{API_ID}_1.log", f"{API_ID}_2.log"])
    write_config(tmp_path, api.log_server_uri)
    assert run_once(tmp_path)[0] == 0
    for name in (f"{API_ID}_1.log", f"{API_ID}_2.log"):
        api.unlist(name)  # three days away: Imperva kept nothing we saw
    serve(api, late, [f"{API_ID}_90.log"])
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert f"{API_ID}_2.log (the newest file processed) left logs.index, whose oldest file is now {API_ID}_90.log" in out
    assert re.search(r"events from 2024-06-10T0[67]:\d\d:\d\dZ to 2024-06-13T09:\d\d:\d\dZ are lost", out), out
    assert count(tmp_path) == 40


def test_start_from_now_leaves_what_is_listed_and_takes_what_comes_after(
        tmp_path: Path, api: ImpervaApiServer) -> None:
    paths = files_of(tmp_path / "gen")
    serve(api, paths[:2], [f"{API_ID}_1.log", f"{API_ID}_2.log"])
    write_config(tmp_path, api.log_server_uri, start_from='"now"')
    assert run_once(tmp_path)[0] == 0
    assert api.downloads == {}
    serve(api, paths[2:3], [f"{API_ID}_3.log"])
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert api.downloads == {f"{API_ID}_3.log": 1}
    assert count(tmp_path) == events_in(paths[2:3], tmp_path / "gen" / "keys")
