"""The ``sftp`` source end to end: ``wafpipe run --once`` (a subprocess) against Debian's OpenSSH
server (tests/servers/sshd_server.py: a fresh host key, one authorized key, SFTP only, a login
user that is not root) on 127.0.0.1, into the embedded store.

Faults are made at byte counts, not moments: the connection cut mid-download is a relay that
closes after so many bytes (tests/servers/tcp_relay.py). Nothing depends on timing.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import httpx
import pytest

from tests.cli.helpers import wait_for
from tests.collector.helpers import api_info, count, distinct_ids, wafpipe
from tests.servers.sshd_server import SshdServer
from tests.servers.tcp_relay import TcpRelay
from tests.sources.helpers import END, START, events_in
from wafpipe.tools.generate import generate_files

PASSPHRASE = "correct horse battery staple 7f3a"


@pytest.fixture
def served(sshd: SshdServer) -> Iterator[Path]:
    """An empty directory on the server for one test, writable by the login user."""
    directory = Path(tempfile.mkdtemp(dir=sshd.served))
    give_to_login_user(sshd, directory)
    yield directory


def give_to_login_user(sshd: SshdServer, directory: Path) -> None:
    login = pwd.getpwnam(sshd.user)
    os.chown(directory, login.pw_uid, login.pw_gid)


def put(directory: Path, paths: list[Path]) -> None:
    for path in paths:
        (directory / path.name).write_bytes(path.read_bytes())



def write_config(root: Path, sshd: SshdServer, directory: Path, *, port: int = 0, **extra: str) -> Path:
    """The collector's config for ``directory`` on ``sshd``; ``extra`` keys (TOML values) add or replace."""
    root.mkdir(parents=True, exist_ok=True)
    known = sshd.known_hosts(root / "known_hosts")
    keys = {"type": '"sftp"', "host": '"127.0.0.1"', "port": str(port or sshd.port), "username": f'"{sshd.user}"',
            "private_key_file": f'"{sshd.client_key}"', "known_hosts": f'"{known}"', "path": f'"{directory}"',
            "poll_interval_s": "0.1", "max_backoff_s": "0.5", **extra}
    lines = [f'data_dir = "{root / "data"}"', "", "[[sources]]", *(f"{k} = {v}" for k, v in keys.items()),
             "", "[api]", "port = 0", ""]
    (root / "wafpipe.toml").write_text("\n".join(lines))
    (root / "wafpipe.toml").chmod(0o600)
    return known


def run_once(root: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root, env=env or {})
    out = res.stdout + res.stderr
    for secret in (env or {}).values():
        assert secret not in out, "a secret was printed"
    return res.returncode, out


def spool_files(root: Path) -> list[str]:
    spool = root / "data" / "spool" / "sources" / "sftp"
    return sorted(p.name for p in spool.iterdir()) if spool.exists() else []


