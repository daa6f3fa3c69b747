"""Retention per namespace on the clusters (``ilm.namespaces`` / ``ism.namespaces``): ``wafpipe
elastic setup`` installs a policy per namespace with its own retention and what makes that
namespace's new indices follow it (an index template of higher priority under ILM, the policy's own
``ism_template`` under ISM); the other namespaces keep the default policy; a second run changes
nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.components import context
from tests.servers.elasticsearch import ElasticsearchServer
from tests.sinks.test_elastic_setup import WRITES, setup, statuses
from wafpipe.config.root import config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.errors import ConfigError
from wafpipe.model import Event
from wafpipe.sinks.elasticsearch.assets import templates as tpl
from wafpipe.sinks.elasticsearch.client import make_client
from wafpipe.sinks.elasticsearch.setup import Setup, opensearch_steps
from wafpipe.sinks.elasticsearch.sink import build_cluster_sink

RULES = [{"match": "site_id", "value": "111", "namespace": "payments"},
         {"match": "site_tag", "value": "promo", "namespace": "marketing"}]
OVERRIDES = {"payments": {"profile": "pci-dss"}, "marketing": {"delete_after_days": 30}}


@pytest.fixture
def es() -> Any:
    with ElasticsearchServer(refresh_interval=0) as server:
        yield server


def cluster_config(root: Path, kind: str, url: str, **policy: Any) -> Any:
    key = "ilm" if kind == "elasticsearch" else "ism"
    sink = {"type": kind, "hosts": [url], "namespace_rules": RULES,
            key: {"profile": "soc2", "namespaces": OVERRIDES, **policy}}
    return config_from_dict({"data_dir": str(root), "sinks": [sink]}, file=None, base_dir=root)


def phases(policy: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, phase["min_age"]) for name, phase in policy["phases"].items()]


def event(n: int, site: str, tag: str | None = None) -> Event:
    waf: dict[str, Any] = {"site": {"id": site, **({"tag": tag} if tag else {})}}
    return Event(f"e{n}", {"@timestamp": "2024-06-10T06:00:00.000Z", "imperva": {"waf": waf}})


def test_each_overridden_namespace_gets_its_policy_and_template_and_the_rest_the_default(
        tmp_path: Path, es: ElasticsearchServer) -> None:
    cfg = cluster_config(tmp_path, "elasticsearch", es.url)
    rc, text = setup(cfg)
    assert rc == 0, text
    st = statuses(text)
    for ns in ("marketing", "payments"):
        assert st[f"ILM policy logs-imperva.waf-{ns}"] == st[f"index template logs-imperva.waf-{ns}"] == "created"
    assert st[f"ILM policy {tpl.POLICY}"] == "created" and len(st) == 4 + 2 * 2
    client = es.client()
    policies = client.ilm.get_lifecycle().body
    assert phases(policies[tpl.POLICY]["policy"]) == [("hot", "0ms"), ("warm", "7d"), ("cold", "90d"), ("delete", "365d")]
    assert phases(policies["logs-imperva.waf-payments"]["policy"])[-1] == ("delete", "365d")
    assert phases(policies["logs-imperva.waf-marketing"]["policy"]) == [("hot", "0ms"), ("delete", "30d")]
    assert policies["logs-imperva.waf-marketing"]["policy"]["phases"]["hot"]["actions"]["rollover"]["max_age"] == "1d"
    (payments,) = client.indices.get_index_template(name="logs-imperva.waf-payments")["index_templates"]
    body = payments["index_template"]
    assert body["index_patterns"] == ["logs-imperva.waf-payments", "logs-imperva.waf-payments-*"]
    assert body["priority"] > tpl.PRIORITY and "data_stream" in body
    assert body["composed_of"] == [tpl.SETTINGS_COMPONENT, tpl.MAPPINGS_COMPONENT]
    assert body["template"]["settings"]["index"]["lifecycle"]["name"] == "logs-imperva.waf-payments"

    # documents routed by the sink land in streams whose indices follow their namespace's policy
    sink = build_cluster_sink(cfg.sinks[0], context(cfg))
    sink.write(batch_of([event(1, "111"), event(2, "5", "promo"), event(3, "7"), event(4, "1110")]))
    assert sink.flush(30)
    sink.close()
    for ns, policy in (("payments", "logs-imperva.waf-payments"), ("marketing", "logs-imperva.waf-marketing"),
                       ("default", tpl.POLICY)):
        (index,) = client.indices.get(index=f"logs-imperva.waf-{ns}").body.values()
        assert index["settings"]["index"]["lifecycle"]["name"] == policy, ns
    assert client.count(index="logs-imperva.waf-default")["count"] == 2

    es.stats.reset()
    rc, again = setup(cfg)
    assert rc == 0 and set(statuses(again)) == set(st) and set(statuses(again).values()) == {"unchanged"}, again
    assert not [r for r in es.request_log() if r[0] in WRITES]

    # a changed retention updates that namespace's policy, and only it
    changed = cluster_config(tmp_path, "elasticsearch", es.url,
                             namespaces={**OVERRIDES, "marketing": {"delete_after_days": 60}})
    rc, text = setup(changed)
    assert rc == 0, text
    st = statuses(text)
    assert st.pop("ILM policy logs-imperva.waf-marketing") == "updated" and set(st.values()) == {"unchanged"}


def test_dry_run_shows_the_namespace_policies_and_templates(tmp_path: Path) -> None:
    cfg = cluster_config(tmp_path, "elasticsearch", "http://127.0.0.1:9")
    rc, text = setup(cfg, dry_run=True)
    assert rc == 0
    for ns in ("marketing", "payments"):
        assert f"PUT http://127.0.0.1:9/_ilm/policy/logs-imperva.waf-{ns}\n" in text
        assert f"PUT http://127.0.0.1:9/_index_template/logs-imperva.waf-{ns}\n" in text


def test_ism_policies_claim_their_namespace_by_a_higher_priority(tmp_path: Path) -> None:
    """On the ISM stand-in, which refuses overlapping ``ism_template`` s of one priority as ISM does:
    the namespace policies install beside the default one, and would not at its priority."""
    with ElasticsearchServer(ism=True) as server:
        cfg = cluster_config(tmp_path, "opensearch", server.url)
        steps = [s for s in opensearch_steps(cfg.sinks[0]) if s.path.startswith("/_plugins/_ism")]

        def run() -> dict[str, str]:
            out = io.StringIO()
            runner, client = Setup(out, dry_run=False), make_client(cfg.sinks[0])
            try:
                runner.cluster("opensearch", server.url, client, steps)
            finally:
                client.close()
            assert runner.failures == 0, out.getvalue()
            return statuses(out.getvalue())

        assert run() == {f"ISM policy {n}": "created" for n in
                         (tpl.POLICY, "logs-imperva.waf-marketing", "logs-imperva.waf-payments")}
        stored = {n: httpx.get(f"{server.url}/_plugins/_ism/policies/{n}").json()["policy"]
                  for n in (tpl.POLICY, "logs-imperva.waf-marketing", "logs-imperva.waf-payments")}
        assert stored[tpl.POLICY]["ism_template"][0]["priority"] == tpl.PRIORITY
        (payments,) = stored["logs-imperva.waf-payments"]["ism_template"]
        assert payments["index_patterns"] == ["logs-imperva.waf-payments-*", ".ds-logs-imperva.waf-payments-*"]
        assert payments["priority"] > tpl.PRIORITY
        marketing = stored["logs-imperva.waf-marketing"]["states"]
        assert [(s["name"], [t["conditions"]["min_index_age"] for t in s["transitions"]]) for s in marketing] == [
            ("hot", ["30d"]), ("delete", [])]
        assert "delete after 365 days" in stored["logs-imperva.waf-payments"]["description"]
        assert set(run().values()) == {"unchanged"}
        # the same patterns at the default's priority are refused: the priority is what lets both exist
        clash = {"policy": {**stored["logs-imperva.waf-payments"], "ism_template": [
            {**payments, "priority": tpl.PRIORITY}]}}
        clash["policy"].pop("policy_id")
        r = httpx.put(f"{server.url}/_plugins/_ism/policies/other", json=clash)
        assert r.status_code == 400 and "different priority" in r.text


@pytest.mark.parametrize(("overrides", "message"), [
    ({"paymnets": {"profile": "pci-dss"}}, r"namespaces.paymnets: no event reaches namespace 'paymnets' \(this sink "
                                           r"writes default, payments, marketing"),
    ({"payments": {"profile": "pci"}}, "must be one of 'pci-dss', 'soc2' or 'hipaa'"),
    ({"payments": {}}, "set one of profile"),
    ({"payments": {"profile": "soc2", "delete_after_days": 9}}, "set one of profile"),
    ({"payments": {"delete_after_days": 0}}, "greater than or equal to 1"),
    ({"Payments": {"delete_after_days": 9}}, "invalid data stream namespace 'Payments'"),
])
@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch"])
def test_namespace_overrides_are_checked(tmp_path: Path, kind: str, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cluster_config(tmp_path, kind, "http://127.0.0.1:9", namespaces=overrides)
