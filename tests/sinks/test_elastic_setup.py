"""``wafpipe elastic setup`` (``run_setup``) against the test Elasticsearch and Kibana servers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.components import context
from tests.older_shape import V1_FIELD, older_document, older_mappings_component
from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.kibana import KibanaServer
from wafpipe.config.root import Config, config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.errors import ConfigError
from wafpipe.model import Event
from wafpipe.sinks.elasticsearch.assets import kibana as kb
from wafpipe.sinks.elasticsearch.assets import templates as tpl
from wafpipe.sinks.elasticsearch.client import make_client
from wafpipe.sinks.elasticsearch.setup import Setup, elasticsearch_steps, opensearch_steps, run_setup
from wafpipe.sinks.elasticsearch.sink import build_cluster_sink

WRITES = {"PUT", "POST", "DELETE"}


@pytest.fixture
def es() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer(refresh_interval=0) as server:
        yield server


@pytest.fixture
def kibana() -> Iterator[KibanaServer]:
    with KibanaServer(api_key="kibana-key-123") as server:
        yield server


def config(root: Path, es: ElasticsearchServer, kibana: KibanaServer | None = None, **sink: Any) -> Config:
    data: dict[str, Any] = {"data_dir": str(root), "sinks": [{"type": "duckdb"},
                                                             {"type": "elasticsearch", "hosts": [es.url], **sink}]}
    if kibana is not None:
        data["kibana"] = {"url": kibana.url, "api_key_env": "KIBANA_KEY"}
    return config_from_dict(data, file=None, base_dir=root)


def setup(cfg: Config, dry_run: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    rc = run_setup(cfg, dry_run=dry_run, out=out)
    return rc, out.getvalue()


def statuses(text: str) -> dict[str, str]:
    """``{object: created|updated|unchanged|…}`` from the report (one ``  <object>: <status>`` line each)."""
    return {ln.strip().rsplit(": ", 1)[0]: ln.rsplit(": ", 1)[1] for ln in text.splitlines()
            if ln.startswith("  ") and not ln.startswith("   ") and ": " in ln}


def test_setup_installs_everything_and_a_second_run_changes_nothing(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIBANA_KEY", "kibana-key-123")
    cfg = config(tmp_path, es, kibana)
    rc, text = setup(cfg)
    assert rc == 0, text
    first = statuses(text)
    assert set(first.values()) == {"created"}
    assert len(first) == 4 + len(kb.saved_objects())
    client = es.client()
    tmpl = client.indices.get_index_template(name=tpl.TEMPLATE)["index_templates"][0]["index_template"]
    assert tmpl["index_patterns"] == ["logs-imperva.waf-*"] and tmpl["priority"] > 100
    assert tmpl["composed_of"] == [tpl.SETTINGS_COMPONENT, tpl.MAPPINGS_COMPONENT]  # ours only
    assert "data_stream" in tmpl
    policy = client.ilm.get_lifecycle(name=tpl.POLICY)[tpl.POLICY]["policy"]
    assert policy["phases"]["delete"]["min_age"] == "30d"
    assert "rollover" in policy["phases"]["hot"]["actions"]
    assert kibana.saved_object("index-pattern", kb.DATA_VIEW_ID)["attributes"]["timeFieldName"] == "@timestamp"
    assert len(kibana.saved_objects("dashboard")) == 2
    assert kibana.problems() == []  # every reference resolves, every JSON string parses

    es.stats.reset()
    kibana.stats.reset()
    rc, text = setup(cfg)
    assert rc == 0, text
    second = statuses(text)
    assert set(second) == set(first) and set(second.values()) == {"unchanged"}
    assert not [r for r in es.request_log() if r[0] in WRITES]
    assert "import" not in kibana.request_counts()


def test_documents_written_after_setup_get_our_mappings_and_policy(
        tmp_path: Path, es: ElasticsearchServer) -> None:
    cfg = config(tmp_path, es)
    assert setup(cfg)[0] == 0
    sink = build_cluster_sink(cfg.sinks[1], context(cfg))  # type: ignore[arg-type]
    sink.write(batch_of([Event("a", {"@timestamp": "2024-06-10T06:00:00.000Z", "source": {"ip": "10.0.0.1"},
                            "event": {"original": "CEF:0|..."}, "brand_new_field": {"x": 1}})]))
    assert sink.flush(30)
    sink.close()
    mapping = es.mappings("logs-imperva.waf-default")
    assert mapping["dynamic"] in (False, "false")
    props = mapping["properties"]
    assert props["event"]["properties"]["original"] == {"type": "keyword", "index": False, "doc_values": False}
    assert props["data_stream"]["properties"]["namespace"]["type"] == "constant_keyword"
    assert "brand_new_field" not in props  # unknown fields do not grow the mapping
    (index,) = es.client().indices.get(index="logs-imperva.waf-default").body.values()
    assert index["settings"]["index"]["lifecycle"]["name"] == tpl.POLICY


def test_dry_run_prints_every_request_and_sends_none(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer) -> None:
    cfg = config(tmp_path, es, kibana)  # KIBANA_KEY is not even set: a dry run needs no secret
    rc, text = setup(cfg, dry_run=True)
    assert rc == 0, text
    assert es.request_counts() == {} and kibana.request_counts() == {}
    for path in (f"/_ilm/policy/{tpl.POLICY}", f"/_component_template/{tpl.SETTINGS_COMPONENT}",
                 f"/_component_template/{tpl.MAPPINGS_COMPONENT}", f"/_index_template/{tpl.TEMPLATE}"):
        assert f"PUT {es.url}{path}\n" in text
    assert f"POST {kibana.url}/api/saved_objects/_import?overwrite=true\n" in text
    body = text.split(f"PUT {es.url}/_index_template/{tpl.TEMPLATE}\n", 1)[1].split("\n\n", 1)[0]
    assert orjson.loads(body) == tpl.es_index_template()
    ndjson = text.split("_import?overwrite=true\n", 1)[1].split("\n\n", 1)[0]
    assert [orjson.loads(line)["id"] for line in ndjson.splitlines()] == [o["id"] for o in kb.saved_objects()]


def test_without_kibana_section_objects_are_skipped_and_exit_is_0(tmp_path: Path, es: ElasticsearchServer) -> None:
    rc, text = setup(config(tmp_path, es))
    assert rc == 0
    assert "Kibana objects skipped" in text


def test_a_changed_policy_is_updated_and_only_it(tmp_path: Path, es: ElasticsearchServer) -> None:
    assert setup(config(tmp_path, es))[0] == 0
    rc, text = setup(config(tmp_path, es, ilm={"delete_after_days": 90}))
    assert rc == 0
    st = statuses(text)
    assert st.pop(f"ILM policy {tpl.POLICY}") == "updated"
    assert set(st.values()) == {"unchanged"}
    assert es.client().ilm.get_lifecycle(name=tpl.POLICY)[tpl.POLICY]["policy"]["phases"]["delete"]["min_age"] == "90d"


def test_errors_and_configuration_problems_give_exit_codes(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    only_duckdb = config_from_dict({"data_dir": str(tmp_path)}, file=None, base_dir=tmp_path)
    assert setup(only_duckdb)[0] == 2
    monkeypatch.delenv("ES_KEY", raising=False)
    rc, text = setup(config(tmp_path, es, api_key_env="ES_KEY"))
    assert rc == 2 and "ES_KEY" in text
    monkeypatch.setenv("KIBANA_KEY", "not-the-key")
    rc, text = setup(config(tmp_path, es, kibana))
    assert rc == 1 and "not-the-key" not in text  # Kibana said 401; the key is not echoed
    es.down()
    rc, text = setup(config(tmp_path, es))
    assert rc == 1 and "FAILED" in text


def test_saved_objects_are_valid_kibana_ndjson() -> None:
    """Stricter than an import: ids unique, every reference points at an object in the file and is
    used by the body, every JSON-in-a-string attribute parses, Lens columns name real fields."""
    objects = [orjson.loads(line) for line in kb.ndjson().splitlines()]
    keys = {(o["type"], o["id"]) for o in objects}
    assert len(keys) == len(objects)
    fields = set(tpl.leaf_types(tpl.properties()))
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in keys, ref
        attrs = obj["attributes"]
        for key in ("panelsJSON", "optionsJSON", "layerListJSON", "mapStateJSON", "uiStateJSON"):
            if key in attrs:
                orjson.loads(attrs[key])
        if obj["type"] == "lens":
            layers = attrs["state"]["datasourceStates"]["formBased"]["layers"]
            names = {r["name"] for r in obj["references"]}
            assert {f"indexpattern-datasource-layer-{lid}" for lid in layers} == names
            for layer in layers.values():
                for col in layer["columns"].values():
                    assert col["sourceField"] in fields | {"___records___"}, col["sourceField"]
        if obj["type"] == "dashboard":
            panels = orjson.loads(attrs["panelsJSON"])
            assert {f"{p['panelIndex']}:{p['panelRefName']}" for p in panels} == {r["name"] for r in obj["references"]}
        if obj["type"] == "map":
            layer_refs = {lyr["sourceDescriptor"].get("indexPatternRefName") for lyr in orjson.loads(attrs["layerListJSON"])}
            assert {r["name"] for r in obj["references"]} <= layer_refs
            assert "source.geo.location" in attrs["layerListJSON"]


def test_opensearch_dry_run_has_ism_and_no_kibana(tmp_path: Path, es: ElasticsearchServer,
                                                   kibana: KibanaServer) -> None:
    cfg = config_from_dict({"data_dir": str(tmp_path), "kibana": {"url": kibana.url},
                            "sinks": [{"type": "opensearch", "hosts": ["http://127.0.0.1:9"],
                                       "use_data_stream": False}]}, file=None, base_dir=tmp_path)
    rc, text = setup(cfg, dry_run=True)
    assert rc == 0
    assert f"PUT http://127.0.0.1:9/_plugins/_ism/policies/{tpl.POLICY}\n" in text
    assert "PUT http://127.0.0.1:9/logs-imperva.waf-default-000001\n" in text
    assert '"flat_object"' in text and '"flattened"' not in text
    assert "_import" not in text and "Kibana objects skipped" in text


def test_opensearch_ism_policy_is_created_kept_and_updated_by_its_sequence_number(tmp_path: Path) -> None:
    """The ISM step alone (the real OpenSearch test node has no ISM plugin: tests/servers/os_ism.py) on
    the stand-in's ISM API: created once, unchanged when the same, and an edited policy replaces the
    stored one through ``if_seq_no``/``if_primary_term``, which ISM requires for an update."""
    with ElasticsearchServer(ism=True) as server:
        def run(days: int) -> str:
            cfg = config_from_dict({"data_dir": str(tmp_path), "sinks": [{
                "type": "opensearch", "hosts": [server.url], "ism": {"delete_after_days": days}}]},
                file=None, base_dir=tmp_path)
            (ism_step, *_) = opensearch_steps(cfg.sinks[0])  # type: ignore[arg-type]
            out = io.StringIO()
            runner = Setup(out, dry_run=False)
            client = make_client(cfg.sinks[0])
            try:
                runner.cluster("opensearch", server.url, client, [ism_step])
            finally:
                client.close()
            assert runner.failures == 0, out.getvalue()
            return statuses(out.getvalue())[f"ISM policy {tpl.POLICY}"]

        def stored() -> dict[str, Any]:
            return httpx.get(f"{server.url}/_plugins/_ism/policies/{tpl.POLICY}").json()

        assert run(30) == "created"
        first = stored()
        assert first["policy"]["policy_id"] == tpl.POLICY and "delete after 30 days" in first["policy"]["description"]
        assert run(30) == "unchanged" and stored()["_seq_no"] == first["_seq_no"]
        assert run(90) == "updated"
        second = stored()
        assert second["_version"] == 2 and second["_seq_no"] > first["_seq_no"]
        assert "delete after 90 days" in second["policy"]["description"]
        # ISM itself refuses an update that does not name the version it replaces
        r = httpx.put(f"{server.url}/_plugins/_ism/policies/{tpl.POLICY}", json={"policy": first["policy"]})
        assert r.status_code == 409 and r.json()["error"]["type"] == "version_conflict_engine_exception"


def test_a_stream_made_for_older_mappings_is_rolled_over_and_keeps_its_documents(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream and a dashboard a shape-1 wafpipe made (tests/older_shape.py): setup updates the
    mappings component and the dashboard, and rolls the stream over, so new documents get the new
    mappings; the shape-1 documents stay in the old backing index, searchable by their shape-1
    field. A second setup changes nothing."""
    monkeypatch.setenv("KIBANA_KEY", "kibana-key-123")
    stream = "logs-imperva.waf-default"
    cfg = config(tmp_path, es, kibana)
    assert setup(cfg)[0] == 0
    dashboard = kb.saved_objects()[-1]
    assert dashboard["type"] == "dashboard"
    older = {**dashboard, "attributes": {**dashboard["attributes"], "title": "Imperva WAF (shape 1)"}}
    assert httpx.post(f"{kibana.url}/api/saved_objects/_import?overwrite=true", headers=kibana.headers(),
                      files={"file": ("old.ndjson", kb.ndjson([older]), "application/ndjson")}).status_code == 200
    http = httpx.Client(base_url=es.url)
    http.put(f"/_component_template/{tpl.MAPPINGS_COMPONENT}", json=older_mappings_component("elasticsearch"))
    body = b"".join(orjson.dumps({"create": {"_index": stream, "_id": f"old-{n}"}}) + b"\n"
                    + orjson.dumps(older_document(n, "default")) + b"\n" for n in range(20))
    assert not http.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"}).json()["errors"]
    (old_index,) = [i["index_name"] for i in http.get(f"/_data_stream/{stream}").json()["data_streams"][0]["indices"]]

    rc, text = setup(cfg)
    assert rc == 0, text
    assert statuses(text)[f"component template {tpl.MAPPINGS_COMPONENT}"] == "updated"
    assert statuses(text)[f"dashboard {dashboard['id']}"] == "updated"
    stored = kibana.saved_object("dashboard", dashboard["id"])
    assert stored is not None and stored["attributes"]["title"] == dashboard["attributes"]["title"]
    assert f"data stream {stream}: rolled over to " in text and f"its write index {old_index} was made" in text
    indices = [i["index_name"] for i in http.get(f"/_data_stream/{stream}").json()["data_streams"][0]["indices"]]
    assert indices[0] == old_index and len(indices) == 2
    new_mappings = http.get(f"/{indices[1]}/_mapping").json()[indices[1]]["mappings"]
    assert tpl.mappings_hash(new_mappings) == tpl.mappings_hash(tpl.mappings())
    assert "v1_only" not in new_mappings["properties"]["imperva"]["properties"]["waf"]["properties"]
    http.post(f"/{stream}/_refresh")
    exists = {"query": {"exists": {"field": V1_FIELD}}}
    assert http.post(f"/{stream}/_count", json=exists).json()["count"] == 20
    rc, again = setup(cfg)
    assert rc == 0 and ": rolled over to " not in again and set(statuses(again).values()) == {"unchanged"}, again


