"""Faults an operator causes on a real cluster, met by wafpipe's own ``opensearch`` sink (issue 21,
item 3) on the real OpenSearch 2.19.6 test node: the events are held in the spool with a message
that names the cause, nothing is dead-lettered, and everything is delivered once it is lifted.

Nothing waits for time to pass: each test waits for the *condition* it needs (the sink reporting
the failure, the spool delivered) under a generous guard that only stops a hang.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.cluster.conftest import GUARD_S, WafpipeRunner, until
from tests.servers.opensearch_node import OpenSearchNode
from wafpipe.collector.state.store import State
from wafpipe.config.root import config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.model import Context, Event
from wafpipe.sinks.elasticsearch.client import classify
from wafpipe.sinks.elasticsearch.sink import ClusterSink, build_cluster_sink
from wafpipe.tools.generate import generate_files

START, END = datetime.fromisoformat("2024-06-10T06:00:00+00:00"), datetime.fromisoformat("2024-06-10T07:00:00+00:00")



@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory, opensearch_node: OpenSearchNode, wafpipe: WafpipeRunner) -> None:
    """`wafpipe elastic setup` on the node: the streams below get wafpipe's mappings."""
    config = tmp_path_factory.mktemp("faults-setup") / "wafpipe.toml"
    config.write_text(f'[[sinks]]\ntype = "opensearch"\nhosts = ["{opensearch_node.url}"]\nuse_data_stream = true\n')
    config.chmod(0o600)
    wafpipe("elastic", "setup", "-c", config)


@pytest.fixture
def sink(tmp_path: Path, opensearch_node: OpenSearchNode, templates: None) -> Iterator[tuple[ClusterSink, State, str]]:
    """An in-process ``opensearch`` sink on a data stream of its own, with backoffs short enough
    that a lifted fault is noticed at once."""
    namespace = f"ns{uuid.uuid4().hex[:12]}"
    entry = {"type": "opensearch", "hosts": [opensearch_node.url], "namespace": namespace, "use_data_stream": True}
    cfg = config_from_dict({"data_dir": str(tmp_path / "data"), "sinks": [entry]}, file=None, base_dir=tmp_path)
    state = State(cfg.data_dir)
    built = build_cluster_sink(cfg.sinks[0], Context(cfg.data_dir, state=state))  # type: ignore[arg-type]
    built.opt.retry_backoff_s, built.opt.retry_max_backoff_s = 0.1, 0.5  # not settings: tuning defaults
    stream = f"logs-imperva.waf-{namespace}"
    try:
        yield built, state, stream
    finally:
        built.close()
        state.close()
        opensearch_node.client().indices.delete_data_stream(name=stream, ignore=[404])


def events(tmp_path: Path, n: int, seed: int) -> list[Event]:
    paths = generate_files(tmp_path / f"gen{seed}", events=n, fmt="cef", start=START, end=END, seed=seed)
    found = [e for p in paths for e in read_path(p).items() if isinstance(e, Event)]
    assert len(found) == n
    return found


def test_a_write_blocked_stream_holds_the_events_until_the_block_is_lifted(
    sink: tuple[ClusterSink, State, str], opensearch_node: OpenSearchNode, tmp_path: Path
) -> None:
    """``index.blocks.write`` on the stream's backing index (what an operator, or the flood-stage
    watermark's read-only block, does): the node answers 403 ``cluster_block_exception`` for every
    document. The sink keeps them in its spool, says why, dead-letters none, and delivers them all
    once the block is removed."""
    cluster_sink, state, stream = sink
    first, held = events(tmp_path, 40, 1), events(tmp_path, 40, 2)
    cluster_sink.write(batch_of(first))
    assert cluster_sink.flush(GUARD_S)
    client = opensearch_node.client()
    (backing,) = [i["index_name"] for i in client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]]
    client.indices.put_settings(index=backing, body={"index.blocks.write": True})
    try:
        cluster_sink.write(batch_of(held))
        until(lambda: "cluster_block_exception" in (cluster_sink.stats.last_error or ""), "the sink reports the block")
        assert "40 documents to retry" in (cluster_sink.stats.last_error or "")
        assert cluster_sink.stats.dead_lettered == 0 and cluster_sink.spool.pending_bytes > 0
    finally:
        client.indices.put_settings(index=backing, body={"index.blocks.write": None})
    assert cluster_sink.flush(GUARD_S), f"not delivered after the block was lifted: {cluster_sink.stats}"
    assert (cluster_sink.stats.written, cluster_sink.stats.dead_lettered) == (80, 0)
    assert state.count_dead_letters() == 0
    client.indices.refresh(index=stream)
    assert client.count(index=stream)["count"] == 80


