"""The archive sink on S3 (``s3 = {...}``), against a ``moto[server]`` process on 127.0.0.1
(tests/servers/moto_server.py): every event once, each object (Parquet, original, manifest segment)
put with the Object Lock retention the manifest records; ``archive verify`` names a modified,
deleted or inserted object, reordered or changed manifest segments, and a lock that is missing or
shorter, and an untouched archive verifies; a crash between objects and commit (in process, and a
real ``wafpipe run`` killed at the ``sink.archive.after_write`` failpoint) leaves an archive that
verifies and, after the restart, holds every acknowledged event once; a bucket without Object Lock
is refused when the lock is required.

The clock is fixed (``WAFPIPE_NOW``), so retain-until times are exact; nothing waits for time.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.cli.helpers import wafpipe
from tests.collector.test_failpoints import Corpus, command, corpus, crash_run, env  # noqa: F401 - corpus: fixture
from tests.servers.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from wafpipe.decode.reader import read_path
from wafpipe.errors import ConfigError, SinkError
from wafpipe.model import Batch
from wafpipe.sinks.archive import ArchiveSink, S3Storage
from wafpipe.sinks.archive.config import ArchiveSinkConfig
from wafpipe.sinks.archive.verify import verify
from wafpipe.tools.generate import generate_files

BUCKET, PLAIN = "waf-archive", "waf-archive-plain"
PREFIX = "prod/"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
DAYS = 30
AWS_ENV = {"WP_TEST_AWS_KEY_ID": ACCESS_KEY, "WP_TEST_AWS_SECRET": SECRET_KEY}


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def s3(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh moto: one bucket with Object Lock (no default retention), one without."""
    aws.reset()
    for var, value in AWS_ENV.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("WAFPIPE_NOW", NOW.isoformat())
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    client.create_bucket(Bucket=PLAIN)
    return client


def s3_table(aws: MotoServer, bucket: str = BUCKET, **extra: Any) -> dict[str, Any]:
    return {"bucket": bucket, "prefix": PREFIX, "region": REGION, "endpoint_url": aws.url, "path_style": True,
            "access_key_id_env": "WP_TEST_AWS_KEY_ID", "secret_access_key_env": "WP_TEST_AWS_SECRET", **extra}


def storage(aws: MotoServer, bucket: str = BUCKET, **extra: Any) -> S3Storage:
    config = ArchiveSinkConfig.model_validate({"type": "archive", "s3": s3_table(aws, bucket, **extra)})
    assert config.s3 is not None
    return S3Storage(config.s3)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("archive-s3-input")
    return generate_files(root, events=600, files=2, attack_ratio=0.3, start=datetime(2026, 10, 30, 22, tzinfo=UTC),
                          end=datetime(2026, 10, 31, 2, tzinfo=UTC), seed=252)  # fmt: skip


@pytest.fixture(scope="module")
def batches(inputs: list[Path]) -> list[Batch]:
    return [b for p in inputs for b in read_path(p, batch_rows=150).batches(p.name)]


def archive(aws: MotoServer, batches: list[Batch], **extra: Any) -> S3Storage:
    sink = ArchiveSink(storage(aws, retention_days=DAYS, **extra))
    sink.open()
    for batch in batches:
        sink.write(batch)
    sink.close()
    return storage(aws, retention_days=DAYS, **extra)


def keys(s3: Any, under: str, bucket: str = BUCKET) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX + under)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def archived_ids(s3: Any, bucket: str = BUCKET) -> list[str]:
    ids: list[str] = []
    for key in keys(s3, "events/", bucket):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        ids += pq.read_table(io.BytesIO(body), columns=["_id"]).column("_id").to_pylist()
    return ids


def test_every_event_once_and_every_object_locked_as_its_line_says(
        aws: MotoServer, s3: Any, batches: list[Batch], inputs: list[Path]) -> None:
    target = archive(aws, batches)
    ids = [i for b in batches for i in b.ids]
    assert sorted(archived_ids(s3)) == sorted(ids) and len(set(ids)) == len(ids)
    originals = keys(s3, "originals/")
    assert sorted(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in originals) == sorted(
        p.read_bytes() for p in inputs)  # fmt: skip
    segments = keys(s3, "manifest/")
    assert segments and all(k.removeprefix(PREFIX + "manifest/")[:20].isdigit() for k in segments)
    assert keys(s3, "pending/") == []  # every write finished
    until = NOW + timedelta(days=DAYS)
    for key in keys(s3, "events/") + originals + segments:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] == until, key
    lines = [json.loads(line) for k in segments for line in s3.get_object(Bucket=BUCKET, Key=k)["Body"].iter_lines()]
    assert {(e["lock"], e["retain_until"]) for e in lines} == {("COMPLIANCE", "2026-12-02T12:00:00Z")}
    # a replay (the collector after a crash) adds nothing
    again = ArchiveSink(target)
    again.open()
    results = [again.write(b) for b in batches]
    assert sum(r.written for r in results) == 0 and keys(s3, "manifest/") == segments
    verdict = verify(target)
    assert verdict.ok and verdict.rows == len(ids) and verdict.lines == len(lines), verdict.broken