def test_every_file_is_stored_once_and_a_restart_downloads_nothing_new(
        tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    paths = [p for i, fmt in enumerate(("cef", "leef", "w3c"))
             for p in generate_files(tmp_path / "gen" / fmt, events=40, files=2, fmt=fmt, start=START, end=END,
                                     seed=140 + i)]
    put(served, paths)
    (served / "sub").mkdir()
    put(served / "sub", paths[:1])  # a subdirectory is not read
    (served / "notes.txt").write_text("not a log")  # not a wanted name
    write_config(tmp_path, sshd, served)
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    expected = events_in(paths)
    assert count(tmp_path) == expected and distinct_ids(tmp_path) == (expected, expected)
    assert spool_files(tmp_path) == []  # removed once stored
    rc, out = run_once(tmp_path)
    assert rc == 0 and "files done 0" in out, out
    later = generate_files(tmp_path / "gen" / "later", events=15, fmt="cef", start=START, end=END, seed=150)
    (served / "later").mkdir()
    put(served / "later", later)
    (served / "later" / later[0].name).rename(served / "9_1.log")
    rc, out = run_once(tmp_path)
    assert rc == 0 and "files done 1" in out, out
    assert count(tmp_path) == expected + 15


def test_a_key_with_a_passphrase_logs_in_and_no_secret_is_printed_or_stored(
        tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    paths = generate_files(tmp_path / "gen", events=20, fmt="cef", start=START, end=END, seed=151)
    put(served, paths)
    key = tmp_path / "locked.key"
    asyncssh.read_private_key(str(sshd.client_key)).write_private_key(str(key), passphrase=PASSPHRASE)
    key.chmod(0o600)
    write_config(tmp_path, sshd, served, private_key_file=f'"{key}"',
                 private_key_passphrase_env='"WP_TEST_SFTP_PASSPHRASE"')
    env = {"WP_TEST_SFTP_PASSPHRASE": PASSPHRASE}
    rc, out = run_once(tmp_path, env)
    assert rc == 0, out
    assert count(tmp_path) == 20
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert PASSPHRASE.encode() not in path.read_bytes(), path
    help_text = wafpipe("run", "--help", cwd=tmp_path, env=env)
    assert PASSPHRASE not in help_text.stdout + help_text.stderr
    rc, out = run_once(tmp_path, {"WP_TEST_SFTP_PASSPHRASE": "wrong phrase"})
    assert rc == 2 and "cannot be read" in out and "private_key_passphrase_env" in out, out


def test_an_unknown_or_changed_host_key_is_refused_with_its_fingerprint(
        tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    put(served, generate_files(tmp_path / "gen", events=10, fmt="cef", start=START, end=END, seed=152))
    fingerprint = sshd.host_key().get_fingerprint("sha256")
    known = write_config(tmp_path, sshd, served)
    known.write_text("")
    rc, out = run_once(tmp_path)
    assert rc == 2, out
    assert f"ssh-ed25519 {fingerprint} is not in {known}" in out, out
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}" in out, out
    sshd.known_hosts(known, key=asyncssh.generate_private_key("ssh-ed25519"))  # someone else's key
    rc, out = run_once(tmp_path)
    assert rc == 2 and "host key CHANGED" in out and fingerprint in out, out
    assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}'" in out, out
    assert count(tmp_path) == 0
    sshd.known_hosts(known)
    rc, out = run_once(tmp_path)
    assert rc == 0 and count(tmp_path) == 10, out


def test_a_connection_cut_mid_download_is_retried_and_nothing_partial_is_ingested(
        tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    big = generate_files(tmp_path / "gen", events=3000, fmt="cef", compression="none", start=START, end=END,
                         seed=153)
    assert big[0].stat().st_size > 1 << 20
    put(served, big)
    with TcpRelay(sshd.port, cut_after_bytes=256 << 10) as relay:
        write_config(tmp_path, sshd, served, port=relay.port)
        # known_hosts names the relay's port: the server is reached through it
        (tmp_path / "known_hosts").write_text(
            f"[127.0.0.1]:{relay.port} {sshd.host_key().export_public_key('openssh').decode()}")
        rc, out = run_once(tmp_path)
    assert relay.cuts == 1 and relay.connections >= 2, (relay.cuts, relay.connections)
    assert rc == 0, out
    assert count(tmp_path) == 3000 and distinct_ids(tmp_path) == (3000, 3000)
    assert spool_files(tmp_path) == []


def test_a_file_the_user_may_not_read_is_reported_with_its_path_and_the_fix(
        tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    readable, locked = generate_files(tmp_path / "gen", events=30, files=2, fmt="leef", start=START, end=END,
                                      seed=154)
    put(served, [readable, locked])
    (served / locked.name).chmod(0o000)
    write_config(tmp_path, sshd, served)
    rc, out = run_once(tmp_path)
    assert rc == 1, out
    assert f"{served / locked.name}: permission denied for user '{sshd.user}'" in out and "chmod o+r" in out, out
    assert count(tmp_path) == events_in([readable])
    (served / locked.name).chmod(0o644)
    rc, out = run_once(tmp_path)
    assert rc == 0 and count(tmp_path) == 30, out


def test_after_delete_and_after_move_act_on_stored_files_only(
        tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    paths = generate_files(tmp_path / "gen", events=30, files=3, fmt="w3c", start=START, end=END, seed=155)
    put(served, paths)
    (served / "notes.txt").write_text("not a log")
    write_config(tmp_path / "delete", sshd, served, after='"delete"')
    rc, out = run_once(tmp_path / "delete")
    assert rc == 0, out
    assert sorted(p.name for p in served.iterdir()) == ["notes.txt"]
    assert count(tmp_path / "delete") == 30
    done = served / "done"
    done.mkdir()
    give_to_login_user(sshd, done)
    put(served, paths)
    write_config(tmp_path / "move", sshd, served, after='"move"', move_to=f'"{done}"')
    rc, out = run_once(tmp_path / "move")
    assert rc == 0, out
    assert sorted(p.name for p in done.iterdir()) == sorted(p.name for p in paths)
    assert sorted(p.name for p in served.iterdir()) == ["done", "notes.txt"]


def test_odd_names_never_reach_the_disk(tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    good = generate_files(tmp_path / "gen", events=10, fmt="cef", start=START, end=END, seed=156)
    put(served, good)
    (served / "evil\x1b[2J.log").write_bytes(good[0].read_bytes())
    write_config(tmp_path, sshd, served)
    rc, out = run_once(tmp_path)
    assert rc == 1 and "holds control bytes (0x1b)" in out and "never reaches the disk" in out, out
    assert count(tmp_path) == 10


def test_refusals_say_what_to_fix(tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    stranger = tmp_path / "stranger.key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    stranger.chmod(0o600)
    write_config(tmp_path / "key", sshd, served, private_key_file=f'"{stranger}"')
    rc, out = run_once(tmp_path / "key")
    assert rc == 2 and f"the server refused user '{sshd.user}'" in out and "authorized_keys" in out, out
    write_config(tmp_path / "dir", sshd, served / "no-such-dir")
    rc, out = run_once(tmp_path / "dir")
    assert rc == 2 and "there is no remote directory" in out, out
    stranger.chmod(0o644)
    rc, out = run_once(tmp_path / "key")
    assert rc == 2 and f"chmod 600 {stranger}" in out, out


@pytest.mark.parametrize(("keys", "message"), [
    ({}, "name a way to log in"),
    ({"private_key_file": "k", "after": "move"}, "move_to is the remote directory"),
    ({"password_env": "P", "ca_file": "ca.pem"}, "ca_file does not apply to SFTP"),
    ({"password_env": "P", "proxy_url": "https://proxy:3128"}, "http:// proxy that allows CONNECT"),
    ({"password_env": "P", "private_key_passphrase_env": "Q"}, "private_key_passphrase_env needs private_key_file"),
])
def test_a_table_that_cannot_work_is_refused(keys: dict[str, str], message: str) -> None:
    from pydantic import ValidationError

    from wafpipe.sources.sftp import SftpSourceConfig

    with pytest.raises(ValidationError, match=message):
        SftpSourceConfig.model_validate({"host": "h", "username": "u", "path": "/p", **keys})


def test_a_watching_collector_shows_the_source_health_in_health_and_metrics(
        tmp_path: Path, sshd: SshdServer, served: Path) -> None:
    """``wafpipe run`` (watching): files uploaded over time are taken; the source's last success,
    lag and pending files are on /metrics; a directory that disappears is an error on /api/health
    and ``wafpipe_source_up 0``, and the source recovers when it is back."""
    first = generate_files(tmp_path / "gen" / "a", events=20, fmt="cef", start=START, end=END, seed=158)
    put(served, first)
    write_config(tmp_path, sshd, served)
    log = (tmp_path / "run.log").open("w")  # a file, not a pipe that could fill and stall the collector
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml"], cwd=tmp_path,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_for("the first file stored", lambda: count_or_none(tmp_path) == 20, proc)
        second = generate_files(tmp_path / "gen" / "b", events=7, fmt="leef", start=START, end=END, seed=159)
        (served / second[0].name).write_bytes(second[0].read_bytes())
        wait_for("the file uploaded later stored", lambda: count_or_none(tmp_path) == 27, proc)
        info = api_info(tmp_path)
        headers = {"Authorization": f"Bearer {(tmp_path / 'data' / 'api.token').read_text().strip()}"}

        def metric(name: str) -> float | None:
            text = httpx.get(f"{info['url']}/metrics", headers=headers).text
            found = re.search(rf'^{name}{{source="sftp"}} (\S+)$', text, re.M)
            return float(found.group(1)) if found else None

        wait_for("the source up", lambda: metric("wafpipe_source_up") == 1.0, proc)
        assert (metric("wafpipe_source_last_success_timestamp_seconds") or 0) > 0
        assert (metric("wafpipe_source_lag_seconds") or 0) > 0  # the files' times are of the generator
        assert metric("wafpipe_source_files_pending") is not None
        served.rename(served.with_name(served.name + "-away"))
        wait_for("the source down", lambda: metric("wafpipe_source_up") == 0.0, proc)
        health = httpx.get(f"{info['url']}/api/health", headers=headers).json()
        assert health["status"] == "degraded" and any("there is no remote directory" in p
                                                      for p in health["problems"]), health
        served.with_name(served.name + "-away").rename(served)
        wait_for("the source back", lambda: metric("wafpipe_source_up") == 1.0, proc)
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


def count_or_none(root: Path) -> int | None:
    if not (root / "data" / "api.json").exists():
        return None
    res = wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=root)
    return int(res.stdout) if res.returncode == 0 else None

