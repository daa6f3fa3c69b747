"""The Elasticsearch stand-in, driven by the official 8.x client: shapes and semantics that the
sink and ``wafpipe elastic setup`` rely on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import ApiError, AuthenticationException, BadRequestError, Elasticsearch, NotFoundError

from .elasticsearch import ElasticsearchServer
from .es_samples import DS, bulk_items, doc, install


# -- product check, media types, auth ---------------------------------------------------------------
def test_info_ping_and_product_header(es: ElasticsearchServer, client: Elasticsearch) -> None:
    info = client.info()
    assert info["version"]["number"].startswith("8.")
    assert info["tagline"] == "You Know, for Search"
    assert client.ping() is True
    raw = httpx.get(es.url + "/")
    assert raw.headers["x-elastic-product"] == "Elasticsearch"
    assert raw.headers["content-type"] == "application/json"
    head = httpx.head(es.url + "/")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
    missing = httpx.get(es.url + "/nope-index/_count")
    assert missing.status_code == 404 and missing.headers["x-elastic-product"] == "Elasticsearch"


@pytest.mark.parametrize("version, status", [(8, 200), (7, 200), (9, 400), (6, 400)])
def test_compatible_with_header(es: ElasticsearchServer, version: int, status: int) -> None:
    vnd = f"application/vnd.elasticsearch+json; compatible-with={version}"
    resp = httpx.get(es.url + "/", headers={"Accept": vnd, "Content-Type": vnd})
    assert resp.status_code == status
    if status == 200:
        assert resp.headers["content-type"] == "application/vnd.elasticsearch+json;compatible-with=8"
    else:
        error = resp.json()["error"]
        assert error["type"] == "media_type_header_exception"
        assert error["reason"] == "Invalid media-type value on headers [Content-Type, Accept]"
        assert error["root_cause"][0]["type"] == "media_type_header_exception"
        assert f"but found {version}" in error["caused_by"]["reason"]
        assert resp.json()["status"] == 400


def test_unsupported_body_type_unknown_uri_and_wrong_method(es: ElasticsearchServer) -> None:
    resp = httpx.post(es.url + "/_count", content=b"{}", headers={"Content-Type": "text/plain"})
    assert resp.status_code == 406
    assert resp.json() == {"error": "Content-Type header [text/plain] is not supported", "status": 406}
    resp = httpx.get(es.url + "/_nope")
    assert resp.status_code == 400 and "no handler found for uri [/_nope] and method [GET]" in resp.json()["error"]
    resp = httpx.get(es.url + "/_bulk")
    assert resp.status_code == 405 and resp.headers["allow"] == "POST, PUT"


def test_api_key_auth() -> None:
    with ElasticsearchServer(api_key=("id1", "secret")) as es:
        assert es.client().info()["tagline"]
        wrong = Elasticsearch(es.url, api_key=("id1", "wrong"))
        with pytest.raises(AuthenticationException) as excinfo:
            wrong.info()
        assert excinfo.value.meta.status == 401
        assert excinfo.value.body["error"]["type"] == "security_exception"
        resp = httpx.get(es.url + "/_cluster/health")
        assert resp.status_code == 401
        assert resp.json()["error"]["reason"] == "missing authentication credentials for REST request [/_cluster/health]"
        assert 'Basic realm="security", charset="UTF-8"' in resp.headers.get_list("www-authenticate")
        assert resp.headers["x-elastic-product"] == "Elasticsearch"


def test_basic_auth() -> None:
    with ElasticsearchServer(basic_auth=("elastic", "changeme")) as es:
        assert es.client().ping()
        with pytest.raises(AuthenticationException) as excinfo:
            Elasticsearch(es.url, basic_auth=("elastic", "nope")).info()
        assert excinfo.value.body["error"]["reason"] == "unable to authenticate user [elastic] for REST request [/]"


# -- data streams and _bulk -------------------------------------------------------------------------
def test_bulk_create_auto_creates_data_stream(es: ElasticsearchServer, client: Elasticsearch) -> None:
    install(client)
    items = bulk_items(client, {f"id{i}": doc(i) for i in range(3)})
    day = dt.datetime.now(dt.UTC).strftime("%Y.%m.%d")
    backing = f".ds-{DS}-{day}-000001"
    assert items[0] == {"create": {"_index": backing, "_id": "id0", "_version": 1, "result": "created",
                                   "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": 0,
                                   "_primary_term": 1, "status": 201}}
    assert [i["create"]["_seq_no"] for i in items] == [0, 1, 2]
    stream = client.indices.get_data_stream(name=DS)["data_streams"][0]
    assert stream["name"] == DS and stream["template"] == "logs-imperva.waf" and stream["generation"] == 1
    assert stream["timestamp_field"] == {"name": "@timestamp"}
    assert stream["indices"][0]["index_name"] == backing
    assert stream["ilm_policy"] == "imperva-waf" and stream["_meta"] == {"managed_by": "wafpipe"}
    assert es.document_ids(DS) == ["id0", "id1", "id2"]
    assert es.documents(DS)[1].source == doc(1) and es.documents(DS)[1].index == backing
    with pytest.raises(NotFoundError) as excinfo:
        client.indices.get_data_stream(name="logs-nope-default")
    assert excinfo.value.body["error"]["type"] == "index_not_found_exception"


def test_create_twice_is_a_409_with_es_reason(client: Elasticsearch) -> None:
    install(client)
    bulk_items(client, {"a": doc(1)})
    (item,) = bulk_items(client, {"a": doc(1)})
    assert item["create"]["status"] == 409
    assert item["create"]["error"]["type"] == "version_conflict_engine_exception"
    assert item["create"]["error"]["reason"] == "[a]: version conflict, document already exists (current version [1])"


def test_index_op_into_data_stream_is_refused(client: Elasticsearch) -> None:
    install(client)
    (item,) = bulk_items(client, {"a": doc(1)}, op="index")
    assert item["index"]["status"] == 400
    assert item["index"]["error"] == {"type": "illegal_argument_exception",
                                      "reason": "only write ops with an op_type of create are allowed in data streams"}


def test_missing_timestamp_is_refused(client: Elasticsearch) -> None:
    install(client)
    source = doc(1)
    del source["@timestamp"]
    (item,) = bulk_items(client, {"a": source})
    error = item["create"]["error"]
    assert item["create"]["status"] == 400 and error["type"] == "document_parsing_exception"
    assert error["reason"].endswith("failed to parse: data stream timestamp field [@timestamp] is missing")


@pytest.mark.parametrize("field, value, ftype, cause", [
    ("source.ip", "999.1.1.1", "ip", "'999.1.1.1' is not an IP string literal."),
    ("source.port", "http", "long", 'For input string: "http"'),
    ("http.response.status_code", 3_000_000_000, "integer", "Value [3000000000] is out of range for an integer"),
    ("@timestamp", "20/01/2024", "date", "failed to parse date field [20/01/2024] with format "
                                         "[strict_date_optional_time||epoch_millis]"),
    ("imperva.waf.security_event", "yes", "boolean", "Failed to parse value [yes] as only [true] or [false] "
                                                     "are allowed."),
    ("source.geo.location", {"lat": 95.0, "lon": 1.0}, "geo_point", "illegal latitude value [95.0] for "
                                                                    "source.geo.location"),
    ("event.risk_score", "high", "float", 'For input string: "high"'),
])
def test_mapping_violations(client: Elasticsearch, field: str, value: Any, ftype: str, cause: str) -> None:
    install(client)
    source = doc(1)
    source[field] = value  # dotted keys are fields too
    (item,) = bulk_items(client, {"bad-1": source})
    error = item["create"]["error"]
    assert item["create"]["status"] == 400
    assert error["type"] == "document_parsing_exception"
    assert f"failed to parse field [{field}] of type [{ftype}] in document with id 'bad-1'" in error["reason"]
    assert error["reason"].startswith("[1:")
    assert error["caused_by"]["reason"] == cause


def test_mapping_accepts_what_es_accepts(es: ElasticsearchServer, client: Elasticsearch) -> None:
    install(client)
    good = {
        "a": doc(1, source={"ip": "2001:db8::1", "port": "8080", "geo": {"location": "48.85,2.35"}}),
        "b": doc(2, **{"@timestamp": 1705750921336, "event.risk_score": "7.5", "imperva.waf.security_event": "true"}),
        "c": doc(3, **{"@timestamp": "2024-01-20", "source.geo.location": [2.35, 48.85]}),
        "d": doc(4, **{"@timestamp": "2024-01-20T11:42:01+01:00", "http.response.status_code": 404.0}),
    }
    items = bulk_items(client, good)
    assert [i["create"]["status"] for i in items] == [201] * 4, items


def test_strict_dynamic_and_object_shape_errors(client: Elasticsearch) -> None:
    install(client)
    (item,) = bulk_items(client, {"x": doc(1, unknown_field=1)})
    assert item["create"]["error"]["type"] == "strict_dynamic_mapping_exception"
    assert item["create"]["error"]["reason"].endswith(
        "mapping set to strict, dynamic introduction of [unknown_field] within [_doc] is not allowed")
    (item,) = bulk_items(client, {"y": doc(1, url={"path": {"nested": "x"}})})
    assert item["create"]["error"]["caused_by"]["type"] == "illegal_state_exception"
    (item,) = bulk_items(client, {"z": doc(1, user_agent="Mozilla/5.0")})
    assert "object mapping for [user_agent] tried to parse field [user_agent] as object, but found a concrete value" \
        in item["create"]["error"]["reason"]
    (item,) = bulk_items(client, {"w": doc(1, data_stream={"dataset": "other"})})
    assert item["create"]["error"]["caused_by"]["reason"] == (
        "[constant_keyword] field [data_stream.dataset] only accepts values that are equal to the value defined in the "
        "mappings [imperva.waf], but got [other]")


def test_dynamic_mapping_fixes_a_type_for_later_documents(es: ElasticsearchServer, client: Elasticsearch) -> None:
    install(client, dynamic=True)
    items = bulk_items(client, {"a": doc(1, extra={"count": 5, "seen": "2024-01-20T11:42:01Z"}),
                                "b": doc(2, extra={"count": "many"})})
    assert items[0]["create"]["status"] == 201
    assert items[1]["create"]["status"] == 400
    assert "failed to parse field [extra.count] of type [long]" in items[1]["create"]["error"]["reason"]
    props = es.mappings(DS)["properties"]["extra"]["properties"]
    assert props["count"] == {"type": "long"} and props["seen"] == {"type": "date"}


def test_bulk_request_errors(es: ElasticsearchServer) -> None:
    url = es.url + "/_bulk"
    ndjson = {"Content-Type": "application/x-ndjson"}
    resp = httpx.post(url, content=b'{"create":{"_index":"x"}}\n{"a":1}', headers=ndjson)
    assert resp.status_code == 400
    assert resp.json()["error"]["reason"] == "The bulk request must be terminated by a newline [\\n]"
    resp = httpx.post(url, content=b'{"create":{}}\n{"a":1}\n', headers=ndjson)
    assert resp.json()["error"] == {"root_cause": [{"type": "action_request_validation_exception",
                                                    "reason": "Validation Failed: 1: index is missing;"}],
                                    "type": "action_request_validation_exception",
                                    "reason": "Validation Failed: 1: index is missing;"}
    resp = httpx.post(url, content=b'{"upsert":{"_index":"x"}}\n{}\n', headers=ndjson)
    assert "expected field [create], [delete], [index] or [update] but found [upsert]" in resp.json()["error"]["reason"]
    resp = httpx.post(es.url + "/plain-index/_bulk?refresh=true", headers=ndjson,
                      content=b'{"index":{"_id":"1"}}\n{"a":1}\n{"index":{"_id":"1"}}\n{"a":2}\n{"delete":{"_id":"1"}}\n')
    body = resp.json()
    assert [i[next(iter(i))]["result"] for i in body["items"]] == ["created", "updated", "deleted"]
    assert body["errors"] is False


def test_refresh_count_search_and_get(es: ElasticsearchServer, client: Elasticsearch) -> None:
    install(client)
    bulk_items(client, {f"id{i}": doc(i, message=f"blocked request {i}") for i in range(12)})
    assert client.count(index=DS)["count"] == 0  # not refreshed yet, as on ES
    client.indices.refresh(index=DS)
    assert client.count(index=DS)["count"] == 12
    assert client.count(index="logs-*")["count"] == 12
    assert client.count(index=DS, query={"term": {"url.path": "/p/3"}})["count"] == 1
    assert client.count(index=DS, query={"range": {"@timestamp": {"gte": "2024-01-01", "lt": "now"}}})["count"] == 12
    res = client.search(index=DS, query={"match_all": {}}, size=5, sort=[{"source.ip": "desc"}])
    assert res["hits"]["total"] == {"value": 12, "relation": "eq"} and len(res["hits"]["hits"]) == 5
    assert res["hits"]["hits"][0]["_id"] == "id9" and res["hits"]["hits"][0]["_index"].startswith(".ds-")
    res = client.search(index=DS, query={"bool": {"filter": [{"match": {"message": "REQUEST"}}],
                                                   "must_not": [{"terms": {"_id": []}}, {"ids": {"values": ["id0"]}}]}})
    assert res["hits"]["total"]["value"] == 11
    backing = es.backing_indices(DS)[0]
    got = client.get(index=backing, id="id3")
    assert got["found"] is True and got["_source"]["url"]["path"] == "/p/3" and got["_version"] == 1
    assert client.get(index=DS, id="id3")["_index"] == backing  # one backing index: resolves
    with pytest.raises(NotFoundError):
        client.get(index=backing, id="nope")
    with pytest.raises(BadRequestError) as excinfo:
        client.search(index=DS, aggs={"by": {"terms": {"field": "url.path"}}})
    assert "test server" in excinfo.value.body["error"]["reason"]


def test_auto_refresh_interval() -> None:
    with ElasticsearchServer(refresh_interval=0) as es:
        client = es.client()
        client.index(index="plain", id="1", document={"a": 1})
        assert client.count(index="plain")["count"] == 1


def test_rollover_lets_an_old_id_in_again(es: ElasticsearchServer, client: Elasticsearch) -> None:
    install(client)
    bulk_items(client, {"same": doc(1)})
    new_index = client.indices.rollover(alias=DS)["new_index"]
    assert new_index.endswith("-000002")
    (item,) = bulk_items(client, {"same": doc(1)})
    assert item["create"]["status"] == 201 and item["create"]["_index"] == new_index
    assert es.document_ids(DS) == ["same", "same"]  # the duplicate DESIGN §2 warns about
    with pytest.raises(BadRequestError):
        client.get(index=DS, id="same")  # two backing indices: no single-index get
    assert es.get_document(DS, "same") == doc(1)


def test_single_document_apis(client: Elasticsearch) -> None:
    install(client)
    created = client.create(index=DS, id="one", document=doc(1))
    assert created["result"] == "created" and created["_index"].startswith(".ds-")
    with pytest.raises(ApiError) as excinfo:
        client.create(index=DS, id="one", document=doc(1))
    assert excinfo.value.meta.status == 409
    assert excinfo.value.body["error"]["type"] == "version_conflict_engine_exception"
    auto = client.index(index=DS, document=doc(2))
    assert auto["result"] == "created" and len(auto["_id"]) == 20


def test_request_too_large() -> None:
    with ElasticsearchServer(max_content_length=1000) as es:
        ops = [op for i in range(50) for op in ({"create": {"_index": DS, "_id": str(i)}}, doc(i))]
        with pytest.raises(ApiError) as excinfo:
            es.client(max_retries=0).bulk(operations=ops)
        assert excinfo.value.meta.status == 413


def test_filter_path_pretty_and_gzip(es: ElasticsearchServer) -> None:
    client = es.client(http_compress=True)
    install(client)
    resp = client.bulk(operations=[{"create": {"_index": DS, "_id": "a"}}, doc(1)], filter_path="items.*.error,errors")
    assert resp.body == {"errors": False}
    raw = httpx.get(es.url + "/_cluster/health?pretty")
    assert raw.text.startswith("{\n  ") and orjson.loads(raw.content)["status"] == "yellow"
