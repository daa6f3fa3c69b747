"""``wafpipe elastic setup`` moves streams of the old document shape onto the new mappings, on the
real OpenSearch 2.19.6 node (issue 21, item 5).

A stream made by a wafpipe of document shape 1 (tests/older_shape.py: its mappings component, and
documents written as it wrote them) is rolled over by setup: the new write index is made from the
new mappings, the shape-1 documents stay in their index and answer queries on their shape-1 field,
and the sink's new documents land next to them in the same stream. A second setup changes nothing.

The node is this module's own: the shape-1 mappings component replaces the shared node's, and the
rollover reaches every ``logs-imperva.waf-*`` stream of the node.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import orjson

from tests.cluster.conftest import GUARD_S
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
from wafpipe.sinks.elasticsearch.sink import build_cluster_sink
from wafpipe.tools.generate import generate_files

START, END = datetime.fromisoformat("2024-06-10T06:00:00+00:00"), datetime.fromisoformat("2024-06-10T07:00:00+00:00")
OLD_DOCS = 50


node = module_node("upgrade-node")


def setup_text(cfg: Config) -> str:
    out = io.StringIO()
    assert run_setup(cfg, dry_run=False, out=out) == 0, out.getvalue()
    return out.getvalue()


def test_setup_rolls_a_shape_1_stream_over_and_its_documents_stay_queryable(tmp_path: Path, node: OpenSearchNode) -> None:
    namespace = "upgraded"
    stream = f"logs-imperva.waf-{namespace}"
    entry = {"type": "opensearch", "hosts": [node.url], "namespace": namespace, "use_data_stream": True}
    cfg = config_from_dict({"data_dir": str(tmp_path / "data"), "sinks": [entry]}, file=None, base_dir=tmp_path)
    client = node.client()

    # what a shape-1 wafpipe left: its templates, and a stream of its documents
    setup_text(cfg)
    client.cluster.put_component_template(name=tpl.MAPPINGS_COMPONENT, body=older_mappings_component("opensearch"))
    body = b"".join(orjson.dumps({"create": {"_index": stream, "_id": f"old-{n}"}}) + b"\n"
                    + orjson.dumps(older_document(n, namespace)) + b"\n" for n in range(OLD_DOCS))
    assert not client.bulk(body=body)["errors"]
    (old_index,) = [i["index_name"] for i in client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]]
    assert tpl.mappings_hash(client.indices.get_mapping(index=old_index)[old_index]["mappings"]) is None

    text = setup_text(cfg)
    assert f"component template {tpl.MAPPINGS_COMPONENT}: updated" in text
    assert f"data stream {stream}: rolled over to " in text and f"its write index {old_index} was made" in text
    indices = [i["index_name"] for i in client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]]
    assert len(indices) == 2 and indices[0] == old_index
    new_index = indices[1]
    mappings = client.indices.get_mapping(index=new_index)[new_index]["mappings"]
    assert tpl.mappings_hash(mappings) == tpl.mappings_hash(tpl.mappings("opensearch"))
    assert "v1_only" not in mappings["properties"]["imperva"]["properties"]["waf"]["properties"]

    # the sink's shape-2 documents go to the new write index, beside the old ones
    paths = generate_files(tmp_path / "gen", events=80, fmt="cef", attack_ratio=0.3, start=START, end=END, seed=91)
    events = [e for p in paths for e in read_path(p).items() if isinstance(e, Event)]
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
    try:
        sink.write(batch_of(events))
        assert sink.flush(GUARD_S), sink.stats
    finally:
        sink.close()
    assert (sink.stats.written, sink.stats.dead_lettered) == (len(events), 0)
    client.indices.refresh(index=stream)
    assert client.count(index=stream)["count"] == OLD_DOCS + len(events)
    assert client.count(index=new_index)["count"] == len(events)
    assert client.count(index=stream, body={"query": {"exists": {"field": V1_FIELD}}})["count"] == OLD_DOCS
    assert client.count(index=stream, body={"query": {"term": {V1_FIELD: "old-7"}}})["count"] == 1
    old_ips = client.count(index=stream, body={"query": {"term": {"source.ip": "10.1.0.0/24"}}})["count"]
    assert old_ips >= OLD_DOCS  # ip-typed in both shapes: one query spans both indices

    again = setup_text(cfg)
    assert ": rolled over to " not in again, again
    assert [i["index_name"] for i in client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]] == indices
