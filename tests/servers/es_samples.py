"""Shared sample templates and documents for the Elasticsearch stand-in tests."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch, helpers

DS = "logs-imperva.waf-default"
TS = "2024-01-20T11:42:01.336Z"


def install(client: Elasticsearch, *, dynamic: Any = "strict", priority: int = 200) -> None:
    client.ilm.put_lifecycle(name="imperva-waf", policy={"phases": {
        "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}},
        "delete": {"min_age": "30d", "actions": {"delete": {}}}}})
    client.cluster.put_component_template(name="imperva-waf@settings", template={
        "settings": {"index": {"lifecycle": {"name": "imperva-waf"}, "number_of_shards": 1}}})
    client.cluster.put_component_template(name="imperva-waf@mappings", template={"mappings": {
        "dynamic": dynamic,
        "properties": {
            "@timestamp": {"type": "date"},
            "message": {"type": "match_only_text"},
            "source.ip": {"type": "ip"},
            "source.port": {"type": "long"},
            "source.geo.location": {"type": "geo_point"},
            "http.response.status_code": {"type": "integer"},
            "url.path": {"type": "keyword", "ignore_above": 1024},
            "event.risk_score": {"type": "float"},
            "imperva.waf.security_event": {"type": "boolean"},
            "data_stream.dataset": {"type": "constant_keyword", "value": "imperva.waf"},
            "user_agent": {"properties": {"original": {"type": "keyword"}}},
        }}})
    client.indices.put_index_template(
        name="logs-imperva.waf", index_patterns=["logs-imperva.waf-*"], priority=priority, data_stream={},
        composed_of=["imperva-waf@settings", "imperva-waf@mappings"], meta={"managed_by": "wafpipe"})


def doc(i: int, **extra: Any) -> dict[str, Any]:
    return {"@timestamp": TS, "source": {"ip": f"10.0.0.{i % 250}", "port": 443},
            "http": {"response": {"status_code": 200}}, "url": {"path": f"/p/{i}"}, **extra}


def actions(docs: dict[str, dict[str, Any]], op: str = "create") -> list[dict[str, Any]]:
    return [{"_op_type": op, "_index": DS, "_id": i, "_source": d} for i, d in docs.items()]


def bulk_items(client: Elasticsearch, docs: dict[str, dict[str, Any]], op: str = "create") -> list[dict[str, Any]]:
    return [item for _ok, item in helpers.streaming_bulk(client, actions(docs, op), raise_on_error=False)]