@pytest.mark.parametrize(("profile", "cold", "delete"), [("pci-dss", "90d", "365d"), ("soc2", "90d", "365d"),
                                                         ("hipaa", "90d", "2190d")])
def test_a_compliance_profile_is_a_lifecycle_of_tiers(tmp_path: Path, profile: str, cold: str, delete: str) -> None:
    """``ilm.profile``/``ism.profile``: hot → warm (a week, read-only and merged) → cold (after the
    profile's searchable months) → delete (after its years); the OpenSearch stand-in checks the ISM
    policy's states and transitions (the real test node has no ISM plugin)."""
    sinks = [{"type": "elasticsearch", "hosts": ["http://127.0.0.1:9"], "ilm": {"profile": profile}},
             {"type": "opensearch", "hosts": ["http://127.0.0.1:9"], "ism": {"profile": profile}}]
    cfg = config_from_dict({"sinks": sinks}, file=None, base_dir=tmp_path)
    (ilm_step, *_), (ism_step, *_) = elasticsearch_steps(cfg.sinks[0]), opensearch_steps(cfg.sinks[1])  # type: ignore[arg-type]
    phases = ilm_step.body["policy"]["phases"]
    assert [(name, phases[name]["min_age"]) for name in phases] == [
        ("hot", "0ms"), ("warm", "7d"), ("cold", cold), ("delete", delete)]
    assert "readonly" in phases["warm"]["actions"] and "delete" in phases["delete"]["actions"]
    states = ism_step.body["policy"]["states"]
    assert [(s["name"], [(t["state_name"], t["conditions"]["min_index_age"]) for t in s["transitions"]])
            for s in states] == [("hot", [("warm", "7d")]), ("warm", [("cold", cold)]), ("cold", [("delete", delete)]),
                                 ("delete", [])]  # fmt: skip
    with ElasticsearchServer(ism=True) as server:
        put = httpx.put(f"{server.url}/_plugins/_ism/policies/{tpl.POLICY}", json=ism_step.body)
        assert put.status_code == 201, put.text
    with pytest.raises(ConfigError, match="remove delete_after_days"):
        config_from_dict({"sinks": [{**sinks[0], "ilm": {"profile": profile, "delete_after_days": 30}}]}, file=None,
                         base_dir=tmp_path)  # fmt: skip
