"""The ``sqs`` source end to end: S3 event notifications on a queue of a ``moto[server]`` process,
``wafpipe run --once`` subprocesses, the embedded store or the real OpenSearch node.

The notifications are sent by the test in S3's own shape (keys URL-encoded, a test event, a
duplicate, a body that is not a notification), so what each message holds is known exactly.
Expected numbers come from the generated files. The one wait (a message coming back after its
visibility timeout) waits for the condition, under a guard that only stops a hang.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from tests.collector.helpers import count, distinct_ids, wafpipe
from tests.servers.moto_server import REGION, SECRET_KEY, MotoServer
from tests.servers.opensearch_node import OpenSearchNode
from tests.sources.helpers import (
    AWS_ENV,
    END,
    START,
    built_source,
    events_in,
    two_collectors_store_each_event_once,
)
from wafpipe.tools.generate import generate_files

ENV = AWS_ENV
BUCKET = "imperva-push"
GUARD_S = 180.0



@pytest.fixture
def queue(aws: MotoServer) -> tuple[Any, Any, str]:
    aws.reset()
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket=BUCKET)
    url = sqs.create_queue(QueueName=f"imperva-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return s3, sqs, url


def notification(*keys: tuple[str, int, str]) -> str:
    records = [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION, "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": quote_plus(k), "size": size, "eTag": etag}}}
               for k, size, etag in keys]
    return json.dumps({"Records": records})


def upload(s3: Any, paths: list[Path], prefix: str = "logs/") -> list[tuple[str, int, str]]:
    out = []
    for p in paths:
        key = f"{prefix}{p.name}"
        etag = s3.put_object(Bucket=BUCKET, Key=key, Body=p.read_bytes())["ETag"].strip('"')
        out.append((key, p.stat().st_size, etag))
    return out



def write_config(root: Path, aws: MotoServer, queue_url: str, *, sink: str = "", **extra: str) -> Path:
    """The collector's config for the queue; ``extra`` keys (TOML values) add or replace."""
    keys = {"type": '"sqs"', "queue_url": f'"{queue_url}"', "region": f'"{REGION}"', "endpoint_url": f'"{aws.url}"',
            "path_style": "true", "access_key_id_env": '"WP_TEST_AWS_KEY_ID"',
            "secret_access_key_env": '"WP_TEST_AWS_SECRET"', "wait_time_s": "0", "visibility_timeout_s": "10",
            "max_backoff_s": "1.0", **extra}
    lines = [f'data_dir = "{root / "data"}"', "", "[[sources]]", *(f"{k} = {v}" for k, v in keys.items()), "",
             sink, "[api]", "port = 0", ""]
    root.mkdir(parents=True, exist_ok=True)
    (root / "wafpipe.toml").write_text("\n".join(lines))
    (root / "wafpipe.toml").chmod(0o600)
    return root / "wafpipe.toml"


def messages_left(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_each_notified_object_is_stored_once_and_every_message_is_deleted(
        tmp_path: Path, aws: MotoServer, queue: tuple[Any, Any, str]) -> None:
    s3, sqs, url = queue
    paths = [p for i, fmt in enumerate(("cef", "leef", "w3c"))
             for p in generate_files(tmp_path / "gen" / fmt, events=30, files=2, fmt=fmt, start=START, end=END, seed=80 + i)]
    objects = upload(s3, paths[:4]) + upload(s3, paths[4:], prefix="logs/with space/")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"}))
    sqs.send_message(QueueUrl=url, MessageBody=notification(*objects[:2]))
    for obj in objects[2:]:
        sqs.send_message(QueueUrl=url, MessageBody=notification(obj))
    sqs.send_message(QueueUrl=url, MessageBody=notification(objects[0]))  # S3 delivers at least once
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Type": "Notification", "Message": notification(objects[3])}))
    sqs.send_message(QueueUrl=url, MessageBody="this is not a notification")
    sqs.send_message(QueueUrl=url, MessageBody=notification(("logs/../../escape.log", 10, "x")))
    sqs.send_message(QueueUrl=url, MessageBody=notification(("logs/deleted-since.log", 10, "y")))  # no such object
    write_config(tmp_path, aws, url, after='"delete"')
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env=ENV)
    out = res.stdout + res.stderr
    assert SECRET_KEY not in out
    assert res.returncode == 1, out  # the odd message and the unsafe key are problems to look at
    assert "'imperva-push/logs/../../escape.log'" in out and "never reaches the disk" in out, out
    expected = events_in(paths)
    assert count(tmp_path) == expected and distinct_ids(tmp_path) == (expected, expected)
    assert messages_left(sqs, url) == 0  # every message deleted, the odd one after it was kept
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0  # after = delete
    dead = wafpipe("deadletters", "list", "-c", "wafpipe.toml", cwd=tmp_path, env=ENV)
    assert "this is not a notification" in dead.stdout, dead.stdout + dead.stderr


