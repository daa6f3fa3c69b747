"""What every listed store must show alike — S3 bucket polling (moto), Azure Blob (Azurite) and SFTP
(Debian's sshd), each against its real server on 127.0.0.1:

* a collector killed at a failpoint mid-file loses nothing: the file was not finished, so the next
  run takes it again, and every event is stored once;
* two collectors polling the same store into the real OpenSearch node (``after = "delete"``, as a
  scaled-out deployment runs) store every event once between them, whichever of them takes a file.

The kill is a failpoint (after the second committed batch), not a moment; nothing depends on timing.
"""

from __future__ import annotations

import os
import pwd
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.collector.helpers import count, distinct_ids, wafpipe
from tests.servers.azurite_server import ACCOUNT_KEY
from tests.servers.moto_server import REGION
from tests.servers.opensearch_node import OpenSearchNode
from tests.servers.tcp_relay import TcpRelay
from tests.sources.helpers import AWS_ENV, END, START, built_source, two_collectors_store_each_event_once
from wafpipe.tools.generate import generate_files

GUARD_S = 300.0


@dataclass
class Store:
    """One store as the scenarios see it: put a file, list what is left, and the ``[[sources]]`` keys."""

    kind: str
    put: Callable[[str, bytes], None]
    left: Callable[[], list[str]]
    keys: dict[str, str]  # TOML values
    env: dict[str, str]
    address: str  # host:port of the server