def test_a_closed_index_is_a_hold_not_a_bad_document(
    sink: tuple[ClusterSink, State, str], opensearch_node: OpenSearchNode, tmp_path: Path
) -> None:
    """What the node answers for a create in a closed index (``index_closed_exception``, HTTP 400)
    is classed as a hold to retry until an operator opens the index, not as a document to
    dead-letter after ``max_retries``. A data stream's write index cannot be closed, so the stream
    is rolled over and its old backing index closed; the create names that index, as a sink in
    rollover-alias mode (``use_data_stream = false``) whose write index was closed would."""
    cluster_sink, state, stream = sink
    cluster_sink.write(batch_of(events(tmp_path, 10, 3)))
    assert cluster_sink.flush(GUARD_S)
    client = opensearch_node.client()
    client.indices.rollover(alias=stream)
    old = client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"][0]["index_name"]
    client.indices.close(index=old)
    try:
        body = f'{{"create":{{"_index":"{old}","_id":"closed-1"}}}}\n{{"@timestamp":"2024-06-10T06:00:00Z"}}\n'
        errors, items = cluster_sink.client.bulk(body.encode())
        item = items[0]["create"]
        assert errors and item["error"]["type"] == "index_closed_exception", item
        assert classify(item) == "retry"
    finally:
        client.indices.open(index=old)


def test_the_node_stopped_mid_run_loses_and_duplicates_nothing(
    sink: tuple[ClusterSink, State, str], opensearch_node: OpenSearchNode, tmp_path: Path
) -> None:
    """The node goes down between two batches and comes back on the same data (and port): the
    second batch waits in the spool while the sink says the cluster cannot be reached, then every
    event is there exactly once (a bulk request cut by the stop may be sent again: its documents
    are then 409s, counted as already there)."""
    cluster_sink, state, stream = sink
    first, held = events(tmp_path, 50, 4), events(tmp_path, 50, 5)
    cluster_sink.write(batch_of(first))
    assert cluster_sink.flush(GUARD_S)
    port = opensearch_node.port
    opensearch_node.stop()
    try:
        cluster_sink.write(batch_of(held))
        until(lambda: cluster_sink.stats.last_error is not None, "the sink reports the cluster down")
        assert cluster_sink.spool.pending_bytes > 0 and cluster_sink.stats.dead_lettered == 0
    finally:
        opensearch_node.start()
    if opensearch_node.port != port:  # the old port was taken meanwhile: nothing to prove here
        pytest.skip(f"the node came back on another port ({port} → {opensearch_node.port})")
    assert cluster_sink.flush(GUARD_S), f"not delivered after the node came back: {cluster_sink.stats}"
    stats = cluster_sink.stats
    assert (stats.written + stats.duplicates, stats.dead_lettered) == (100, 0)
    assert state.count_dead_letters() == 0
    client = opensearch_node.client()
    client.indices.refresh(index=stream)
    assert client.count(index=stream)["count"] == 100


