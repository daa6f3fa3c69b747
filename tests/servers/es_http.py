"""The Elasticsearch REST layer: routing, media types, authentication, response shapes.

Every response carries ``X-Elastic-Product: Elasticsearch``. ``Accept``/``Content-Type`` with
``application/vnd.elasticsearch+json; compatible-with=N`` are accepted for N = 8 or 7 (answered in
the same vendored media type) and rejected otherwise with ES's ``media_type_header_exception``.
Unknown URIs answer 400 ``no handler found…``, a known URI with another method 405, as ES does.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from . import es_bulk, es_query
from .es_errors import EsError, index_not_found, rejected_execution, service_unavailable
from .es_headers import VENDORED, WWW_AUTHENTICATE, authenticate, check_media_types
from .es_store import Cluster, Index
from .es_templates import nest_settings
from .faults import Faults
from .http_base import Request, RequestStats, Response
from .os_alerting import AlertingMonitors
from .os_ism import IsmPolicies

EsHandler = Callable[[Request], tuple[int, Any]]
_T = r"(?P<target>[^/_][^/]*|_all)"


def _json_body(req: Request) -> Any:
    if not req.body.strip():
        return None
    try:
        return orjson.loads(req.body)
    except orjson.JSONDecodeError as exc:
        raise EsError(400, "x_content_parse_exception", f"[1:1] Unexpected character: {exc}") from None


class EsApp:
    def __init__(self, cluster: Cluster, faults: Faults, stats: RequestStats, *, api_key: str | None = None,
                 basic_auth: tuple[str, str] | None = None, version: str = "8.15.0",
                 max_content_length: int = 100 * 1024 * 1024,
                 admin_hook: Callable[[str, dict[str, Any]], dict[str, Any] | None] | None = None,
                 ism: IsmPolicies | None = None, alerting: AlertingMonitors | None = None) -> None:
        self.cluster = cluster
        self.ism = ism
        self.alerting = alerting
        self.faults = faults
        self.stats = stats
        self.api_key = api_key
        self.basic_auth = basic_auth
        self.version = version
        self.admin_hook = admin_hook
        self.max_content_length = max_content_length
        self.cluster_uuid = base64.urlsafe_b64encode(uuid.uuid4().bytes)[:22].decode()
        table: tuple[tuple[str, str, dict[str, EsHandler]], ...] = (
            ("/", "info", {"GET": self.info, "HEAD": self.info}),
            ("/_bulk", "bulk", {"POST": self.bulk, "PUT": self.bulk}),
            (f"/{_T}/_bulk", "bulk", {"POST": self.bulk, "PUT": self.bulk}),
            ("/_index_template(?:/(?P<name>[^/]+))?", "index_template", {
                "GET": self.get_index_template, "HEAD": self.get_index_template, "PUT": self.put_index_template,
                "POST": self.put_index_template, "DELETE": self.delete_index_template}),
            ("/_component_template(?:/(?P<name>[^/]+))?", "component_template", {
                "GET": self.get_component, "HEAD": self.get_component, "PUT": self.put_component,
                "POST": self.put_component, "DELETE": self.delete_component}),
            ("/_ilm/policy(?:/(?P<name>[^/]+))?", "ilm_policy", {
                "GET": self.get_policy, "PUT": self.put_policy, "DELETE": self.delete_policy}),
            ("/_data_stream(?:/(?P<name>[^/]+))?", "data_stream", {
                "GET": self.get_data_stream, "PUT": self.put_data_stream, "DELETE": self.delete_data_stream}),
            ("/_cluster/health", "cluster_health", {"GET": self.health}),
            (f"(?:/{_T})?/_refresh", "refresh", {"POST": self.refresh, "GET": self.refresh}),
            (f"(?:/{_T})?/_count", "count", {"GET": self.count, "POST": self.count}),
            (f"(?:/{_T})?/_search", "search", {"GET": self.search, "POST": self.search}),
            (f"(?:/{_T})?/_mapping", "mapping", {"GET": self.mapping}),
            (f"/{_T}/_doc/(?P<id>[^/]+)", "doc", {"GET": self.get_doc, "HEAD": self.get_doc, "PUT": self.put_doc,
                                                  "POST": self.put_doc, "DELETE": self.delete_doc}),
            (f"/{_T}/_doc", "doc", {"POST": self.put_doc}),
            (f"/{_T}/_create/(?P<id>[^/]+)", "doc", {"PUT": self.create_doc, "POST": self.create_doc}),
            (f"/{_T}/_rollover", "rollover", {"POST": self.rollover}),
            (f"/{_T}", "index", {"PUT": self.put_index, "DELETE": self.delete_index, "HEAD": self.head_index,
                                 "GET": self.get_index}),
        )
        if ism is not None:  # OpenSearch's ISM plugin API, on request (tests/servers/os_ism.py)
            table += (("/_plugins/_ism/policies/(?P<name>[^/]+)", "ism_policy", {
                "GET": self.get_ism, "PUT": self.put_ism, "DELETE": self.delete_ism}),)
        if alerting is not None:  # OpenSearch's alerting plugin API, on request (tests/servers/os_alerting.py)
            table += (("/_plugins/_alerting/monitors(?:/(?P<monitor>[^/]+))?", "alerting",
                       dict.fromkeys(("GET", "POST", "PUT", "DELETE"), self.alerting_call)),)
        self._routes = [(re.compile(pattern + r"/?\Z"), endpoint, methods) for pattern, endpoint, methods in table]

    # -- App protocol -----------------------------------------------------------------------------
    def admin(self, req: Request) -> Response | None:
        if not req.path.startswith("/_fault"):
            return None
        if self.admin_hook is None:
            return None
        try:
            args = orjson.loads(req.body) if req.body.strip() else {}
            action = req.path.removeprefix("/_fault").strip("/") or str(args.pop("action", ""))
            result = self.admin_hook(action, args) or {"acknowledged": True}
            return Response(200, orjson.dumps(result))
        except (ValueError, TypeError, KeyError, EsError) as exc:
            return Response(400, orjson.dumps({"error": f"{type(exc).__name__}: {exc}"}))

    def route(self, req: Request) -> tuple[str, Callable[[Request], Response]]:
        # Matched on the path as sent and decoded per parameter, so "%2F" inside a name is part of the name
        # (PUT _data_stream/a%2Fb is refused for its name), as OpenSearch 2.19 / Elasticsearch route.
        path = urlsplit(req.raw_path).path or "/"
        for rx, endpoint, methods in self._routes:
            m = rx.match(path)
            if m is None:
                continue
            handler = methods.get(req.method)
            if handler is None:
                return endpoint, self._wrong_method(", ".join(sorted(methods)))
            req.params = {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
            return endpoint, lambda r, h=handler: self._call(r, h)
        return "unknown", lambda r: self._call(r, self._no_handler)

    @staticmethod
    def _wrong_method(allowed: str) -> Callable[[Request], Response]:
        def answer(r: Request) -> Response:
            return Response(405, orjson.dumps({
                "error": f"Incorrect HTTP method for uri [{r.raw_path}] and method [{r.method}], allowed: [{allowed}]",
                "status": 405}), headers=[("Allow", allowed)])

        return answer

    def fault_response(self, req: Request, status: int) -> Response:
        if status == 429:
            return self._error(req, rejected_execution(len(req.body)))
        if status == 503:
            return self._error(req, service_unavailable())
        if status in (502, 504):
            text = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}[status]
            return Response(status, f"<html><body><h1>{text}</h1></body></html>\n".encode(), "text/html")
        return self._error(req, EsError(status, "exception", "[test server] injected failure"))

    def error_response(self, req: Request, exc: BaseException) -> Response:
        if isinstance(exc, EsError):
            return self._error(req, exc)
        return self._error(req, EsError(500, "exception", f"[test server] {type(exc).__name__}: {exc}"))

    def finalize(self, req: Request, resp: Response) -> Response:
        if resp.content_type == "text/html":
            return resp  # an injected proxy error: not from Elasticsearch
        resp.headers.append(("X-Elastic-Product", "Elasticsearch"))
        if resp.content_type == "application/json" and VENDORED.search(req.header("Accept")):
            resp.content_type = "application/vnd.elasticsearch+json;compatible-with=8"
        return resp

    # -- plumbing ---------------------------------------------------------------------------------
    def _call(self, req: Request, handler: EsHandler) -> Response:
        if len(req.body) > self.max_content_length:  # http.max_content_length: Netty answers, no body
            return Response(413, b"", content_type=None, headers=[("Connection", "close")])
        try:
            check_media_types(req)
            authenticate(req, self.api_key, self.basic_auth)
            status, body = handler(req)
        except EsError as exc:
            return self._error(req, exc)
        if req.method == "HEAD":
            return Response(status, orjson.dumps(body) if body is not None else b"")
        if "filter_path" in req.query and body is not None:
            body = es_query.filter_path(body, req.query["filter_path"])
        pretty = req.query.get("pretty") in ("", "true")
        data = orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n" if pretty else orjson.dumps(body)
        return Response(status, data)

    def _error(self, req: Request, exc: EsError) -> Response:
        headers = [("WWW-Authenticate", h) for h in WWW_AUTHENTICATE] if exc.status == 401 else []
        return Response(exc.status, orjson.dumps(exc.body()), headers=headers)

    def _no_handler(self, req: Request) -> tuple[int, Any]:
        return 400, {"error": f"no handler found for uri [{req.raw_path}] and method [{req.method}]", "status": 400}

    # -- handlers ---------------------------------------------------------------------------------
    def info(self, req: Request) -> tuple[int, Any]:
        return 200, {
            "name": "wafpipe-test-node", "cluster_name": "wafpipe-test", "cluster_uuid": self.cluster_uuid,
            "version": {"number": self.version, "build_flavor": "default", "build_type": "docker",
                        "build_hash": "1a77947f34deddb41af25e6f0ddb8e830159c179",
                        "build_date": "2024-08-05T10:05:34.233336849Z", "build_snapshot": False,
                        "lucene_version": "9.11.1", "minimum_wire_compatibility_version": "7.17.0",
                        "minimum_index_compatibility_version": "7.0.0"},
            "tagline": "You Know, for Search"}

    def bulk(self, req: Request) -> tuple[int, Any]:
        return 200, es_bulk.bulk(self.cluster, req.body, req.params.get("target"), req.query, self.faults.item_failure)

    def get_index_template(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            found = self.cluster.templates.get_index_templates(req.params.get("name"))
        return 200, {"index_templates": found}

    def put_index_template(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            self.cluster.templates.put_index_template(req.params.get("name", ""), _json_body(req),
                                                      create=req.query.get("create") == "true")
        return 200, {"acknowledged": True}

    def delete_index_template(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            in_use = {ds.name: ds.template for ds in self.cluster.data_streams.values()}
            self.cluster.templates.delete_index_template(req.params.get("name", ""), in_use)
        return 200, {"acknowledged": True}

    def get_component(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            found = self.cluster.templates.get_components(req.params.get("name"))
        return 200, {"component_templates": found}

    def put_component(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            self.cluster.templates.put_component(req.params.get("name", ""), _json_body(req),
                                                 create=req.query.get("create") == "true")
        return 200, {"acknowledged": True}

    def delete_component(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            self.cluster.templates.delete_component(req.params.get("name", ""))
        return 200, {"acknowledged": True}

    def _policy_users(self) -> dict[str, dict[str, list[str]]]:
        users: dict[str, dict[str, list[str]]] = {}

        def slot(name: str) -> dict[str, list[str]]:
            return users.setdefault(name, {"indices": [], "data_streams": [], "composable_templates": []})

        for index in self.cluster.indices.values():
            if index.policy:
                slot(index.policy)["indices"].append(index.name)
        for ds in self.cluster.data_streams.values():
            if ds.write_index.policy:
                slot(ds.write_index.policy)["data_streams"].append(ds.name)
        for name in self.cluster.templates.index_templates:
            policy = self.cluster.templates.compose(name)[0].get("index.lifecycle.name")
            if policy:
                slot(policy)["composable_templates"].append(name)
        return users

    def get_policy(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            return 200, self.cluster.templates.get_policies(req.params.get("name"), self._policy_users())

    def put_policy(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            self.cluster.templates.put_policy(req.params.get("name", ""), _json_body(req))
        return 200, {"acknowledged": True}

    def delete_policy(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            name = req.params.get("name", "")
            self.cluster.templates.delete_policy(name, self._policy_users().get(name, {}).get("indices", []))
        return 200, {"acknowledged": True}

    def get_ism(self, req: Request) -> tuple[int, Any]:
        assert self.ism is not None
        with self.cluster.lock:
            return self.ism.get(req.params["name"])

    def put_ism(self, req: Request) -> tuple[int, Any]:
        assert self.ism is not None
        with self.cluster.lock:
            return self.ism.put(req.params["name"], _json_body(req), req.query)

    def delete_ism(self, req: Request) -> tuple[int, Any]:
        assert self.ism is not None
        with self.cluster.lock:
            return self.ism.delete(req.params["name"])

    def alerting_call(self, req: Request) -> tuple[int, Any]:
        assert self.alerting is not None
        with self.cluster.lock:
            answer = self.alerting.route(req.method, req.params.get("monitor"), _json_body(req), req.query)
        return answer if answer is not None else self._no_handler(req)

    def get_data_stream(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            names = self.cluster.match_data_streams(req.params.get("name"), missing_ok=False)
            return 200, {"data_streams": [self.cluster.describe(self.cluster.data_streams[n]) for n in names]}

    def put_data_stream(self, req: Request) -> tuple[int, Any]:
        self.cluster.create_data_stream(req.params.get("name", ""))
        return 200, {"acknowledged": True}

    def delete_data_stream(self, req: Request) -> tuple[int, Any]:
        self.cluster.delete_data_streams(req.params.get("name", ""))
        return 200, {"acknowledged": True}

    def health(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            indices = list(self.cluster.indices.values())
        unassigned = sum(i.replicas for i in indices)
        active = len(indices)
        return 200, {
            "cluster_name": "wafpipe-test", "status": "yellow" if unassigned else "green", "timed_out": False,
            "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": active, "active_shards": active,
            "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": unassigned,
            "unassigned_primary_shards": 0, "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
            "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 100.0 * active / (active + unassigned) if active else 100.0}

    def refresh(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            targets = self.cluster.resolve(req.params.get("target"), ignore_unavailable=False)
            for index in targets:
                index.refresh()
            total = sum(i.shards_total for i in targets)
        return 200, {"_shards": {"total": total, "successful": len(targets), "failed": 0}}

    def _read_targets(self, req: Request) -> list[Index]:
        return self.cluster.resolve(req.params.get("target"),
                                    ignore_unavailable=req.query.get("ignore_unavailable") == "true")

    def count(self, req: Request) -> tuple[int, Any]:
        body = _json_body(req)
        with self.cluster.lock:
            return 200, es_query.count(self._read_targets(req), body, req.query, self.cluster.refresh_interval)

    def search(self, req: Request) -> tuple[int, Any]:
        body = _json_body(req)
        with self.cluster.lock:
            return 200, es_query.search(self._read_targets(req), body, req.query, self.cluster.refresh_interval)

    def mapping(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            return 200, {i.name: {"mappings": i.mapper.mappings} for i in self._read_targets(req)}

    def get_doc(self, req: Request) -> tuple[int, Any]:
        target, doc_id = req.params["target"], req.params["id"]
        index, doc = self.cluster.get_doc(target, doc_id)
        if index is None:
            raise index_not_found(target)
        if doc is None:
            return 404, {"_index": index.name, "_id": doc_id, "found": False}
        return 200, {"_index": index.name, "_id": doc_id, "_version": doc.version, "_seq_no": doc.seq_no,
                     "_primary_term": 1, "found": True, "_source": doc.source}

    def _single_write(self, req: Request, op: str) -> tuple[int, Any]:
        with self.cluster.lock:
            item = es_bulk.write(self.cluster, op, req.params["target"], req.params.get("id"), req.body,
                                      require_ds=req.query.get("require_data_stream") == "true")
            if "error" not in item and req.query.get("refresh") in ("", "true", "wait_for"):
                self.cluster.indices[item["_index"]].refresh()
        status = item.pop("status")
        if "error" in item:
            error = item["error"]
            raise EsError(status, error.pop("type"), error.pop("reason"), caused_by=error.pop("caused_by", None),
                          extra=error)
        return status, item

    def put_doc(self, req: Request) -> tuple[int, Any]:
        auto = "id" not in req.params
        op = "create" if auto or req.query.get("op_type") == "create" else "index"
        return self._single_write(req, op)

    def create_doc(self, req: Request) -> tuple[int, Any]:
        return self._single_write(req, "create")

    def delete_doc(self, req: Request) -> tuple[int, Any]:
        return self._single_write(req, "delete")

    def rollover(self, req: Request) -> tuple[int, Any]:
        old, new = self.cluster.rollover(req.params["target"])
        return 200, {"acknowledged": True, "shards_acknowledged": True, "old_index": old, "new_index": new,
                     "rolled_over": True, "dry_run": False, "lazy": False, "conditions": {}}

    def put_index(self, req: Request) -> tuple[int, Any]:
        name = req.params["target"]
        self.cluster.create_index(name, _json_body(req))
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def delete_index(self, req: Request) -> tuple[int, Any]:
        self.cluster.delete_indices(req.params["target"])
        return 200, {"acknowledged": True}

    def head_index(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            found = self.cluster.resolve(req.params["target"], ignore_unavailable=True)
        return (200 if found else 404), None

    def get_index(self, req: Request) -> tuple[int, Any]:
        with self.cluster.lock:
            return 200, {
                i.name: {"aliases": {}, "mappings": i.mapper.mappings,
                         "settings": nest_settings({**i.settings, "index.uuid": i.uuid,
                                                    "index.provided_name": i.name,
                                                    "index.creation_date": str(int(i.created * 1000))}),
                         **({"data_stream": i.data_stream} if i.data_stream else {})}
                for i in self._read_targets(req)}
