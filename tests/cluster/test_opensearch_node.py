"""wafpipe's documents and templates on a real OpenSearch 2.19.6 node.

Only the ``wafpipe`` command line (generate, parse, elastic setup --dry-run) and opensearch-py are
used. The templates are the ones ``wafpipe elastic setup --dry-run`` prints for an ``opensearch``
sink; the node has no ISM plugin, so the ISM policy request is the one request not sent.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from opensearchpy import OpenSearch

from tests.cluster.conftest import WafpipeRunner, source_ip_terms, source_ips
from tests.flatten import get_path
from tests.servers.opensearch_node import OpenSearchNode

FORMATS = ("cef", "leef", "w3c")
EVENTS = 300
SEED = 3
TEMPLATE = "logs-imperva.waf"
BULK_CHUNK = 500

REQUEST_LINE = re.compile(r"^(PUT|POST|GET|DELETE|HEAD) (https?://\S+)$", re.MULTILINE)


# -- what wafpipe produces ----------------------------------------------------------------------------


@dataclass
class Corpus:
    """Every document ``wafpipe parse`` printed, per generated set (format, with or without bad input)."""

    sets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def docs(self) -> list[dict[str, Any]]:
        return [doc for docs in self.sets.values() for doc in docs]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None


def parse_dry_run(text: str) -> list[Request]:
    """The requests of ``wafpipe elastic setup --dry-run``: a ``METHOD URL`` line, then a JSON body."""
    decoder = json.JSONDecoder()
    requests: list[Request] = []
    for match in REQUEST_LINE.finditer(text):
        rest = text[match.end() :].lstrip()
        body = decoder.raw_decode(rest)[0] if rest.startswith("{") else None
        url = urlsplit(match.group(2))
        path = url.path + (f"?{url.query}" if url.query else "")
        requests.append(Request(match.group(1), path, body))
    return requests


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, wafpipe: WafpipeRunner) -> Corpus:
    base = tmp_path_factory.mktemp("generated")
    result = Corpus()
    for fmt in FORMATS:
        for bad in (False, True):
            name = f"{fmt}-bad" if bad else fmt
            out = base / name
            extra = ["--bad-input"] if bad else []
            wafpipe("generate", "--out", out, "--events", EVENTS, "--format", fmt, "--seed", SEED, *extra)
            files = sorted(p for p in out.rglob("*") if p.is_file())
            assert files, f"wafpipe generate wrote nothing into {out}"
            # broken input: parse still prints every event it could decode, reports the rest, exits 1
            proc = wafpipe("parse", *files, ok_codes=(0, 1) if bad else (0,))
            if bad:
                assert proc.returncode == 1 and proc.stderr.strip(), "bad input was not reported"
            # NDJSON lines end at "\n" only: str.splitlines() would also cut at U+2028, U+0085, ...
            docs = [json.loads(line) for line in proc.stdout.split("\n") if line.strip()]
            assert docs, f"wafpipe parse printed no document for {name}"
            result.sets[name] = docs
    return result


@pytest.fixture(scope="module")
def setup_config(tmp_path_factory: pytest.TempPathFactory, opensearch_node: OpenSearchNode) -> Path:
    """A wafpipe configuration with one ``opensearch`` sink: the test node."""
    base = tmp_path_factory.mktemp("setup")
    config = base / "wafpipe.toml"
    config.write_text(
        f'data_dir = "{base / "data"}"\n\n[[sinks]]\ntype = "opensearch"\nhosts = ["{opensearch_node.url}"]\n'
    )
    return config


@pytest.fixture(scope="module")
def setup_requests(wafpipe: WafpipeRunner, setup_config: Path) -> list[Request]:
    proc = wafpipe("elastic", "setup", "--dry-run", "-c", setup_config)
    requests = parse_dry_run(proc.stdout)
    assert requests, f"no request in the dry-run output:\n{proc.stdout[:2000]}"
    return requests


@dataclass
class Ingested:
    client: OpenSearch
    stream: str
    corpus: Corpus
    items: list[dict[str, Any]]
    template_mappings: dict[str, Any]


@pytest.fixture(scope="module")
def ingested(
    opensearch_node: OpenSearchNode, setup_requests: list[Request], corpus: Corpus
) -> Iterator[Ingested]:
    client = opensearch_node.client()
    for req in setup_requests:
        if req.path.startswith("/_plugins/"):
            continue  # ISM: not part of this node (no index-management plugin)
        client.transport.perform_request(req.method, req.path, body=req.body)
    stream = f"{TEMPLATE}-cluster{uuid.uuid4().hex[:8]}"
    items = bulk_create(client, stream, corpus.docs)
    client.indices.refresh(index=stream)
    yield Ingested(client, stream, corpus, items, installed_mappings(client))
    if opensearch_node.running:  # a fresh client: a restart may have moved the node to another port
        opensearch_node.client().indices.delete_data_stream(name=stream, ignore=[404])


def bulk_create(client: OpenSearch, target: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``op_type=create`` for every document, its ``_id`` taken from the document; the bulk items."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(docs), BULK_CHUNK):
        body: list[dict[str, Any]] = []
        for doc in docs[start : start + BULK_CHUNK]:
            source = {k: v for k, v in doc.items() if k != "_id"}
            body += [{"create": {"_index": target, "_id": doc["_id"]}}, source]
        answer = client.bulk(body=body)
        items += [item["create"] for item in answer["items"]]
    assert len(items) == len(docs)
    return items


def installed_mappings(client: OpenSearch) -> dict[str, Any]:
    """The mappings the node has for ``logs-imperva.waf-*``: its index template's and its component
    templates', read back from the node."""
    index_template = client.indices.get_index_template(name=TEMPLATE)["index_templates"][0]["index_template"]
    merged: dict[str, Any] = {}
    for name in index_template.get("composed_of", []):
        component = client.cluster.get_component_template(name=name)["component_templates"][0]
        merge(merged, component["component_template"]["template"].get("mappings", {}))
    merge(merged, index_template.get("template", {}).get("mappings", {}))
    return merged


def merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = json.loads(json.dumps(value))


def mapped_fields(mappings: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Field path -> type of every mapped field, sub-fields (``fields``) included."""
    out: dict[str, str] = {}
    for name, spec in mappings.get("properties", {}).items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out[path] = spec.get("type", "object")
            out.update(mapped_fields(spec, f"{path}."))
        else:
            out[path] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec.get("type", "object")
    return out


def leaves(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from leaves(value, f"{path}.")
        else:
            yield path, value


def count(client: OpenSearch, index: str, query: dict[str, Any] | None = None) -> int:
    body = {"query": query} if query is not None else None
    return int(client.count(index=index, body=body)["count"])


# -- (a) the node ----------------------------------------------------------------------------------------


def test_node_is_up_and_is_opensearch_2_19_6(opensearch_node: OpenSearchNode) -> None:
    client = opensearch_node.client()
    info = client.info()
    assert info["version"]["distribution"] == "opensearch"
    assert info["version"]["number"] == "2.19.6"
    health = client.cluster.health(wait_for_status="green")
    assert health["status"] == "green"
    assert health["number_of_nodes"] == 1
    components = {row["component"] for row in client.cat.plugins(format="json")}
    assert "org.opensearch.transport.Netty4Plugin" in components
    assert "org.opensearch.analysis.common.CommonAnalysisPlugin" in components
    assert "org.opensearch.painless.PainlessPlugin" in components
    assert opensearch_node.url == f"http://127.0.0.1:{opensearch_node.port}"


def test_node_runs_painless_and_common_analysis(opensearch_node: OpenSearchNode) -> None:
    client = opensearch_node.client()
    script = {"script": {"source": "params.a + params.b", "params": {"a": 40, "b": 2}}}
    assert (
        client.transport.perform_request("POST", "/_scripts/painless/_execute", body=script)["result"] == "42"
    )
    tokens = client.indices.analyze(
        body={"tokenizer": "whitespace", "filter": ["lowercase", "asciifolding"], "text": "Café WAF"}
    )
    assert [t["token"] for t in tokens["tokens"]] == ["cafe", "waf"]


def test_settings_helper_puts_cluster_settings(opensearch_node: OpenSearchNode) -> None:
    client = opensearch_node.client()
    opensearch_node.settings(**{"search.default_search_timeout": "45s"})
    got = client.cluster.get_settings(flat_settings=True)
    assert got["persistent"]["search.default_search_timeout"] == "45s"
    opensearch_node.settings(**{"search.default_search_timeout": None})
    got = client.cluster.get_settings(flat_settings=True)
    assert "search.default_search_timeout" not in got["persistent"]


# -- (b) wafpipe's templates and documents ---------------------------------------------------------------


def test_dry_run_prints_the_templates_for_opensearch(setup_requests: list[Request]) -> None:
    paths = [(r.method, r.path) for r in setup_requests]
    assert ("PUT", f"/_index_template/{TEMPLATE}") in paths
    assert any(p.startswith("/_component_template/") for _, p in paths)
    assert any(p.startswith("/_plugins/_ism/policies/") for _, p in paths), (
        "an opensearch sink gets an ISM policy"
    )
    index_template = next(r.body for r in setup_requests if r.path == f"/_index_template/{TEMPLATE}")
    assert index_template is not None
    assert index_template["index_patterns"] == [f"{TEMPLATE}-*"]
    assert index_template["data_stream"]["timestamp_field"]["name"] == "@timestamp"


def test_real_setup_installs_what_the_dry_run_prints(
    ingested: Ingested, setup_requests: list[Request], setup_config: Path, wafpipe: WafpipeRunner
) -> None:
    """``wafpipe elastic setup`` against the node (which has no ISM plugin) succeeds, and what the node
    then holds carries the same versions and hashes as the dry-run's bodies."""
    wafpipe("elastic", "setup", "-c", setup_config)
    client = ingested.client
    for req in setup_requests:
        if req.path.startswith("/_plugins/") or req.body is None:
            continue
        kind, name = req.path.strip("/").split("/", 1)
        if kind == "_component_template":
            stored = client.cluster.get_component_template(name=name)["component_templates"][0][
                "component_template"
            ]
        elif kind == "_index_template":
            stored = client.indices.get_index_template(name=name)["index_templates"][0]["index_template"]
        else:
            continue
        assert stored.get("version") == req.body.get("version"), req.path
        assert stored.get("_meta") == req.body.get("_meta"), req.path


def test_corpus_covers_every_format_and_bad_input(corpus: Corpus) -> None:
    assert set(corpus.sets) == {f"{fmt}{suffix}" for fmt in FORMATS for suffix in ("", "-bad")}
    for fmt in FORMATS:
        assert len(corpus.sets[fmt]) == EVENTS
    ids = [doc["_id"] for doc in corpus.docs]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(set(ids)) == len(ids), "wafpipe gave two different events the same _id"


def test_every_document_is_created_without_a_rejection(ingested: Ingested) -> None:
    failures = [item for item in ingested.items if item.get("status") != 201]
    assert not failures, f"{len(failures)} of {len(ingested.items)} rejected, first: {failures[:3]}"
    streams = ingested.client.indices.get_data_stream(name=ingested.stream)["data_streams"]
    assert [s["name"] for s in streams] == [ingested.stream]
    assert streams[0]["template"] == TEMPLATE
    assert streams[0]["status"] == "GREEN"
    assert count(ingested.client, ingested.stream) == len(ingested.corpus.docs)
    assert {item["_index"] for item in ingested.items} == {
        backing["index_name"] for backing in streams[0]["indices"]
    }


def test_replay_is_a_conflict_for_every_document(ingested: Ingested) -> None:
    replay = bulk_create(ingested.client, ingested.stream, ingested.corpus.docs)
    statuses = Counter(item["status"] for item in replay)
    assert statuses == Counter({409: len(ingested.corpus.docs)})
    assert {item["error"]["type"] for item in replay} == {"version_conflict_engine_exception"}
    ingested.client.indices.refresh(index=ingested.stream)
    assert count(ingested.client, ingested.stream) == len(ingested.corpus.docs)


def test_terms_aggregation_on_source_ip(ingested: Ingested) -> None:
    expected = source_ips(ingested.corpus.docs)
    assert expected, "no document has source.ip"
    got, left_out = source_ip_terms(ingested.client, ingested.stream, len(expected) + 10)
    assert got == expected
    assert left_out == 0


def test_range_query_on_timestamp(ingested: Ingested) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def millis(text: str) -> int:  # what a `date` field keeps: milliseconds, truncated
        return (datetime.fromisoformat(text.replace("Z", "+00:00")) - epoch) // timedelta(milliseconds=1)

    stamps = sorted(millis(doc["@timestamp"]) for doc in ingested.corpus.docs)
    low, high = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    expected = sum(1 for s in stamps if low <= s < high)
    assert 0 < expected < len(stamps)
    query = {"range": {"@timestamp": {"gte": low, "lt": high, "format": "epoch_millis"}}}
    assert count(ingested.client, ingested.stream, query) == expected
    everything = {"range": {"@timestamp": {"gte": stamps[0], "lte": stamps[-1], "format": "epoch_millis"}}}
    assert count(ingested.client, ingested.stream, everything) == len(stamps)


def test_exists_query_on_security_event(ingested: Ingested) -> None:
    values = [get_path(doc, "imperva.waf.security_event") for doc in ingested.corpus.docs]
    present = sum(1 for v in values if v is not None and v != [])
    assert present > 0
    query = {"exists": {"field": "imperva.waf.security_event"}}
    assert count(ingested.client, ingested.stream, query) == present
    attacks = sum(1 for v in values if v is True)
    assert 0 < attacks < len(values), "the generated sets should mix attacks and normal traffic"
    assert count(ingested.client, ingested.stream, {"term": {"imperva.waf.security_event": True}}) == attacks


def test_mapping_has_no_field_beyond_the_template(ingested: Ingested) -> None:
    template_fields = mapped_fields(ingested.template_mappings)
    assert template_fields, "the installed templates map no field"
    answer = ingested.client.indices.get_mapping(index=ingested.stream)
    assert answer, "no backing index"
    for index, body in answer.items():
        actual = mapped_fields(body["mappings"])
        added = sorted(set(actual) - set(template_fields))
        assert not added, f"{index} has fields the template does not define: {added[:20]}"
        changed = {p: (template_fields[p], t) for p, t in actual.items() if template_fields[p] != t}
        assert not changed, f"{index}: types differ from the template: {changed}"


def test_every_document_field_is_mapped(ingested: Ingested) -> None:
    """With ``dynamic: false`` an unmapped field is kept in _source but cannot be searched: every
    field wafpipe emits must be in the template (or be part of a geo_point or flat_object value)."""
    fields = mapped_fields(ingested.template_mappings)
    # a field of a non-object type takes a JSON object as its value too (geo_point, flat_object)
    whole = [p for p, t in fields.items() if t not in ("object", "nested")]
    unmapped: Counter[str] = Counter()
    for doc in ingested.corpus.docs:
        for path, _ in leaves({k: v for k, v in doc.items() if k != "_id"}):
            if path not in fields and not any(path.startswith(f"{f}.") for f in whole):
                unmapped[path] += 1
    assert not unmapped, f"fields emitted by wafpipe parse but not mapped: {dict(unmapped.most_common(20))}"


# -- (c) a stopped and restarted node keeps its data (keep this test last: it restarts the shared node) --


def test_restart_keeps_the_data(opensearch_node: OpenSearchNode, ingested: Ingested) -> None:
    before = count(ingested.client, ingested.stream)
    old_port = opensearch_node.port
    old_pid = opensearch_node.pid
    data_dir = Path(opensearch_node.base_dir) / "data"
    assert before == len(ingested.corpus.docs)

    code = opensearch_node.stop()
    assert code in (0, 143), f"the node ended with {code} on SIGTERM"
    assert not opensearch_node.running
    assert data_dir.is_dir()

    opensearch_node.start()
    assert opensearch_node.pid != old_pid
    # the freed port is taken again, unless something else bound it meanwhile (then any free port)
    assert opensearch_node.port == old_port or opensearch_node.port_changed_on_restart
    client = opensearch_node.client()
    assert client.cluster.health(index=ingested.stream, wait_for_status="green")["status"] == "green"
    assert count(client, ingested.stream) == before
    streams = client.indices.get_data_stream(name=ingested.stream)["data_streams"]
    assert [s["name"] for s in streams] == [ingested.stream]
    # still exactly once after the restart
    replay = bulk_create(client, ingested.stream, ingested.corpus.docs[:50])
    assert {item["status"] for item in replay} == {409}
    ingested.client = client
