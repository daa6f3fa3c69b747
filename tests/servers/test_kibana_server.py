"""The Kibana stand-in, driven with httpx the way ``wafpipe elastic setup`` calls Kibana."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from .kibana import KibanaServer

DATA_VIEW = {"type": "index-pattern", "id": "logs-imperva.waf", "attributes": {
    "title": "logs-imperva.waf-*", "timeFieldName": "@timestamp"}, "references": []}
LENS = {"type": "lens", "id": "lens-1", "attributes": {"title": "Attacks", "state": {}}, "references": [
    {"type": "index-pattern", "id": "logs-imperva.waf", "name": "indexpattern-datasource-layer-1"}]}
DASHBOARD = {"type": "dashboard", "id": "dash-1", "attributes": {
    "title": "Imperva WAF", "panelsJSON": "[]", "optionsJSON": "{}"},
    "references": [{"type": "lens", "id": "lens-1", "name": "panel_1"}]}


def ndjson(*objects: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(o) for o in objects) + b"\n"


@pytest.fixture
def kb() -> Iterator[KibanaServer]:
    with KibanaServer(api_key=("kid", "ksecret")) as server:
        yield server


def do_import(kb: KibanaServer, data: bytes, *, overwrite: bool = True, filename: str = "export.ndjson",
              headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{kb.url}/api/saved_objects/_import", params={"overwrite": str(overwrite).lower()},
                      headers=kb.headers() if headers is None else headers, files={"file": (filename, data)})


def test_status(kb: KibanaServer) -> None:
    resp = httpx.get(f"{kb.url}/api/status", headers=kb.headers(xsrf=False))
    assert resp.status_code == 200
    body = resp.json()
    assert body["version"]["number"] == "8.15.0"
    assert body["status"]["overall"]["level"] == "available"
    kb.set_status("unavailable")
    assert httpx.get(f"{kb.url}/api/status", headers=kb.headers()).status_code == 503


def test_auth_is_required(kb: KibanaServer) -> None:
    resp = httpx.get(f"{kb.url}/api/status")
    assert resp.status_code == 401
    assert resp.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
    resp = httpx.get(f"{kb.url}/api/status", headers={"Authorization": "ApiKey nope"})
    assert resp.status_code == 401


def test_import_success_shape_and_read_back(kb: KibanaServer) -> None:
    resp = do_import(kb, ndjson(DATA_VIEW, LENS, DASHBOARD, {"exportedCount": 3, "missingRefCount": 0,
                                                            "missingReferences": []}))
    assert resp.status_code == 200
    body = resp.json()
    assert body["success"] is True and body["successCount"] == 3 and body["warnings"] == []
    assert "errors" not in body
    assert body["successResults"][0] == {"type": "index-pattern", "id": "logs-imperva.waf", "meta": {
        "title": "logs-imperva.waf-*", "icon": "indexPatternApp"}, "managed": False}
    got = httpx.get(f"{kb.url}/api/saved_objects/dashboard/dash-1", headers=kb.headers()).json()
    assert got["attributes"]["title"] == "Imperva WAF" and got["references"] == DASHBOARD["references"]
    assert got["namespaces"] == ["default"] and "version" in got and "updated_at" in got
    assert kb.problems() == []
    again = do_import(kb, ndjson(DATA_VIEW)).json()
    assert again["successResults"][0]["overwrite"] is True


def test_import_missing_reference_is_a_dry_run(kb: KibanaServer) -> None:
    body = do_import(kb, ndjson(LENS, DASHBOARD)).json()
    assert body["success"] is False
    assert body["errors"] == [{
        "id": "lens-1", "type": "lens", "title": "Attacks", "meta": {"title": "Attacks", "icon": "lensApp"},
        "error": {"type": "missing_references", "references": [{"type": "index-pattern", "id": "logs-imperva.waf"}]}}]
    assert [r["id"] for r in body["successResults"]] == ["dash-1"]  # listed, as Kibana does…
    assert kb.saved_objects() == []  # …but nothing was written
    assert do_import(kb, ndjson(DATA_VIEW)).json()["success"] is True
    assert do_import(kb, ndjson(LENS, DASHBOARD)).json()["success"] is True  # now resolvable from the store


def test_import_conflict_without_overwrite(kb: KibanaServer) -> None:
    do_import(kb, ndjson(DATA_VIEW))
    body = do_import(kb, ndjson(DATA_VIEW), overwrite=False).json()
    assert body["success"] is False and body["errors"][0]["error"] == {"type": "conflict"}


def test_import_rejections(kb: KibanaServer) -> None:
    resp = do_import(kb, ndjson(DATA_VIEW), headers=kb.headers(xsrf=False))
    assert resp.status_code == 400
    assert resp.json() == {"statusCode": 400, "error": "Bad Request", "message": "Request must contain a kbn-xsrf header."}
    resp = do_import(kb, ndjson(DATA_VIEW), filename="export.json")
    assert resp.status_code == 400 and resp.json()["message"] == "Invalid file extension .json"
    resp = do_import(kb, b'{"type": "dashboard", "id": \n')
    assert resp.status_code == 400
    body = do_import(kb, ndjson({"type": "widget", "id": "w", "attributes": {"title": "W"}, "references": []},
                                {"type": "dashboard", "attributes": {"title": "no id"}})).json()
    assert [e["error"]["type"] for e in body["errors"]] == ["unsupported_type", "unknown"]
    resp = httpx.post(f"{kb.url}/api/saved_objects/_import", headers=kb.headers(), content=ndjson(DATA_VIEW))
    assert resp.status_code == 415


def test_problems_reports_what_kibana_lets_through(kb: KibanaServer) -> None:
    broken = {**DASHBOARD, "attributes": {"title": "x", "panelsJSON": "[{oops"}}
    assert do_import(kb, ndjson(DATA_VIEW, broken)).json()["success"] is True  # Kibana does not check these
    problems = kb.problems()
    assert any("lens/lens-1 does not exist" in p for p in problems)
    assert any("panelsJSON is not valid JSON" in p for p in problems)


def test_find(kb: KibanaServer) -> None:
    do_import(kb, ndjson(DATA_VIEW, LENS, DASHBOARD))
    resp = httpx.get(f"{kb.url}/api/saved_objects/_find", params={"type": ["dashboard", "lens"], "per_page": 1},
                     headers=kb.headers())
    body = resp.json()
    assert body["total"] == 2 and body["per_page"] == 1 and len(body["saved_objects"]) == 1
    assert httpx.get(f"{kb.url}/api/saved_objects/_find", headers=kb.headers()).status_code == 400
    missing = httpx.get(f"{kb.url}/api/saved_objects/dashboard/nope", headers=kb.headers())
    assert missing.status_code == 404 and missing.json()["message"] == "Saved object [dashboard/nope] not found"


def test_data_views(kb: KibanaServer) -> None:
    url = f"{kb.url}/api/data_views"
    resp = httpx.post(f"{url}/data_view", headers=kb.headers(), json={"data_view": {
        "title": "logs-imperva.waf-*", "name": "Imperva WAF", "timeFieldName": "@timestamp", "id": "dv1"}})
    assert resp.status_code == 200
    view = resp.json()["data_view"]
    assert view["id"] == "dv1" and view["timeFieldName"] == "@timestamp" and view["name"] == "Imperva WAF"
    listed = httpx.get(url, headers=kb.headers()).json()["data_view"]
    assert listed == [{"id": "dv1", "namespaces": ["default"], "title": "logs-imperva.waf-*", "typeMeta": {},
                       "name": "Imperva WAF"}]
    dup = httpx.post(f"{url}/data_view", headers=kb.headers(), json={"data_view": {"title": "logs-imperva.waf-*"}})
    assert dup.status_code == 400 and dup.json()["message"] == "Duplicate data view: logs-imperva.waf-*"
    over = httpx.post(f"{url}/data_view", headers=kb.headers(),
                      json={"data_view": {"title": "logs-imperva.waf-*", "id": "dv2"}, "override": True})
    assert over.status_code == 200
    assert [v["id"] for v in httpx.get(url, headers=kb.headers()).json()["data_view"]] == ["dv2"]
    assert kb.saved_object("index-pattern", "dv2") is not None  # data views are index-pattern objects
    assert httpx.get(f"{url}/data_view/dv1", headers=kb.headers()).status_code == 404
    notitle = httpx.post(f"{url}/data_view", headers=kb.headers(), json={"data_view": {}})
    assert notitle.status_code == 400


def test_spaces_are_separate(kb: KibanaServer) -> None:
    resp = httpx.post(f"{kb.url}/s/security/api/saved_objects/_import?overwrite=true", headers=kb.headers(),
                      files={"file": ("x.ndjson", ndjson(DATA_VIEW))})
    assert resp.json()["success"] is True
    assert kb.saved_objects(space="security") and not kb.saved_objects()


def test_faults_and_restart(kb: KibanaServer) -> None:
    kb.faults.fail_next(1, 503, endpoint="import")
    resp = do_import(kb, ndjson(DATA_VIEW))
    assert resp.status_code == 503 and resp.json()["error"] == "Service Unavailable"
    assert do_import(kb, ndjson(DATA_VIEW)).status_code == 200
    port = kb.port
    kb.down()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{kb.url}/api/status", headers=kb.headers())
    kb.up()
    assert kb.port == port and httpx.get(f"{kb.url}/api/status", headers=kb.headers()).status_code == 200
    assert kb.request_counts()["import"] == 2
