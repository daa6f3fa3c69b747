"""Fault injection on the Elasticsearch stand-in, in process and out of process, as the official
client experiences it (retries, timeouts, dropped connections, a node that goes away)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch, helpers

from .elasticsearch import ElasticsearchProcess, ElasticsearchServer

DS = "logs-test-default"


@pytest.fixture
def es() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer(builtin_templates=False, refresh_interval=0) as server:
        client = server.client()
        client.indices.put_index_template(name="t", index_patterns=["logs-test-*"], data_stream={}, priority=1)
        server.stats.reset()
        yield server


def docs(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"_op_type": "create", "_index": DS, "_id": f"d{i}", "_source": {"@timestamp": "2024-01-01T00:00:00Z",
                                                                            "n": i}}
            for i in range(start, start + n)]


def test_fail_next_is_retried_by_the_client(es: ElasticsearchServer) -> None:
    es.faults.fail_next(2, 429, endpoint="count")
    client = es.client(max_retries=3, retry_on_status=(429,))
    assert client.count(index="*")["count"] == 0
    assert es.request_counts()["count"] == 3
    assert [entry[3] for entry in es.request_log()] == [429, 429, 200]


def test_fail_next_without_retries_shows_es_error(es: ElasticsearchServer) -> None:
    es.faults.fail_next(1, 429)
    with pytest.raises(ApiError) as excinfo:
        es.client(max_retries=0).info()
    assert excinfo.value.meta.status == 429
    assert excinfo.value.body["error"]["type"] == "es_rejected_execution_exception"
    assert excinfo.value.body["status"] == 429
    es.faults.fail_next(1, 503)
    with pytest.raises(ApiError) as excinfo:
        es.client(max_retries=0).info()
    assert excinfo.value.body["error"]["type"] == "cluster_block_exception"


def test_fail_for_a_duration(es: ElasticsearchServer) -> None:
    es.faults.fail_for(0.3, 503)
    client = es.client(max_retries=0)
    with pytest.raises(ApiError):
        client.info()
    time.sleep(0.35)
    assert client.info()["tagline"]


def test_bulk_item_failures_all_and_some(es: ElasticsearchServer) -> None:
    client = es.client()
    es.faults.bulk_item_failures(1.0, statuses=(429,))
    results = list(helpers.streaming_bulk(client, docs(5), raise_on_error=False))
    assert [item["create"]["status"] for _ok, item in results] == [429] * 5
    assert results[0][1]["create"]["error"]["type"] == "es_rejected_execution_exception"
    assert es.document_ids(DS) == []
    es.faults.bulk_item_failures(0.5, statuses=(429, 400), seed=7)
    results = list(helpers.streaming_bulk(client, docs(200), raise_on_error=False))
    statuses = [item["create"]["status"] for _ok, item in results]
    assert 60 < statuses.count(201) < 140 and statuses.count(429) > 20 and statuses.count(400) > 20
    assert len(es.document_ids(DS)) == statuses.count(201)
    bad = next(item["create"]["error"] for _ok, item in results if item["create"]["status"] == 400)
    assert bad["type"] == "document_parsing_exception"


def test_streaming_bulk_retries_429_items_until_all_are_in(es: ElasticsearchServer) -> None:
    es.faults.bulk_item_failures(0.3, statuses=(429,), seed=1)
    client = es.client()
    # NB: the 8.x helper retries 429 items only with raise_on_error=False; with True it raises
    # BulkIndexError on the first chunk that has a 429 item.
    results = list(helpers.streaming_bulk(client, docs(300), max_retries=20, initial_backoff=0, max_backoff=0,
                                          raise_on_error=False))
    assert all(ok for ok, _item in results)
    assert sorted(es.document_ids(DS)) == sorted(f"d{i}" for i in range(300))
    assert es.request_counts()["bulk"] > 1


def test_slow_response_times_out_but_the_write_happens(es: ElasticsearchServer) -> None:
    es.faults.slow(0.6, n=1, endpoint="bulk")
    client = es.client(request_timeout=0.2, max_retries=0)
    with pytest.raises(ConnectionTimeout):
        client.bulk(operations=[{"create": {"_index": DS, "_id": "late"}}, {"@timestamp": "2024-01-01T00:00:00Z"}])
    deadline = time.monotonic() + 5
    while es.document_ids(DS) != ["late"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert es.document_ids(DS) == ["late"]
    again = client.bulk(operations=[{"create": {"_index": DS, "_id": "late"}}, {"@timestamp": "2024-01-01T00:00:00Z"}])
    assert again["items"][0]["create"]["status"] == 409  # a replay is harmless: first write wins


@pytest.mark.parametrize("reset", [False, True])
def test_dropped_connection(es: ElasticsearchServer, reset: bool) -> None:
    es.faults.drop_next(1, reset=reset)
    with pytest.raises(ConnectionError):
        es.client(max_retries=0).info()
    es.faults.drop_next(1, reset=reset)
    assert es.client(max_retries=2).info()["tagline"]  # the transport retries a broken connection
    assert [entry[3] for entry in es.request_log()] == [0, 0, 200]


def test_drop_after_processing_then_retry_sees_409(es: ElasticsearchServer) -> None:
    es.faults.drop_next(1, endpoint="bulk", after_processing=True)
    client = es.client(max_retries=3)
    resp = client.bulk(operations=[{"create": {"_index": DS, "_id": "x"}}, {"@timestamp": "2024-01-01T00:00:00Z"}])
    assert resp["items"][0]["create"]["status"] == 409  # written by the dropped attempt
    assert es.document_ids(DS) == ["x"]
    assert es.request_counts()["bulk"] == 2


def test_down_and_up_on_the_same_port(es: ElasticsearchServer) -> None:
    client = es.client(max_retries=0)
    list(helpers.streaming_bulk(client, docs(3)))
    port = es.port
    es.down()
    assert not es.is_up
    with pytest.raises(ConnectionError):
        client.info()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
    es.up()
    assert es.port == port
    assert client.info()["tagline"]
    assert len(es.document_ids(DS)) == 3  # state survives the outage


def test_keep_alive_connections_are_cut_when_down(es: ElasticsearchServer) -> None:
    with httpx.Client(base_url=es.url) as http:
        assert http.get("/").status_code == 200
        es.down()
        with pytest.raises(httpx.TransportError):
            http.get("/")
        es.up()
        assert http.get("/").status_code == 200


def test_a_bulk_of_a_thousand_documents_is_taken_whole(es: ElasticsearchServer) -> None:
    """One request of 1000 creates: every item answered, in order, none refused. (How fast the
    stand-in takes them is for bench/, never a test: CI may run on a busy machine, DESIGN §8.)"""
    lines = []
    for i in range(1000):
        lines.append(orjson.dumps({"create": {"_index": DS, "_id": f"t{i}"}}))
        lines.append(orjson.dumps({"@timestamp": "2024-01-01T00:00:00Z", "n": i, "source": {"ip": "10.0.0.1"}}))
    body = b"\n".join(lines) + b"\n"
    with httpx.Client(base_url=es.url) as http:
        resp = http.post("/_bulk", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert resp.status_code == 200 and resp.json()["errors"] is False
    items = resp.json()["items"]
    assert [item["create"]["_id"] for item in items] == [f"t{i}" for i in range(1000)]
    assert {item["create"]["status"] for item in items} == {201}


def test_out_of_process_server() -> None:
    with ElasticsearchProcess("--api-key", "k3y", "--no-builtin-templates") as proc:
        client = Elasticsearch(proc.url, api_key="k3y", max_retries=0)
        assert client.info()["version"]["number"].startswith("8.")
        client.indices.put_index_template(name="t", index_patterns=["logs-*"], data_stream={})
        ok = list(helpers.streaming_bulk(client, [{**d, "_index": "logs-p-default"} for d in docs(10)]))
        assert len(ok) == 10
        proc.fault("fail_next", n=1, status=429)
        with pytest.raises(ApiError) as excinfo:
            client.info()
        assert excinfo.value.meta.status == 429
        stats = proc.stats()
        assert stats["documents"] == {"logs-p-default": 10} and stats["requests"]["bulk"] == 1
        dumped = proc.fault("documents", target="logs-p-default")["documents"]
        assert sorted(d["_id"] for d in dumped) == sorted(f"d{i}" for i in range(10))
        proc.fault("down", seconds=0.5)
        time.sleep(0.2)
        with pytest.raises(ConnectionError):
            client.info()
        time.sleep(0.6)
        assert client.info()["tagline"]
    assert proc.proc is not None and proc.proc.returncode == 0