@pytest.fixture(params=["s3", "azure_blob", "sftp"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "s3":
        aws = request.getfixturevalue("aws")
        aws.reset()
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="listed")
        yield Store("s3", lambda name, data: s3.put_object(Bucket="listed", Key=f"waf/{name}", Body=data),
                    lambda: [o["Key"] for o in s3.list_objects_v2(Bucket="listed").get("Contents", [])],
                    {"bucket": '"listed"', "prefix": '"waf/"', "region": f'"{REGION}"', "endpoint_url": f'"{aws.url}"',
                     "path_style": "true", "access_key_id_env": '"WP_TEST_AWS_KEY_ID"',
                     "secret_access_key_env": '"WP_TEST_AWS_SECRET"'}, AWS_ENV, urlsplit(aws.url).netloc)
    elif request.param == "azure_blob":
        azurite = request.getfixturevalue("azurite")
        name = f"listed-{uuid.uuid4().hex[:12]}"
        container = azurite.service().get_container_client(name)
        container.create_container()
        try:
            yield Store("azure_blob", lambda blob, data: container.upload_blob(f"waf/{blob}", data),
                        lambda: [b.name for b in container.list_blobs()],
                        {"account_url": f'"{azurite.account_url}"', "container": f'"{name}"', "prefix": '"waf/"',
                         "account_key_env": '"WP_TEST_AZURE_KEY"'}, {"WP_TEST_AZURE_KEY": ACCOUNT_KEY},
                        f"127.0.0.1:{azurite.port}")
        finally:
            container.delete_container()
    else:
        sshd = request.getfixturevalue("sshd")
        directory = Path(tempfile.mkdtemp(dir=sshd.served))
        login = pwd.getpwnam(sshd.user)
        os.chown(directory, login.pw_uid, login.pw_gid)
        known = sshd.known_hosts(tmp_path / "known_hosts")
        yield Store("sftp", lambda name, data: (directory / name).write_bytes(data),
                    lambda: sorted(p.name for p in directory.iterdir()),
                    {"host": '"127.0.0.1"', "port": str(sshd.port), "username": f'"{sshd.user}"',
                     "private_key_file": f'"{sshd.client_key}"', "known_hosts": f'"{known}"',
                     "path": f'"{directory}"'}, {}, f"127.0.0.1:{sshd.port}")


def write_config(root: Path, store: Store, *, sink: str = "", batch_size: int = 0, **extra: str) -> Path:
    keys = {"type": f'"{store.kind}"', **store.keys, "poll_interval_s": "0.1", "max_backoff_s": "1.0", **extra}
    lines = [f'data_dir = "{root / "data"}"', "", "[[sources]]", *(f"{k} = {v}" for k, v in keys.items()), "",
             sink, "[api]", "port = 0", ""]
    if batch_size:
        lines += ["[pipeline]", f"batch_size = {batch_size}", ""]
    root.mkdir(parents=True, exist_ok=True)
    (root / "wafpipe.toml").write_text("\n".join(lines))
    (root / "wafpipe.toml").chmod(0o600)
    return root / "wafpipe.toml"


def test_a_collector_killed_mid_file_loses_nothing(tmp_path: Path, store: Store) -> None:
    (path,) = generate_files(tmp_path / "gen", events=3000, fmt="cef", start=START, end=END, seed=170)
    store.put(path.name, path.read_bytes())
    write_config(tmp_path / "c", store, batch_size=500)
    killed = wafpipe("run", "-c", "wafpipe.toml", "--once", "--workers", "0", cwd=tmp_path / "c",
                     env={**store.env, "WAFPIPE_FAILPOINT": "sink.duckdb.after_commit:2"})
    assert killed.returncode == 137, killed.stderr  # two batches stored, then the process died
    assert 0 < count(tmp_path / "c") < 3000
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path / "c", env=store.env)
    assert res.returncode == 0, res.stderr
    assert distinct_ids(tmp_path / "c") == (3000, 3000)
    spool = tmp_path / "c" / "data" / "spool" / "sources" / store.kind
    assert not [p for p in spool.iterdir() if p.is_file()]
    for secret in store.env.values():  # never printed, never in the state, the store or the spool
        assert secret not in killed.stdout + killed.stderr + res.stdout + res.stderr
        assert not [p for p in (tmp_path / "c" / "data").rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_two_collectors_polling_one_store_store_every_event_once_in_the_real_node(
        tmp_path: Path, store: Store, opensearch_node: OpenSearchNode) -> None:
    paths = [p for i, fmt in enumerate(("cef", "leef", "w3c", "cef"))
             for p in generate_files(tmp_path / "gen" / str(i), events=100, files=3, fmt=fmt, start=START, end=END,
                                     seed=171 + i)]
    for i, p in enumerate(paths):
        store.put(f"{i}_{p.name}", p.read_bytes())
    two_collectors_store_each_event_once(
        tmp_path, opensearch_node, store.env,
        lambda root, sink: write_config(root, store, sink=sink, after='"delete"'), paths)
    assert store.left() == []  # every file deleted once stored


def test_a_proxy_carries_every_request(tmp_path: Path, store: Store) -> None:
    """``proxy_url``: plain HTTP requests in absolute form (S3, Azure) or a CONNECT tunnel (SFTP), with
    the proxy's credentials from the URL, which are never printed."""
    paths = generate_files(tmp_path / "gen", events=12, files=2, fmt="leef", start=START, end=END, seed=176)
    for p in paths:
        store.put(p.name, p.read_bytes())
    with TcpRelay(None, proxy=True) as proxy:
        write_config(tmp_path / "c", store, proxy_url=f'"http://wp:s3cret@127.0.0.1:{proxy.port}"')
        res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path / "c", env=store.env)
    assert res.returncode == 0, res.stderr
    assert count(tmp_path / "c") == 12
    assert proxy.connects and set(proxy.connects) == {store.address}
    assert proxy.proxy_auth and set(proxy.proxy_auth) == {"Basic d3A6czNjcmV0"}  # wp:s3cret
    assert "s3cret" not in res.stdout + res.stderr


def test_a_full_spool_holds_the_source_back_until_a_file_is_acknowledged(
        tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The source itself, in this process, against its server: with room for one file it hands out
    one, takes no second while that one is not acknowledged (and says there is more), and takes the
    next once it is."""
    paths = generate_files(tmp_path / "gen", events=30, files=3, fmt="cef", start=START, end=END, seed=175)
    for p in paths:
        store.put(p.name, p.read_bytes())
    config = write_config(tmp_path / "c", store, spool_max_files="1")
    with built_source(config, store.env, monkeypatch) as (source, state):
        taken: list[str] = []
        for _file in paths:
            (ref,) = source.snapshot_complete()
            assert source.has_more or len(taken) == len(paths) - 1
            assert source.snapshot_complete() == [] and source.spool.files == 1  # full: nothing more fetched
            taken.append(ref.name)
            state.register_file(ref.key, source=ref.source, name=ref.name)  # what the collector records
            state.mark_done(ref.key)  # once every sink holds the file's events
            source.ack(ref)
        assert sorted(taken) == sorted(p.name for p in paths) and source.spool.files == 0