def test_a_bulk_request_over_the_node_limit_is_split_not_lost(tmp_path: Path) -> None:
    """A node whose ``http.max_content_length`` is smaller than one bulk request answers 413; the
    sink splits the request until each part fits and delivers every document, none dead-lettered."""
    from tests.servers.opensearch_fixture import start_node

    node = start_node(tmp_path / "node", settings={"http.max_content_length": "64kb"})
    try:
        entry = {"type": "opensearch", "hosts": [node.url], "namespace": "limit", "use_data_stream": True}
        cfg = config_from_dict({"data_dir": str(tmp_path / "data"), "sinks": [entry]}, file=None, base_dir=tmp_path)
        state = State(cfg.data_dir)
        try:
            cluster_sink = build_cluster_sink(cfg.sinks[0], Context(cfg.data_dir, state=state))  # type: ignore[arg-type]
            batch = events(tmp_path, 300, 6)  # ~1 MB of documents in bulk requests of up to 1000
            try:
                cluster_sink.write(batch_of(batch))
                assert cluster_sink.flush(GUARD_S), f"not delivered: {cluster_sink.stats}"
            finally:
                cluster_sink.close()
            stats = cluster_sink.stats
            assert (stats.written, stats.dead_lettered) == (300, 0)
            assert stats.requests > 1  # it was split
            assert state.count_dead_letters() == 0
        finally:
            state.close()
        client = node.client()
        client.indices.refresh(index="logs-imperva.waf-limit")
        assert client.count(index="logs-imperva.waf-limit")["count"] == 300
    finally:
        node.stop()


def test_the_flood_stage_watermark_holds_the_events_until_the_disk_is_fine(tmp_path: Path) -> None:
    """Disk watermarks set so that the node's disk counts as full (flood stage): OpenSearch puts a
    read-only-allow-delete block on the index, and writes fail with ``cluster_block_exception``.
    The sink holds the events and says why; once the watermarks are back to normal the node lifts
    the block itself and every event is delivered. A node of its own: the block would hit every
    index of the shared node."""
    from tests.servers.opensearch_fixture import start_node

    node = start_node(tmp_path / "node")
    full = {
        "cluster.routing.allocation.disk.threshold_enabled": True,
        "cluster.routing.allocation.disk.watermark.low": "1000tb",
        "cluster.routing.allocation.disk.watermark.high": "999tb",
        "cluster.routing.allocation.disk.watermark.flood_stage": "998tb",
        "cluster.info.update.interval": "10s",  # its minimum
    }
    # the monitor stays on (it is what lifts the block), with watermarks any disk meets (free bytes)
    normal = {**full, "cluster.routing.allocation.disk.watermark.low": "3kb",
              "cluster.routing.allocation.disk.watermark.high": "2kb",
              "cluster.routing.allocation.disk.watermark.flood_stage": "1kb"}
    stream = "logs-imperva.waf-flood"
    try:
        entry = {"type": "opensearch", "hosts": [node.url], "namespace": "flood", "use_data_stream": True}
        cfg = config_from_dict({"data_dir": str(tmp_path / "data"), "sinks": [entry]}, file=None, base_dir=tmp_path)
        state = State(cfg.data_dir)
        client = node.client()
        try:
            cluster_sink = build_cluster_sink(cfg.sinks[0], Context(cfg.data_dir, state=state))  # type: ignore[arg-type]
            cluster_sink.opt.retry_backoff_s, cluster_sink.opt.retry_max_backoff_s = 0.1, 0.5
            try:
                cluster_sink.write(batch_of(events(tmp_path, 30, 7)))
                assert cluster_sink.flush(GUARD_S)
                client.cluster.put_settings(body={"transient": full})

                def blocked() -> bool:
                    settings = client.indices.get_settings(index=stream, name="index.blocks.*")
                    return any(s["settings"] for s in settings.values())

                until(blocked, "the flood-stage block on the stream's index")
                cluster_sink.write(batch_of(events(tmp_path, 30, 8)))
                until(lambda: "cluster_block_exception" in (cluster_sink.stats.last_error or ""),
                      "the sink reports the block")
                assert cluster_sink.stats.dead_lettered == 0 and cluster_sink.spool.pending_bytes > 0
                client.cluster.put_settings(body={"transient": normal})
                assert cluster_sink.flush(GUARD_S), f"not delivered after the disk was fine: {cluster_sink.stats}"
            finally:
                cluster_sink.close()
            assert (cluster_sink.stats.written, cluster_sink.stats.dead_lettered) == (60, 0)
            assert state.count_dead_letters() == 0
        finally:
            state.close()
        client.indices.refresh(index=stream)
        assert client.count(index=stream)["count"] == 60
    finally:
        node.stop()