def test_a_collector_killed_mid_file_loses_nothing_the_message_comes_back(
        tmp_path: Path, aws: MotoServer, queue: tuple[Any, Any, str]) -> None:
    s3, sqs, url = queue
    paths = generate_files(tmp_path / "gen", events=3000, files=1, fmt="cef", start=START, end=END, seed=90)
    (obj,) = upload(s3, paths)
    sqs.send_message(QueueUrl=url, MessageBody=notification(obj))
    write_config(tmp_path, aws, url, **{"[pipeline]\nbatch_size": "500"})
    killed = wafpipe("run", "-c", "wafpipe.toml", "--once", "--workers", "0", cwd=tmp_path,
                     env={**ENV, "WAFPIPE_FAILPOINT": "sink.duckdb.after_commit:2"})
    assert killed.returncode == 137, killed.stderr  # two batches stored, then the process died
    assert 0 < count(tmp_path) < 3000 and messages_left(sqs, url) == 1  # not deleted: it comes back
    deadline = time.monotonic() + GUARD_S
    while count(tmp_path) < 3000:  # the message is invisible until its timeout ends: wait for it
        assert time.monotonic() < deadline, "the message never came back"
        res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env=ENV)
        assert res.returncode == 0, res.stderr
    assert distinct_ids(tmp_path) == (3000, 3000)
    assert messages_left(sqs, url) == 0


def test_two_collectors_on_one_queue_store_every_event_once_in_the_real_node(
        tmp_path: Path, aws: MotoServer, queue: tuple[Any, Any, str], opensearch_node: OpenSearchNode) -> None:
    s3, sqs, url = queue
    paths = [p for i, fmt in enumerate(("cef", "leef", "w3c", "cef"))
             for p in generate_files(tmp_path / "gen" / str(i), events=100, files=3, fmt=fmt, start=START, end=END,
                                     seed=95 + i)]
    for obj in upload(s3, paths):
        sqs.send_message(QueueUrl=url, MessageBody=notification(obj))
    two_collectors_store_each_event_once(
        tmp_path, opensearch_node, ENV,
        lambda root, sink: write_config(root, aws, url, sink=sink, max_messages="2"), paths)
    assert messages_left(sqs, url) == 0


def test_a_message_whose_file_is_still_in_the_pipeline_is_kept_hidden(
        tmp_path: Path, aws: MotoServer, queue: tuple[Any, Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The source itself against moto, with the one clock fixed (``WAFPIPE_NOW``): a message held for
    a file not yet stored is hidden again once half its visibility timeout has passed, not before,
    and never after its file is acknowledged. moto's own record (``visible_at``) is the witness."""
    s3, sqs, url = queue
    paths = generate_files(tmp_path / "gen", events=10, fmt="cef", start=START, end=END, seed=91)
    sqs.send_message(QueueUrl=url, MessageBody=notification(*upload(s3, paths)))
    config = write_config(tmp_path, aws, url, visibility_timeout_s="600")

    def visible_at() -> float:
        records = httpx.get(f"{aws.url}/moto-api/data.json").json()["sqs"]["Message"]
        # moto lists a received message twice (its queue and its in-flight set); the newest is the truth
        return max(float(m["visible_at"]) for m in records if m["body"].startswith('{"Records"'))

    with built_source(config, ENV, monkeypatch) as (source, state):
        monkeypatch.setenv("WAFPIPE_NOW", "2026-01-01T00:00:00Z")
        (ref,) = source.snapshot_complete()  # received and hidden for 600 s; its file is in the pipeline
        hidden = visible_at()
        monkeypatch.setenv("WAFPIPE_NOW", "2026-01-01T00:04:59Z")  # not yet half the timeout
        assert source.snapshot_complete() == []
        assert visible_at() == hidden
        monkeypatch.setenv("WAFPIPE_NOW", "2026-01-01T00:05:01Z")  # past half: hidden for 600 s again
        assert source.snapshot_complete() == []
        extended = visible_at()
        assert extended > hidden
        state.register_file(ref.key, source=ref.source, name=ref.name)
        state.mark_done(ref.key)
        source.ack(ref)  # every sink holds the file: the message is deleted
        assert messages_left(sqs, url) == 0
