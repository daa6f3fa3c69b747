"""The ``opensearch`` sink in rollover-alias mode (``use_data_stream = false``) on a real OpenSearch
2.19.6 node (issue 21, items 2 and 3).

In this mode ``wafpipe elastic setup`` installs ``logs-imperva.waf`` as a template for plain indices,
one template per namespace that names its rollover alias, and the bootstrap write index
``<alias>-000001``; the sink writes to the alias with ``require_alias``. The data-stream tests share
one node whose ``logs-imperva.waf`` template makes data streams, so this module starts a node of its
own: the two modes' templates have the same name and cannot live on one node.

Every test uses namespaces of its own. Nothing waits for time to pass: the sink is drained with
``flush`` (a hang guard only), and a held write is awaited as the condition the sink reports.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from opensearchpy import OpenSearch

from tests.cluster.conftest import GUARD_S, until
from tests.components import context
from tests.older_shape import V1_FIELD, older_document, older_mappings_component
from tests.servers.opensearch_fixture import module_node
from tests.servers.opensearch_node import OpenSearchNode
from wafpipe.config.root import Config, config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.model import Event
from wafpipe.sinks.elasticsearch.assets import templates as tpl
from wafpipe.sinks.elasticsearch.setup import run_setup
from wafpipe.sinks.elasticsearch.sink import ClusterSink, build_cluster_sink
from wafpipe.tools.generate import generate_files

START, END = datetime.fromisoformat("2024-06-10T06:00:00+00:00"), datetime.fromisoformat("2024-06-10T07:00:00+00:00")


node = module_node("alias-node")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    root = tmp_path_factory.mktemp("alias-gen")
    paths = [p for i, fmt in enumerate(("cef", "leef", "w3c"))
             for p in generate_files(root / fmt, events=100, fmt=fmt, attack_ratio=0.3, start=START, end=END,
                                     seed=60 + i)]
    found = [e for p in paths for e in read_path(p).items() if isinstance(e, Event)]
    assert len(found) == 300
    return found


def alias_of(namespace: str) -> str:
    return f"logs-imperva.waf-{namespace}"


def new_namespace() -> str:
    return f"ns{uuid.uuid4().hex[:12]}"


def make_config(root: Path, node: OpenSearchNode, **sink: Any) -> Config:
    entry = {"type": "opensearch", "hosts": [node.url], "use_data_stream": False, **sink}
    return config_from_dict({"data_dir": str(root / "data"), "sinks": [entry]}, file=None, base_dir=root)


def setup_output(cfg: Config) -> str:
    out = io.StringIO()
    assert run_setup(cfg, dry_run=False, out=out) == 0, out.getvalue()
    return out.getvalue()


def make_sink(cfg: Config) -> ClusterSink:
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
    sink.opt.retry_backoff_s, sink.opt.retry_max_backoff_s = 0.05, 0.5  # not settings: tuning defaults
    return sink


def deliver(cfg: Config, events: list[Event]) -> ClusterSink:
    sink = make_sink(cfg)
    sink.write(batch_of(events))
    assert sink.flush(GUARD_S), sink.stats
    sink.close()
    return sink


def stored_ids(client: OpenSearch, target: str) -> list[str]:
    client.indices.refresh(index=target)
    answer = client.search(index=target, body={"query": {"match_all": {}}, "_source": False, "size": 10000})
    return [h["_id"] for h in answer["hits"]["hits"]]



def test_setup_makes_the_write_index_and_the_sink_writes_through_the_alias_once(
        tmp_path: Path, node: OpenSearchNode, corpus: list[Event]) -> None:
    ns = new_namespace()
    alias, cfg = alias_of(ns), make_config(tmp_path, node, namespace=ns)
    first = setup_output(cfg)
    assert f"write index {alias}-000001 (alias {alias}): created" in first
    # no ISM plugin on Maven Central (tests/servers/opensearch/README.md): no policy, and no per-alias
    # template, whose one setting (the rollover alias for ISM) a node without ISM refuses
    assert "ISM policy logs-imperva.waf: skipped" in first
    assert f"index template {alias}: skipped: it only names the rollover alias for ISM" in first
    client = node.client()
    index = f"{alias}-000001"
    assert client.indices.get_alias(name=alias) == {index: {"aliases": {alias: {"is_write_index": True}}}}

    sink = deliver(cfg, corpus)
    assert (sink.stats.written, sink.stats.duplicates, sink.stats.dead_lettered) == (len(corpus), 0, 0)
    ids = stored_ids(client, alias)
    assert len(ids) == len(set(ids)) and set(ids) == {e.id for e in corpus}
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["source"]["properties"]["geo"]["properties"]["location"]["type"] == "geo_point"
    assert props["imperva"]["properties"]["waf"]["properties"]["request_headers"]["type"] == "flat_object"
    assert props["event"]["properties"]["original"]["index"] is False
    doc = client.get(index=alias, id=corpus[0].id)["_source"]
    assert doc.pop("data_stream") == {"type": "logs", "dataset": "imperva.waf", "namespace": ns}
    assert doc == corpus[0].doc

    # a replay with a fresh data dir: every create is a 409, counted as delivered
    sink = deliver(make_config(tmp_path / "again", node, namespace=ns), corpus)
    assert (sink.stats.written, sink.stats.duplicates, sink.stats.dead_lettered) == (0, len(corpus), 0)
    assert sorted(stored_ids(client, alias)) == sorted(ids)
    # a second setup changes nothing (the two ISM lines are skips)
    lines = [ln for ln in setup_output(cfg).splitlines() if ln.startswith("  ") and ": skipped: " not in ln]
    assert lines and all(ln.endswith(": unchanged") for ln in lines), lines


def test_without_setup_the_sink_bootstraps_each_write_alias(
        tmp_path: Path, node: OpenSearchNode, corpus: list[Event]) -> None:
    """No setup for these namespaces: the first write finds no alias (``require_alias``), and the sink
    creates ``<alias>-000001`` as its write index instead of letting a plain index named like the
    alias appear, which a later rollover could not roll."""
    one, other = new_namespace(), new_namespace()
    site = corpus[0].doc["imperva"]["waf"]["site"]["id"]
    rules = [{"match": "site_id", "value": site, "namespace": one}]
    deliver(make_config(tmp_path, node, namespace=other, namespace_rules=rules), corpus)
    client = node.client()
    for ns in (one, other):
        alias = alias_of(ns)
        assert client.indices.get_alias(name=alias) == {f"{alias}-000001": {"aliases": {alias: {"is_write_index": True}}}}
    routed = {e.id for e in corpus if e.doc["imperva"]["waf"]["site"]["id"] == site}
    assert routed and set(stored_ids(client, alias_of(one))) == routed
    assert set(stored_ids(client, alias_of(other))) == {e.id for e in corpus} - routed


def test_a_closed_write_index_holds_the_events_until_it_is_opened(
        tmp_path: Path, node: OpenSearchNode, corpus: list[Event]) -> None:
    """An operator closes the alias's write index: every create answers ``index_closed_exception``.
    The sink holds the events in its spool and says why; none is dead-lettered (the documents are
    fine); all are delivered once the index is opened."""
    ns = new_namespace()
    alias, cfg = alias_of(ns), make_config(tmp_path, node, namespace=ns)
    setup_output(cfg)
    client = node.client()
    sink = make_sink(cfg)
    try:
        sink.write(batch_of(corpus[:100]))
        assert sink.flush(GUARD_S)
        client.indices.close(index=f"{alias}-000001")
        try:
            sink.write(batch_of(corpus[100:]))
            until(lambda: "index_closed_exception" in (sink.stats.last_error or ""), "the sink reports the closed index")
            assert sink.stats.dead_lettered == 0 and sink.spool.pending_bytes > 0
        finally:
            client.indices.open(index=f"{alias}-000001")
        assert sink.flush(GUARD_S), f"not delivered after the index was opened: {sink.stats}"
        assert (sink.stats.written, sink.stats.dead_lettered) == (len(corpus), 0)
    finally:
        sink.close()
    assert sorted(stored_ids(client, alias)) == sorted(e.id for e in corpus)


def test_setup_rolls_a_shape_1_alias_over_and_its_documents_stay_queryable(
        tmp_path: Path, node: OpenSearchNode, corpus: list[Event]) -> None:
    """The rollover-alias twin of tests/cluster/test_opensearch_upgrade.py: an alias whose write index
    a shape-1 wafpipe made (tests/older_shape.py) is rolled over by setup to ``<alias>-000002`` with
    the new mappings; its shape-1 documents stay searchable through the alias beside the new ones."""
    ns = new_namespace()
    alias, cfg = alias_of(ns), make_config(tmp_path, node, namespace=ns)
    client = node.client()
    setup_output(cfg)
    client.cluster.put_component_template(name=tpl.MAPPINGS_COMPONENT, body=older_mappings_component("opensearch"))
    client.indices.delete(index=f"{alias}-000001")  # made by the setup above: remake it as shape 1 made it
    client.indices.create(index=f"{alias}-000001", body={"aliases": {alias: {"is_write_index": True}}})
    body = b"".join(orjson.dumps({"create": {"_index": alias, "_id": f"old-{n}", "require_alias": True}}) + b"\n"
                    + orjson.dumps(older_document(n, ns)) + b"\n" for n in range(30))
    assert not client.bulk(body=body)["errors"]

    text = setup_output(cfg)
    assert f"rollover alias {alias}: rolled over to {alias}-000002: its write index {alias}-000001 was made" in text
    assert client.indices.get_alias(name=alias)[f"{alias}-000002"]["aliases"][alias]["is_write_index"] is True
    mappings = client.indices.get_mapping(index=f"{alias}-000002")[f"{alias}-000002"]["mappings"]
    assert tpl.mappings_hash(mappings) == tpl.mappings_hash(tpl.mappings("opensearch"))
    deliver(cfg, corpus[:100])
    client.indices.refresh(index=alias)
    assert client.count(index=alias)["count"] == 130
    assert client.count(index=f"{alias}-000002")["count"] == 100
    assert client.count(index=alias, body={"query": {"exists": {"field": V1_FIELD}}})["count"] == 30
    assert ": rolled over to " not in setup_output(cfg)
