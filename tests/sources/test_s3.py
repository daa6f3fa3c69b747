"""The ``s3`` source end to end: ``wafpipe run --once`` (a subprocess) against a ``moto[server]``
process (tests/servers/moto_server.py) on 127.0.0.1, into the embedded store.

Expected numbers come from the generated files, never from the collector; moto's own API says what
is left in the bucket. Nothing depends on timing: ``--once`` returns when its work is done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collector.helpers import count, distinct_ids, wafpipe
from tests.servers.moto_server import REGION, SECRET_KEY, MotoServer
from tests.sources.helpers import AWS_ENV, END, START, built_source, events_in
from wafpipe.tools.generate import generate_files

ENV = AWS_ENV
BUCKET = "imperva-logs"



@pytest.fixture
def s3(aws: MotoServer) -> Any:
    aws.reset()
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def generated(root: Path, seed: int, events: int = 40, files: int = 2) -> list[Path]:
    return generate_files(root, events=events, files=files, fmt=("cef", "leef", "w3c")[seed % 3],
                          start=START, end=END, seed=seed)



def upload(s3: Any, paths: list[Path], prefix: str) -> list[str]:
    keys = [f"{prefix}{p.name}" for p in paths]
    for path, key in zip(paths, keys, strict=True):
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return keys


def keys_left(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def write_config(root: Path, aws: MotoServer, **extra: str) -> None:
    lines = [f'data_dir = "{root / "data"}"', "", "[[sources]]", 'type = "s3"', f'bucket = "{BUCKET}"',
             'prefix = "waf/"', f'region = "{REGION}"', f'endpoint_url = "{aws.url}"', "path_style = true",
             'access_key_id_env = "WP_TEST_AWS_KEY_ID"', 'secret_access_key_env = "WP_TEST_AWS_SECRET"',
             "poll_interval_s = 0.1", "max_backoff_s = 1.0", *(f"{k} = {v}" for k, v in extra.items()),
             "", "[api]", "port = 0", ""]
    root.mkdir(parents=True, exist_ok=True)
    (root / "wafpipe.toml").write_text("\n".join(lines))
    (root / "wafpipe.toml").chmod(0o600)


def run_once(root: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root, env=env or ENV)
    out = res.stdout + res.stderr
    assert SECRET_KEY not in out, "the secret key was printed"
    return res.returncode, out


def test_every_object_is_stored_once_and_a_restart_downloads_nothing_new(
        tmp_path: Path, aws: MotoServer, s3: Any) -> None:
    first = generated(tmp_path / "gen" / "a", 1) + generated(tmp_path / "gen" / "b", 2)
    upload(s3, first, "waf/")
    upload(s3, generated(tmp_path / "gen" / "other", 3)[:1], "elsewhere/")  # outside the prefix
    s3.put_object(Bucket=BUCKET, Key="waf/readme.txt", Body=b"not a log")  # not a wanted name
    write_config(tmp_path, aws)
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    expected = events_in(first)
    assert count(tmp_path) == expected and distinct_ids(tmp_path) == (expected, expected)
    assert list((tmp_path / "data" / "spool" / "sources" / "s3").iterdir()) == []

    rc, out = run_once(tmp_path)  # a restart: nothing new, nothing fetched ("files done 0")
    assert rc == 0 and "files done 0" in out, out
    later = generated(tmp_path / "gen" / "c", 4, files=1)
    upload(s3, later, "waf/late/")  # a deeper folder under the prefix
    rc, out = run_once(tmp_path)
    assert rc == 0 and "files done 1" in out, out
    assert count(tmp_path) == expected + events_in(later)


def test_after_delete_empties_the_prefix_and_after_tag_marks_each_object(
        tmp_path: Path, aws: MotoServer, s3: Any) -> None:
    paths = generated(tmp_path / "gen", 5)
    keys = upload(s3, paths, "waf/")
    write_config(tmp_path / "tag", aws, after='"tag"')
    rc, out = run_once(tmp_path / "tag")
    assert rc == 0, out
    for key in keys:
        tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
        assert {"Key": "wafpipe", "Value": "ingested"} in tags
    write_config(tmp_path / "delete", aws, after='"delete"')
    rc, out = run_once(tmp_path / "delete")
    assert rc == 0, out
    assert keys_left(s3) == []
    assert count(tmp_path / "delete") == events_in(paths)


def test_keys_that_would_leave_the_spool_are_refused_and_the_rest_is_stored(
        tmp_path: Path, aws: MotoServer, s3: Any) -> None:
    paths = generated(tmp_path / "gen", 6)
    upload(s3, paths[:1], "waf/")
    body = paths[1].read_bytes()
    for key in ("waf/../../escape.log", "waf/a/./b.log", "waf//double.log"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    write_config(tmp_path, aws)
    rc, out = run_once(tmp_path)
    assert rc == 1, out  # problems were reported
    assert "'waf/../../escape.log'" in out and "never reaches the disk" in out, out
    assert count(tmp_path) == events_in(paths[:1])
    assert not (tmp_path / "escape.log").exists() and not (tmp_path / "data" / "escape.log").exists()


def test_wrong_credentials_and_a_missing_bucket_say_what_to_fix(tmp_path: Path, aws: MotoServer, s3: Any) -> None:
    write_config(tmp_path, aws)
    (tmp_path / "wafpipe.toml").write_text((tmp_path / "wafpipe.toml").read_text().replace(BUCKET, "no-such-bucket"))
    rc, out = run_once(tmp_path)
    assert rc == 2 and "s3://no-such-bucket/waf/: there is no such bucket" in out, out


def test_an_assumed_role_reads_the_bucket(tmp_path: Path, aws: MotoServer, s3: Any) -> None:
    """``role_arn``: STS (moto's) is asked for the role with the configured keys, and its temporary
    credentials read the bucket."""
    paths = generated(tmp_path / "gen", 7)
    upload(s3, paths, "waf/")
    write_config(tmp_path, aws, role_arn='"arn:aws:iam::123456789012:role/wafpipe-reader"')
    rc, out = run_once(tmp_path)
    assert rc == 0, out
    assert count(tmp_path) == events_in(paths)
    assumed = httpx.get(f"{aws.url}/moto-api/data.json").json()["sts"]["AssumedRole"]  # moto's own records
    assert [(r["role_arn"], r["session_name"]) for r in assumed] == [
        ("arn:aws:iam::123456789012:role/wafpipe-reader", "wafpipe")]


def test_a_listing_of_thousands_of_objects_is_read_page_by_page(
        tmp_path: Path, aws: MotoServer, s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 answers at most 1000 keys per listing: the source follows the pages (in this process,
    against moto) and sees every wanted object, and only those under the prefix."""
    for i in range(2150):
        s3.put_object(Bucket=BUCKET, Key=f"waf/{i // 1000}/{1000 + i}_{i}.log", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/1_1.log", Body=b"x")
    write_config(tmp_path, aws)
    with built_source(tmp_path / "wafpipe.toml", ENV, monkeypatch) as (source, _state):
        listed = source._list()  # noqa: SLF001 - the listing alone, without fetching 2150 files
    assert len(listed) == 2150 and len({o.name for o in listed}) == 2150
    assert all(o.name.startswith("waf/") for o in listed)