def first_event(s3: Any) -> str:
    return keys(s3, "events/")[0]


def modify_one(s3: Any) -> str:
    key = first_event(s3)
    data = bytearray(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(data))  # a new version on top
    return key.removeprefix(PREFIX)


def delete_one(s3: Any) -> str:
    key = first_event(s3)
    s3.delete_object(Bucket=BUCKET, Key=key)  # a delete marker: the locked version stays, hidden
    return key.removeprefix(PREFIX)


def insert_one(s3: Any) -> str:
    key = first_event(s3).replace(".parquet", "-extra.parquet")
    s3.put_object(Bucket=BUCKET, Key=key, Body=s3.get_object(Bucket=BUCKET, Key=first_event(s3))["Body"].read())
    return key.removeprefix(PREFIX)


def reorder_two(s3: Any) -> str:
    a, b = keys(s3, "manifest/")[1:3]
    data_a, data_b = (s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in (a, b))
    s3.put_object(Bucket=BUCKET, Key=a, Body=data_b)
    s3.put_object(Bucket=BUCKET, Key=b, Body=data_a)
    return f"{a.removeprefix(PREFIX)} line 1"


def change_a_line(s3: Any) -> str:
    key = keys(s3, "manifest/")[0]
    lines = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines(keepends=True)
    entry = json.loads(lines[0])
    entry["rows"] += 1
    lines[0] = json.dumps(entry) + "\n"
    s3.put_object(Bucket=BUCKET, Key=key, Body="".join(lines).encode())
    return f"{key.removeprefix(PREFIX)} line 1"


def shorten_a_lock(s3: Any) -> str:
    """Governance mode can be shortened by whoever may bypass it: verify notices."""
    key = first_event(s3)
    s3.put_object_retention(Bucket=BUCKET, Key=key, BypassGovernanceRetention=True,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": NOW + timedelta(days=1)})  # fmt: skip
    return key.removeprefix(PREFIX)


def unlock_one(s3: Any) -> str:
    """The same bytes put again without a retention: content intact, protection gone."""
    key = first_event(s3)
    s3.put_object(Bucket=BUCKET, Key=key, Body=s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return key.removeprefix(PREFIX)


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (modify_one, "content differs"),
        (delete_one, "missing"),
        (insert_one, "not in the manifest"),
        (reorder_two, "a line was removed, inserted or moved"),
        (change_a_line, "the line was changed"),
        (shorten_a_lock, "shorter than the 2026-12-02T12:00:00+00:00 it was archived with"),
        (unlock_one, "has no Object Lock retention"),
    ],
)
def test_verify_names_each_broken_link(aws: MotoServer, s3: Any, batches: list[Batch],
                                       tamper: Callable[[Any], str], says: str) -> None:
    target = archive(aws, batches[:4], retention_mode="governance")
    assert verify(target).ok
    named = tamper(s3)
    verdict = verify(target)
    assert any(named in problem and says in problem for problem in verdict.broken), verdict.broken


