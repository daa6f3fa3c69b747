"""The same sink scenarios against the real OpenSearch 2.19.6 node and against our Elasticsearch
stand-in (issue 21, item 4), so the two cannot drift apart.

Each scenario runs twice: once as an ``opensearch`` sink writing to the shared node, once as an
``elasticsearch`` sink writing to a fresh stand-in. Both are in data-stream mode, set up by
``wafpipe elastic setup`` (``run_setup``), and both are read back only through the engines' HTTP
APIs (``_search``, ``_data_stream``, ``_mapping``), never through the stand-in's insides. What differs
by engine on purpose (the lifecycle policy: ILM on the stand-in, ISM skipped on the node that has no
ISM plugin) is asserted per engine; everything else is asserted once for both.

Every test writes to namespaces of its own, so the shared node's other streams never interfere.
Nothing waits for time to pass: the sink is drained with ``flush`` (its timeout is only a hang
guard) and the streams are refreshed before they are read.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.components import context
from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.opensearch_node import OpenSearchNode
from tests.sinks.test_elasticsearch import corpus  # noqa: F401 - the shared generated events
from wafpipe.collector.state.store import State
from wafpipe.config.root import Config, config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.model import Event
from wafpipe.sinks.elasticsearch.setup import run_setup
from wafpipe.sinks.elasticsearch.sink import ClusterSink, build_cluster_sink

FLUSH_GUARD_S = 120.0  # a hang guard only: flush returns as soon as the spool is delivered
STREAM_PREFIX = "logs-imperva.waf-"


@dataclass
class Engine:
    """One engine as the sink and the test see it: the sink type to configure, and its HTTP API."""

    sink_type: str  # "opensearch" or "elasticsearch"
    url: str
    http: httpx.Client

    def config(self, root: Path, **sink: Any) -> Config:
        entry = {"type": self.sink_type, "hosts": [self.url], "use_data_stream": True, **sink}
        if self.sink_type == "elasticsearch":
            entry.pop("use_data_stream")  # Elasticsearch sinks always write to data streams
        return config_from_dict({"data_dir": str(root / "data"), "sinks": [entry]}, file=None, base_dir=root)

    def documents(self, target: str) -> dict[str, dict[str, Any]]:
        """Every stored document of ``target`` (a stream or a pattern): ``_id`` → ``_source``."""
        r = self.http.post(f"/{target}/_refresh")
        assert r.status_code == 200, r.text
        r = self.http.post(f"/{target}/_search", json={"size": 10_000, "query": {"match_all": {}}})
        assert r.status_code == 200, r.text
        hits = r.json()["hits"]["hits"]
        ids = [h["_id"] for h in hits]
        assert len(ids) == len(set(ids)), f"the same _id twice in {target}"
        return {h["_id"]: h["_source"] for h in hits}

    def data_streams(self, pattern: str) -> list[str]:
        r = self.http.get(f"/_data_stream/{pattern}")
        assert r.status_code == 200, r.text
        return sorted(ds["name"] for ds in r.json()["data_streams"])

    def field_type(self, stream: str, path: str) -> str:
        r = self.http.get(f"/{stream}/_mapping")
        assert r.status_code == 200, r.text
        (index,) = (m for name, m in r.json().items() if name.startswith(f".ds-{stream}-"))
        node: dict[str, Any] = {"properties": index["mappings"]["properties"]}
        for part in path.split("."):
            node = node["properties"][part]
        return str(node["type"])


@pytest.fixture(params=["opensearch", "elasticsearch"], ids=["real-opensearch-node", "elasticsearch-stand-in"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "opensearch":
        node: OpenSearchNode = request.getfixturevalue("opensearch_node")
        with httpx.Client(base_url=node.url, timeout=60) as http:
            yield Engine("opensearch", node.url, http)
        return
    with ElasticsearchServer(refresh_interval=0) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        yield Engine("elasticsearch", server.url, http)


def namespace() -> str:
    return f"ns{uuid.uuid4().hex[:12]}"


def setup(cfg: Config, engine: Engine) -> str:
    out = io.StringIO()
    assert run_setup(cfg, dry_run=False, out=out) == 0, out.getvalue()
    lifecycle = "ISM policy logs-imperva.waf: skipped" if engine.sink_type == "opensearch" else "ILM policy logs-imperva.waf: "
    assert lifecycle in out.getvalue(), out.getvalue()  # the node has no ISM plugin; the stand-in has ILM
    return out.getvalue()


def deliver(cfg: Config, events: list[Event], size: int = 500) -> ClusterSink:
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
    sink.opt.retry_backoff_s, sink.opt.retry_max_backoff_s = 0.05, 0.5
    for i in range(0, len(events), size):
        assert sink.write(batch_of(events[i : i + size])).spooled == len(events[i : i + size])
    assert sink.flush(FLUSH_GUARD_S), sink.stats
    sink.close()
    return sink


def test_every_format_lands_once_as_sent_and_a_replay_is_409_counted_as_delivered(
        tmp_path: Path, engine: Engine, corpus: list[Event]) -> None:  # noqa: F811
    ns = namespace()
    stream = STREAM_PREFIX + ns
    cfg = engine.config(tmp_path, namespace=ns)
    setup(cfg, engine)
    assert engine.data_streams(stream + "*") == []  # setup installs templates; the first write makes the stream
    sink = deliver(cfg, corpus)
    assert (sink.stats.written, sink.stats.duplicates, sink.stats.dead_lettered) == (len(corpus), 0, 0)
    assert engine.data_streams(stream + "*") == [stream]
    stored = engine.documents(stream)
    assert set(stored) == {e.id for e in corpus}
    for event in corpus:  # each document as the sink sent it, plus the stream's own three fields
        source = stored[event.id]
        assert source.pop("data_stream") == {"type": "logs", "dataset": "imperva.waf", "namespace": ns}
        assert source == event.doc
    assert engine.field_type(stream, "source.ip") == "ip"  # our template, not a dynamic mapping
    assert engine.field_type(stream, "@timestamp") == "date"
    # the same events again with a fresh data dir (no spool, no state): every create is a 409
    sink = deliver(engine.config(tmp_path / "again", namespace=ns), corpus)
    assert (sink.stats.written, sink.stats.duplicates, sink.stats.dead_lettered) == (0, len(corpus), 0)
    assert set(engine.documents(stream)) == {e.id for e in corpus}


def test_namespace_rules_route_each_document_to_its_stream(
        tmp_path: Path, engine: Engine, corpus: list[Event]) -> None:  # noqa: F811
    waf = [e.doc["imperva"]["waf"] for e in corpus]
    account, site = waf[0]["account"]["id"], waf[1]["site"]["id"]
    tag = next(w["site"]["tag"] for w in waf if w["site"].get("tag"))
    base = namespace()
    names = {"account": f"{base}acme", "site": f"{base}shop", "tag": f"{base}tagged", "default": f"{base}prod"}
    rules = [{"match": "account_id", "value": account, "namespace": names["account"]},
             {"match": "site_id", "value": site, "namespace": names["site"]},
             {"match": "site_tag", "value": tag, "namespace": names["tag"]}]
    cfg = engine.config(tmp_path, namespace=names["default"], namespace_rules=rules)
    setup(cfg, engine)
    deliver(cfg, corpus)

    def expected(doc: dict[str, Any]) -> str:  # the first rule that matches wins
        w = doc["imperva"]["waf"]
        if w["account"]["id"] == account:
            return names["account"]
        if w["site"]["id"] == site:
            return names["site"]
        return names["tag"] if w["site"].get("tag") == tag else names["default"]

    want: dict[str, set[str]] = {}
    for e in corpus:
        want.setdefault(expected(e.doc), set()).add(e.id)
    assert len(want) >= 3
    assert engine.data_streams(f"{STREAM_PREFIX}{base}*") == sorted(STREAM_PREFIX + ns for ns in want)
    for ns, ids in want.items():
        docs = engine.documents(STREAM_PREFIX + ns)
        assert set(docs) == ids
        assert {d["data_stream"]["namespace"] for d in docs.values()} == {ns}


def test_documents_the_mapping_refuses_are_dead_lettered_with_the_engines_reason(
        tmp_path: Path, engine: Engine, corpus: list[Event]) -> None:  # noqa: F811
    ns = namespace()
    cfg = engine.config(tmp_path, namespace=ns)
    setup(cfg, engine)
    good = corpus[:200]
    bad = [Event("bad-ip", {**corpus[0].doc, "source": {"ip": "not-an-ip"}}),
           Event("bad-long", {**corpus[1].doc, "http": {"response": {"status_code": "two hundred"}}})]
    sink = deliver(cfg, good[:100] + bad + good[100:])
    assert (sink.stats.written, sink.stats.dead_lettered) == (len(good), 2)
    assert set(engine.documents(STREAM_PREFIX + ns)) == {e.id for e in good}
    state = State(tmp_path / "data")
    dead = {d.record["id"]: d for d in state.list_dead_letters()}
    state.close()
    assert set(dead) == {"bad-ip", "bad-long"}
    assert dead["bad-ip"].kind == "sink_rejected" and dead["bad-ip"].record["sink"] == engine.sink_type
    # the engine's own words, the same on both: which field, which type
    assert "failed to parse field [source.ip] of type [ip]" in (dead["bad-ip"].reason or ""), dead["bad-ip"].reason
    assert "failed to parse field [http.response.status_code] of type [long]" in (dead["bad-long"].reason or "")
    assert json.loads(dead["bad-ip"].record["raw"])["source"]["ip"] == "not-an-ip"  # the document, as sent
