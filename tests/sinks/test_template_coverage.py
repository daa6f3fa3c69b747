"""The index template covers every field we emit, with a type that fits its values.

Three sources of truth are checked against the generated template: ``emitted_fields()``, the FIELDS
table, and the leaves of a large generated corpus of all three formats. A field added to the mapping
code without a template mapping fails ``test_every_corpus_leaf_is_mapped_with_a_compatible_type``.
The corpus is then indexed for real: into the real OpenSearch test node with the OpenSearch flavour of
the template (as a plain index template, under a name of its own on the shared node), and into the
test Elasticsearch server with the Elasticsearch template and data stream; both must reject nothing.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.components import context
from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.opensearch_node import OpenSearchNode
from wafpipe.config.root import config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.fields.table import DERIVED_FIELDS, FIELDS, LIST_TYPES, emitted_fields
from wafpipe.model import Event
from wafpipe.sinks.elasticsearch.assets import templates as tpl
from wafpipe.sinks.elasticsearch.setup import run_setup
from wafpipe.sinks.elasticsearch.sink import build_cluster_sink
from wafpipe.tools.generate import generate_files

PER_FORMAT = 2000
STRINGS = {"keyword", "wildcard", "constant_keyword", "match_only_text", "text"}
# what a field-table type may become in the template (ECS overrides keep the value family)
FAMILY = {"keyword": STRINGS, "wildcard": STRINGS, "match_only_text": STRINGS, "text": STRINGS,
          "constant_keyword": {"constant_keyword"}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    root = tmp_path_factory.mktemp("corpus")
    docs: list[dict[str, Any]] = []
    for i, fmt in enumerate(("cef", "leef", "w3c")):
        for path in generate_files(root / fmt, events=PER_FORMAT, files=3, fmt=fmt, compression="zlib",
                                   attack_ratio=0.5, start=datetime(2024, 3, 1, tzinfo=UTC),
                                   end=datetime(2024, 3, 1, 12, tzinfo=UTC), seed=40 + i):
            docs += [{**e.doc, "_id": e.id} for e in read_path(path).items() if isinstance(e, Event)]
    assert len(docs) == 3 * PER_FORMAT
    return docs


@pytest.fixture(scope="module")
def types() -> dict[str, str]:
    return tpl.leaf_types(tpl.properties())


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "_id":
                yield from leaves(v, f"{prefix}{k}.")
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v, prefix)
    else:
        yield prefix[:-1], value


def mapped_type(path: str, types: dict[str, str]) -> str | None:
    """The type covering ``path``: its own mapping, or a ``flattened``/``geo_point`` parent."""
    if path in types:
        return types[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        parent = types.get(".".join(parts[:i]))
        if parent in ("flattened", "geo_point"):
            return parent
        if parent is not None:
            return None
    return None


def fits(es_type: str, value: Any) -> bool:
    if es_type in ("flattened", "geo_point"):
        return es_type == "flattened" or isinstance(value, int | float)
    if es_type == "boolean":
        return isinstance(value, bool)
    if es_type == "long":
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    if es_type == "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if es_type == "ip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return True
    if es_type == "date":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        except ValueError:
            return False
    if es_type == "binary":
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            return False
        return True
    return es_type in STRINGS


def problems(docs: list[dict[str, Any]], types: dict[str, str]) -> list[str]:
    out: set[str] = set()
    for doc in docs:
        for path, value in leaves(doc):
            es_type = mapped_type(path, types)
            if es_type is None:
                out.add(f"{path}: no mapping in the index template")
            elif value is not None and not fits(es_type, value):
                out.add(f"{path}: value {value!r} does not fit type {es_type}")
    return sorted(out)


def test_every_emitted_field_is_mapped(types: dict[str, str]) -> None:
    for path, es_type in emitted_fields().items():
        assert path in types, f"{path} has no mapping"
        assert types[path] in FAMILY.get(es_type, {es_type}), (path, es_type, types[path])
    assert types["event.original"] == "keyword"
    assert tpl.field_mapping("event.original", "keyword") == {"type": "keyword", "index": False, "doc_values": False}


def test_the_field_table_is_mapped(types: dict[str, str]) -> None:
    for f in FIELDS:
        want = "flattened" if f.type == "json" else LIST_TYPES.get(f.type, f.type)
        assert f.path in types, f"{f.key} → {f.path} has no mapping"
        assert types[f.path] in FAMILY.get(want, {want}) or (f.type == "text" and types[f.path] in STRINGS), f.path
    for path in DERIVED_FIELDS:
        assert path in types


def test_every_corpus_leaf_is_mapped_with_a_compatible_type(corpus: list[dict[str, Any]], types: dict[str, str]) -> None:
    assert problems(corpus, types) == []
    seen = {path for doc in corpus for path, _ in leaves(doc)}
    assert len(seen) > 100  # the corpus really exercises the mapping


def test_a_field_without_a_mapping_is_caught(corpus: list[dict[str, Any]], types: dict[str, str]) -> None:
    doc = orjson.loads(orjson.dumps(corpus[0]))
    doc["imperva"]["waf"]["shiny_new_field"] = "x"
    doc["source"]["port"] = "not a number"
    assert problems([doc], types) == ["imperva.waf.shiny_new_field: no mapping in the index template",
                                      "source.port: value 'not a number' does not fit type long"]


def test_opensearch_template_indexes_the_corpus_with_zero_rejections(
        opensearch_node: OpenSearchNode, corpus: list[dict[str, Any]]) -> None:
    client = opensearch_node.client(timeout=120)
    name = f"wafpipe-coverage-{uuid.uuid4().hex[:8]}"
    client.indices.put_index_template(name=name, body={
        "index_patterns": [f"{name}-*"], "priority": 300, "template": tpl.plain_index_body("opensearch")})
    index = f"{name}-corpus"
    try:
        ds = {"type": "logs", "dataset": "imperva.waf", "namespace": "default"}
        rejected: list[Any] = []
        for i in range(0, len(corpus), 1000):
            body = b"".join(
                orjson.dumps({"create": {"_index": index, "_id": d["_id"]}}) + b"\n"
                + orjson.dumps({**{k: v for k, v in d.items() if k != "_id"}, "data_stream": ds}) + b"\n"
                for d in corpus[i : i + 1000])
            resp = client.bulk(body=body)
            rejected += [it["create"] for it in resp["items"] if it["create"]["status"] >= 300]
        assert rejected == []
        client.indices.refresh(index=index)
        assert client.count(index=index)["count"] == len(corpus)
        props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
        assert set(props) == set(tpl.properties("opensearch"))  # dynamic: false — nothing was added
    finally:
        client.indices.delete(index=index, ignore=[404])
        client.indices.delete_index_template(name=name, ignore=[404])


def test_elasticsearch_template_indexes_the_corpus_with_zero_rejections(
        tmp_path: Path, corpus: list[dict[str, Any]]) -> None:
    with ElasticsearchServer(refresh_interval=0) as es:
        cfg = config_from_dict({"data_dir": str(tmp_path), "sinks": [{"type": "elasticsearch", "hosts": [es.url]}]},
                               file=None, base_dir=tmp_path)
        assert run_setup(cfg, dry_run=False, out=io.StringIO()) == 0
        sink = build_cluster_sink(cfg.sinks[0], context(cfg))  # type: ignore[arg-type]
        events = [Event(d["_id"], {k: v for k, v in d.items() if k != "_id"}) for d in corpus]
        for i in range(0, len(events), 2000):
            sink.write(batch_of(events[i : i + 2000]))
        assert sink.flush(120)
        sink.close()
        assert sink.stats.dead_lettered == 0 and sink.stats.written == len(corpus)
        mapping = es.mappings("logs-imperva.waf-default")
        added = set(tpl.leaf_types(mapping["properties"])) - set(tpl.leaf_types(tpl.properties()))
        assert added == set()