def crash_at_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The failpoint raises instead of exiting, so the crash can be looked at in process."""
    def crash(name: str) -> None:
        raise KeyboardInterrupt(name)

    monkeypatch.setattr("wafpipe.sinks.archive.sink.failpoint", crash)


def test_a_crash_before_the_commit_leaves_leftovers_verify_tells_apart_and_open_removes(
        aws: MotoServer, s3: Any, batches: list[Batch], monkeypatch: pytest.MonkeyPatch) -> None:
    sink = ArchiveSink(storage(aws, retention_days=DAYS))
    for batch in batches[:3]:  # the first file, its original with its final (empty) Batch
        sink.write(batch)
    with monkeypatch.context() as m:
        crash_at_commit(m)
        with pytest.raises(KeyboardInterrupt):
            sink.write(batches[3])  # objects put at their final keys, no segment
    verdict = verify(storage(aws))
    assert verdict.ok and verdict.leftovers and len(keys(s3, "pending/")) == 1, verdict.broken
    acknowledged = sorted(i for b in batches[:3] for i in b.ids)
    assert sorted(archived_ids(s3)) != acknowledged  # the leftovers are there
    restarted = ArchiveSink(storage(aws, retention_days=DAYS))
    restarted.open()  # removes them (delete markers over locked versions) and the intent
    assert keys(s3, "pending/") == [] and sorted(archived_ids(s3)) == acknowledged
    for batch in batches:  # the collector replays from the last acknowledged Batch
        restarted.write(batch)
    ids = archived_ids(s3)
    assert sorted(ids) == sorted(i for b in batches for i in b.ids) and len(ids) == len(set(ids))
    verdict = verify(storage(aws))
    assert verdict.ok and not verdict.leftovers, verdict.broken


def test_a_crash_after_the_commit_leaves_only_the_intent(
        aws: MotoServer, s3: Any, batches: list[Batch], monkeypatch: pytest.MonkeyPatch) -> None:
    sink = ArchiveSink(storage(aws, retention_days=DAYS))
    sink.write(batches[0])
    with monkeypatch.context() as m:
        m.setattr(S3Storage, "publish", lambda self, names: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            sink.write(batches[1])
    assert len(keys(s3, "pending/")) == 1 and verify(storage(aws)).ok
    restarted = ArchiveSink(storage(aws, retention_days=DAYS))
    results = [restarted.write(b) for b in (batches[0], batches[1], batches[3])]
    assert [r.written for r in results] == [0, 0, len(batches[3])] and keys(s3, "pending/") == []
    assert verify(storage(aws)).ok


def test_a_bucket_without_object_lock_is_refused_when_the_lock_is_required(
        aws: MotoServer, s3: Any, batches: list[Batch]) -> None:
    sink = ArchiveSink(storage(aws, PLAIN))
    with pytest.raises(SinkError) as caught:
        sink.open()
    message = str(caught.value)
    assert f"s3://{PLAIN}/{PREFIX}: the bucket has no Object Lock" in message and "if_available" in message
    assert SECRET_KEY not in message and keys(s3, "", PLAIN) == []
    # if_available archives there, unlocked, and says nothing is broken
    target = storage(aws, PLAIN, object_lock="if_available")
    sink = ArchiveSink(target)
    sink.open()
    sink.write(batches[0])
    assert "ObjectLockMode" not in s3.head_object(Bucket=PLAIN, Key=keys(s3, "events/", PLAIN)[0])
    assert verify(storage(aws, PLAIN, object_lock="if_available")).ok
    # a locked bucket without default retention needs retention_days
    with pytest.raises(SinkError, match="no default retention"):
        ArchiveSink(storage(aws)).open()


def test_the_bucket_default_retention_applies_when_no_days_are_configured(aws: MotoServer, s3: Any,
                                                                         batches: list[Batch]) -> None:
    s3.create_bucket(Bucket="waf-archive-default", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket="waf-archive-default", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 7}}})
    sink = ArchiveSink(storage(aws, "waf-archive-default"))
    sink.write(batches[0])
    head = s3.head_object(Bucket="waf-archive-default", Key=keys(s3, "events/", "waf-archive-default")[0])
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] == NOW + timedelta(days=7)


@pytest.mark.parametrize(("table", "says"), [
    ({"path": "a", "s3": {"bucket": BUCKET}}, "exactly one target"),
    ({}, "exactly one target"),
    ({"s3": {"bucket": BUCKET, "secret_access_key": "x"}}, "secret_access_key_env"),
    ({"s3": {"bucket": BUCKET, "retention_mode": "legal"}}, "retention_mode"),
    ({"s3": {"bucket": BUCKET, "prefix": "a/../b"}}, "prefix"),
])
def test_the_target_is_one_of_path_and_s3(tmp_path: Path, table: dict[str, Any], says: str) -> None:
    from wafpipe.config.root import config_from_dict

    with pytest.raises(ConfigError) as caught:
        config_from_dict({"sinks": [{"type": "archive", **table}]}, file=None, base_dir=tmp_path)
    assert says in str(caught.value) and "sinks[0]" in str(caught.value), str(caught.value)


def write_config(root: Path, aws: MotoServer, *, source: bool = False) -> None:
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in s3_table(aws, retention_days=DAYS).items())
    text = 'data_dir = "data"\n[api]\nport = 0\n'
    if source:
        text += ('[[sources]]\ntype = "directory"\npath = "incoming"\npatterns = ["*.log", "*.log.gz"]\n'
                 'poll_interval_s = 0.2\nstable_checks = 1\nafter = "move"\ndone_dir = "done"\n'
                 "[pipeline]\nworkers = 1\nbatch_size = 100\nbatch_timeout_s = 30\n"
                 '[[sinks]]\ntype = "duckdb"\n')  # fmt: skip
    text += f'[[sinks]]\ntype = "archive"\ns3 = {{ {table} }}\n'
    root.mkdir(parents=True, exist_ok=True)
    (root / "wafpipe.toml").write_text(text)
    (root / "wafpipe.toml").chmod(0o600)


def test_the_command_checks_the_configured_bucket_or_the_one_named(
        aws: MotoServer, s3: Any, batches: list[Batch], tmp_path: Path) -> None:
    archive(aws, batches[:3])
    write_config(tmp_path, aws)
    ok = wafpipe("archive", "verify", "-c", "wafpipe.toml", cwd=tmp_path, env=AWS_ENV)
    assert ok.returncode == 0 and f"s3://{BUCKET}/{PREFIX}: intact" in ok.stdout, ok.stdout + ok.stderr
    named = delete_one(s3)
    plain_env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}  # the standard chain
    bad = wafpipe("archive", "verify", "--s3-bucket", BUCKET, "--s3-prefix", PREFIX, "--s3-endpoint-url", aws.url,
                  "--s3-region", REGION, cwd=tmp_path, env=plain_env)  # fmt: skip
    assert bad.returncode == 1 and f"BROKEN  s3://{BUCKET}/{PREFIX}: {named}: missing" in bad.stdout, bad.stdout
    for res in (ok, bad):
        assert SECRET_KEY not in res.stdout + res.stderr
    assert SECRET_KEY not in wafpipe("archive", "verify", "--help", cwd=tmp_path).stdout


def test_a_run_killed_at_the_archive_failpoint_leaves_a_verifiable_bucket_and_loses_nothing(
        aws: MotoServer, s3: Any, corpus: Corpus, tmp_path: Path,  # noqa: F811 - corpus: the fixture
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``wafpipe run --once`` with DuckDB and the S3 archive, killed (exit 137) when its objects of
    the 3rd Batch are put but not committed; then run again without the failpoint."""
    import shutil

    write_config(tmp_path, aws, source=True)
    shutil.copytree(corpus.dir, tmp_path / "incoming")
    monkeypatch.delenv("WAFPIPE_NOW")  # the collector's clock is the real one; the credentials stay set
    crash = crash_run(tmp_path, "sink.archive.after_write", 3)
    assert crash.hit_pid == crash.pid and crash.returncode == 137, crash.stderr[-3000:]
    verdict = verify(storage(aws))
    assert verdict.ok and verdict.leftovers, verdict.broken  # put, never committed: told apart
    res = subprocess.run(command(), cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env())
    assert res.returncode == 0, res.stderr[-3000:]
    verdict = verify(storage(aws))
    assert verdict.ok and not verdict.leftovers, verdict.broken
    ids = archived_ids(s3)
    dup = [i for i, c in Counter(ids).items() if c > 1]
    assert not dup and set(ids) == corpus.ids, f"{len(dup)} twice, {len(corpus.ids - set(ids))} lost"
    originals = sorted(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys(s3, "originals/"))
    assert originals == sorted(p.read_bytes() for p in (tmp_path / "done").iterdir())


def test_a_second_writer_cannot_fork_the_chain_and_a_damaged_segment_stops_the_sink(
        aws: MotoServer, s3: Any, batches: list[Batch]) -> None:
    """A segment is never put over another (If-None-Match): a writer whose view is stale is refused,
    reads the manifest again and its retry is chained after the other's; a segment wafpipe did not
    write stops the sink at open."""
    first, second = ArchiveSink(storage(aws, retention_days=DAYS)), ArchiveSink(storage(aws, retention_days=DAYS))
    first.open()
    second.open()
    first.write(batches[0])
    with pytest.raises(SinkError, match="exists already"):
        second.write(batches[3])
    assert second.write(batches[3]).written == len(batches[3])
    verdict = verify(storage(aws))
    assert second.write(batches[0]).written == 0 and verdict.ok and not verdict.leftovers, verdict.broken
    key = keys(s3, "manifest/")[-1]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"seq": 1, "object": "events/x"')  # cut, no commit
    with pytest.raises(SinkError, match="damaged"):
        ArchiveSink(storage(aws, retention_days=DAYS)).open()
    assert not verify(storage(aws)).ok
