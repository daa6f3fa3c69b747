"""The same sink on ``opensearch-py`` against osmem-server (an in-memory OpenSearch-compatible
server that enforces mapping types and 409s on create; it has no data streams and no ISM, so these
tests use the rollover-alias mode, ``use_data_stream = false``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from tests.components import context
from tests.sinks.test_elasticsearch import corpus  # noqa: F401 - the shared generated events
from wafpipe.collector.state.store import State
from wafpipe.config.root import Config, config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.model import Event
from wafpipe.sinks.elasticsearch.client import OpenSearchClient
from wafpipe.sinks.elasticsearch.setup import run_setup
from wafpipe.sinks.elasticsearch.sink import ClusterSink, build_cluster_sink

ALIAS = "logs-imperva.waf-default"


@pytest.fixture
def url(osmem_clone: Any) -> str:
    return str(osmem_clone.url)


def make_config(root: Path, url: str, **sink: Any) -> Config:
    entry = {"type": "opensearch", "hosts": [url], "use_data_stream": False, **sink}
    return config_from_dict({"data_dir": str(root / "data"), "sinks": [entry]}, file=None, base_dir=root)


def make_sink(cfg: Config) -> ClusterSink:
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
    sink.opt.retry_backoff_s, sink.opt.retry_max_backoff_s = 0.05, 0.5
    return sink


def deliver(cfg: Config, events: list[Event]) -> ClusterSink:
    sink = make_sink(cfg)
    for i in range(0, len(events), 400):
        sink.write(batch_of(events[i : i + 400]))
    assert sink.flush(60), sink.stats
    sink.close()
    return sink


def stored_ids(url: str, target: str = ALIAS) -> list[str]:
    client = OpenSearch(hosts=[url])
    client.indices.refresh(index=target)
    resp = client.search(index=target, body={"query": {"match_all": {}}, "_source": False, "size": 10000})
    return [h["_id"] for h in resp["hits"]["hits"]]


def test_opensearch_sink_writes_once_and_counts_409_as_delivered(
        tmp_path: Path, url: str, corpus: list[Event]) -> None:  # noqa: F811
    cfg = make_config(tmp_path, url)
    out = io.StringIO()
    assert run_setup(cfg, dry_run=False, out=out) == 0, out.getvalue()
    assert "ISM policy logs-imperva.waf: skipped" in out.getvalue()  # osmem has no ISM plugin
    sink = deliver(cfg, corpus)
    assert isinstance(sink.client, OpenSearchClient)
    assert (sink.stats.written, sink.stats.duplicates) == (len(corpus), 0)
    ids = stored_ids(url)
    assert len(ids) == len(set(ids)) and set(ids) == {e.id for e in corpus}
    # the same events again, spool and state gone: every create is a 409, counted as delivered
    sink = deliver(make_config(tmp_path / "again", url), corpus)
    assert (sink.stats.written, sink.stats.duplicates, sink.stats.dead_lettered) == (0, len(corpus), 0)
    assert sorted(stored_ids(url)) == sorted(ids)


def test_template_and_alias_are_applied(tmp_path: Path, url: str, corpus: list[Event]) -> None:  # noqa: F811
    cfg = make_config(tmp_path, url)
    assert run_setup(cfg, dry_run=False, out=io.StringIO()) == 0
    deliver(cfg, corpus[:50])
    client = OpenSearch(hosts=[url])
    index = f"{ALIAS}-000001"
    assert client.indices.get_alias(name=ALIAS) == {index: {"aliases": {ALIAS: {"is_write_index": True}}}}
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["source"]["properties"]["geo"]["properties"]["location"]["type"] == "geo_point"
    assert props["imperva"]["properties"]["waf"]["properties"]["request_headers"]["type"] == "flat_object"
    assert props["event"]["properties"]["original"]["index"] is False
    doc = client.get(index=ALIAS, id=corpus[0].id)["_source"]
    assert doc["data_stream"] == {"type": "logs", "dataset": "imperva.waf", "namespace": "default"}
    # a second setup changes nothing
    out = io.StringIO()
    assert run_setup(cfg, dry_run=False, out=out) == 0
    lines = [ln for ln in out.getvalue().splitlines() if ln.startswith("  ") and "ISM" not in ln]
    assert lines and all(ln.endswith(": unchanged") for ln in lines), out.getvalue()


def test_mapping_errors_are_dead_lettered(tmp_path: Path, url: str, corpus: list[Event]) -> None:  # noqa: F811
    cfg = make_config(tmp_path, url)
    assert run_setup(cfg, dry_run=False, out=io.StringIO()) == 0
    bad = Event("bad-ip", {**corpus[0].doc, "source": {"ip": "999.1.1.1"}})
    sink = deliver(cfg, [*corpus[:30], bad])
    assert sink.stats.dead_lettered == 1
    state = State(tmp_path / "data")
    (dead,) = state.list_dead_letters()
    state.close()
    assert dead.record["id"] == "bad-ip" and "source.ip" in (dead.reason or "")
    assert set(stored_ids(url)) == {e.id for e in corpus[:30]}


def test_the_sink_bootstraps_a_missing_write_alias(tmp_path: Path, url: str, corpus: list[Event]) -> None:  # noqa: F811
    """Without setup, the first write finds no alias (require_alias): the sink creates
    ``<alias>-000001`` as its write index instead of letting a plain index named like the alias appear."""
    rules = [{"match": "site_id", "value": corpus[0].doc["imperva"]["waf"]["site"]["id"], "namespace": "one"}]
    deliver(make_config(tmp_path, url, namespace_rules=rules), corpus[:100])
    client = OpenSearch(hosts=[url])
    aliases = client.indices.get_alias(name="logs-imperva.waf-*")
    assert set(aliases) == {f"{ALIAS}-000001", "logs-imperva.waf-one-000001"}
    assert len(stored_ids(url, "logs-imperva.waf-*")) == 100


def test_the_elasticsearch_client_refuses_opensearch_with_a_hint(
        tmp_path: Path, url: str, corpus: list[Event]) -> None:  # noqa: F811
    cfg = config_from_dict({"data_dir": str(tmp_path), "sinks": [{"type": "elasticsearch", "hosts": [url]}]},
                           file=None, base_dir=tmp_path)
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
    sink.write(batch_of(corpus[:5]))
    assert not sink.flush(1.5)
    sink.close()
    assert 'type = "opensearch"' in (sink.stats.last_error or ""), sink.stats.last_error
