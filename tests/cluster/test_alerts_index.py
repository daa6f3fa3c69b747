"""A cluster sink also keeps the alerts, in its ``wafpipe-alerts`` index of the real OpenSearch node:
one document per alert (its id the alert's), so Kibana/Dashboards users see them beside the events."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.cluster.conftest import WafpipeRunner, write_config
from tests.collector.test_alerts import EXPECTED, first_file
from tests.filebuilder import make_file
from tests.servers.opensearch_node import OpenSearchNode
from wafpipe.collector.alert_outputs import ALERTS_INDEX


def test_alerts_are_documents_of_the_alerts_index(tmp_path: Path, opensearch_node: OpenSearchNode,
                                                   wafpipe: WafpipeRunner) -> None:  # fmt: skip
    namespace = f"ns{uuid.uuid4().hex[:12]}"
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(first_file()))
    config = write_config(tmp_path / "wafpipe.toml", opensearch_node, namespace, tmp_path / "incoming",
                          tmp_path / "data")  # fmt: skip
    wafpipe("elastic", "setup", "-c", config)
    client = opensearch_node.client()
    try:
        wafpipe("run", "-c", config, "--once")
        wafpipe("run", "-c", config, "--once")  # nothing new: the documents stay as they are
        client.indices.refresh(index=ALERTS_INDEX)
        hits = client.search(index=ALERTS_INDEX, body={"query": {"term": {"group.source.ip": "198.51.100.7"}}},
                             size=100)["hits"]["hits"]  # fmt: skip
        hits += client.search(index=ALERTS_INDEX, body={"query": {"term": {"group.source.ip": "203.0.113.9"}}},
                              size=100)["hits"]["hits"]  # fmt: skip
        found = {(h["_source"]["rule"]["title"], h["_source"]["group"]["source.ip"]): h["_source"]["count"]
                 for h in hits}  # fmt: skip
        assert found == EXPECTED and len(hits) == len(EXPECTED)
        assert all(h["_id"] == str(h["_source"]["alert_id"]) for h in hits)
    finally:
        client.indices.delete(index=ALERTS_INDEX, ignore=[404])
        client.indices.delete_data_stream(name=f"logs-imperva.waf-{namespace}", ignore=[404])
