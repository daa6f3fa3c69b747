"""A Kibana 8.x stand-in for tests: a real HTTP server on 127.0.0.1 with the APIs ``wafpipe elastic
setup`` uses — ``GET /api/status``, ``POST /api/saved_objects/_import`` (multipart NDJSON file),
``GET|DELETE /api/saved_objects/<type>/<id>``, ``POST /api/saved_objects/<type>[/<id>]``,
``GET /api/saved_objects/_find``, and the data views API (``POST /api/data_views/data_view``,
``GET /api/data_views``, ``GET|DELETE /api/data_views/data_view/<id>``), and the detection engine's
rules (``GET|POST|PUT|PATCH|DELETE /api/detection_engine/rules``, ``GET …/rules/_find``; see
:mod:`kibana_rules`). Space prefixes (``/s/<space>/api/…``) keep separate objects.

As Kibana does: writes (POST/PUT/DELETE/PATCH) without a ``kbn-xsrf`` header answer 400 ``Request
must contain a kbn-xsrf header.``; with ``api_key``/``basic_auth`` set, other credentials answer
401; errors are ``{"statusCode", "error", "message"}``. The saved-object rules are in
:mod:`kibana_store`. Faults work as for Elasticsearch (``server.faults``; endpoints ``status``,
``import``, ``saved_objects``, ``find``, ``data_views``, ``detection_rules``, ``detection_rules_find``).

    with KibanaServer(api_key="secret") as kb:
        httpx.post(f"{kb.url}/api/saved_objects/_import?overwrite=true", headers=kb.headers(),
                   files={"file": ("export.ndjson", ndjson)})
        kb.saved_object("dashboard", "x"); kb.problems()
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

import orjson

from .faults import Faults
from .http_base import Request, RequestHandler, RequestStats, Response, ServerThread
from .kibana_rules import DetectionRules
from .kibana_store import KibanaError, SavedObjects

_SPACE = re.compile(r"/s/(?P<space>[a-z0-9_-]+)(?P<rest>/.*)\Z")
KbHandler = Callable[[Request, str], tuple[int, Any]]


class KibanaApp:
    def __init__(self, store: SavedObjects, faults: Faults, stats: RequestStats, *, api_key: str | None,
                 basic_auth: tuple[str, str] | None, version: str) -> None:
        self.store = store
        self.faults = faults
        self.stats = stats
        self.api_key = api_key
        self.basic_auth = basic_auth
        self.version = version
        self.level = "available"
        self.max_import_bytes = 26_214_400  # savedObjects.maxImportPayloadBytes
        self.uuid = str(uuid.uuid4())
        self.rules = DetectionRules()
        table: tuple[tuple[str, str, dict[str, KbHandler]], ...] = (
            ("/api/status", "status", {"GET": self.status}),
            ("/api/saved_objects/_import", "import", {"POST": self.import_}),
            ("/api/saved_objects/_find", "find", {"GET": self.find}),
            ("/api/saved_objects/(?P<type>[^/_][^/]*)/(?P<id>[^/]+)", "saved_objects",
             {"GET": self.get_object, "DELETE": self.delete_object, "POST": self.create_object}),
            ("/api/saved_objects/(?P<type>[^/_][^/]*)", "saved_objects", {"POST": self.create_object}),
            ("/api/data_views", "data_views", {"GET": self.list_data_views}),
            ("/api/data_views/data_view", "data_views", {"POST": self.create_data_view}),
            ("/api/data_views/data_view/(?P<id>[^/]+)", "data_views",
             {"GET": self.get_data_view, "DELETE": self.delete_data_view}),
            ("/api/detection_engine/rules", "detection_rules",
             {"GET": self.get_rule, "POST": self.create_rule, "PUT": self.update_rule, "PATCH": self.patch_rule,
              "DELETE": self.delete_rule}),
            ("/api/detection_engine/rules/_find", "detection_rules_find", {"GET": self.find_rules}),
        )
        self._routes = [(re.compile(p + r"\Z"), e, m) for p, e, m in table]

    # -- App protocol -------------------------------------------------------------------------------
    def admin(self, req: Request) -> Response | None:
        return None

    def route(self, req: Request) -> tuple[str, Callable[[Request], Response]]:
        space, path = "default", req.path.rstrip("/") or "/"
        m = _SPACE.match(path)
        if m:
            space, path = m.group("space"), m.group("rest")
        for rx, endpoint, methods in self._routes:
            pm = rx.match(path)
            if pm is None:
                continue
            handler = methods.get(req.method)
            if handler is None:
                return endpoint, lambda r: self._json(405, KibanaError(405, "Method Not Allowed").body())
            req.params = pm.groupdict()
            return endpoint, lambda r, h=handler: self._call(r, h, space)
        return "unknown", lambda r: self._json(404, KibanaError(404, "Not Found").body())

    def fault_response(self, req: Request, status: int) -> Response:
        return self._json(status, KibanaError(status, "[test server] injected failure").body())

    def error_response(self, req: Request, exc: BaseException) -> Response:
        if isinstance(exc, KibanaError):
            return self._json(exc.status, exc.body())
        return self._json(500, KibanaError(500, f"[test server] {type(exc).__name__}: {exc}").body())

    def finalize(self, req: Request, resp: Response) -> Response:
        resp.headers.append(("kbn-name", "kibana"))
        return resp

    # -- plumbing -----------------------------------------------------------------------------------
    @staticmethod
    def _json(status: int, body: Any) -> Response:
        return Response(status, orjson.dumps(body) if body is not None else b"", "application/json; charset=utf-8")

    def _call(self, req: Request, handler: KbHandler, space: str) -> Response:
        try:
            self._authenticate(req)
            if req.method in ("POST", "PUT", "DELETE", "PATCH") and req.headers.get("kbn-xsrf") is None:
                raise KibanaError(400, "Request must contain a kbn-xsrf header.")
            status, body = handler(req, space)
        except KibanaError as exc:
            return self.error_response(req, exc)
        return self._json(status, body)

    def _authenticate(self, req: Request) -> None:
        if self.api_key is None and self.basic_auth is None:
            return
        scheme, _, cred = req.header("Authorization").partition(" ")
        if scheme.lower() == "apikey" and self.api_key is not None and cred.strip() == self.api_key:
            return
        if scheme.lower() == "basic" and self.basic_auth is not None:
            try:
                user, _, password = base64.b64decode(cred.strip()).decode().partition(":")
            except ValueError:
                user, password = "", ""
            if (user, password) == self.basic_auth:
                return
        raise KibanaError(401, "Unauthorized")

    @staticmethod
    def _body(req: Request) -> Any:
        try:
            return orjson.loads(req.body) if req.body.strip() else None
        except orjson.JSONDecodeError as exc:
            raise KibanaError(400, f"Invalid request payload JSON format: {exc}") from None

    # -- handlers -----------------------------------------------------------------------------------
    def status(self, req: Request, space: str) -> tuple[int, Any]:
        summary = {"available": "All services and plugins are available",
                   "degraded": "1 service is degraded: elasticsearch",
                   "unavailable": "1 service is unavailable: elasticsearch"}[self.level]
        body = {
            "name": "kibana", "uuid": self.uuid,
            "version": {"number": self.version, "build_hash": "b2d76a4b8de2a7b7bd4e1f1b0b8f1b5a1b2b3c4d",
                        "build_number": 76233, "build_snapshot": False, "build_flavor": "traditional",
                        "build_date": "2024-08-05T10:05:34.233Z"},
            "status": {
                "overall": {"level": self.level, "summary": summary},
                "core": {"elasticsearch": {"level": self.level, "summary": "Elasticsearch is available"},
                         "savedObjects": {"level": "available",
                                          "summary": "SavedObjects service has completed migrations and is available"}},
                "plugins": {},
            },
            "metrics": {"last_updated": "2024-08-05T10:05:34.233Z", "collection_interval_in_millis": 5000},
        }
        return (503 if self.level == "unavailable" else 200), body

    def import_(self, req: Request, space: str) -> tuple[int, Any]:
        if len(req.body) > self.max_import_bytes:
            raise KibanaError(413, f"Payload content length greater than maximum allowed: {self.max_import_bytes}")
        ctype = req.header("Content-Type")
        if not ctype.lower().startswith("multipart/form-data"):
            raise KibanaError(415, "Unsupported Media Type")
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        file_part = None
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                file_part = part
        if file_part is None:
            raise KibanaError(400, "[request body.file]: expected value of type [Stream] but got [undefined]")
        filename = file_part.get_filename() or ""
        extension = PurePosixPath(filename).suffix.lower()
        if extension != ".ndjson":
            raise KibanaError(400, f"Invalid file extension {extension}")
        content = file_part.get_payload(decode=True)
        overwrite = req.query.get("overwrite") == "true"
        if overwrite and req.query.get("createNewCopies") == "true":
            raise KibanaError(400, "cannot use [overwrite] with [createNewCopies]")
        return 200, self.store.import_objects(space, content if isinstance(content, bytes) else b"", overwrite)

    def find(self, req: Request, space: str) -> tuple[int, Any]:
        types = [t for v in req.query_all.get("type", []) for t in v.split(",") if t]
        if not types:
            raise KibanaError(400, "[request query.type]: expected at least one defined value but got [undefined]")
        page = int(req.query.get("page", "1"))
        per_page = int(req.query.get("per_page", "20"))
        return 200, self.store.find(space, types, req.query.get("search"), page, per_page)

    def get_object(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.store.get(space, req.params["type"], req.params["id"])

    def delete_object(self, req: Request, space: str) -> tuple[int, Any]:
        self.store.delete(space, req.params["type"], req.params["id"])
        return 200, {}

    def create_object(self, req: Request, space: str) -> tuple[int, Any]:
        body = self._body(req)
        if not isinstance(body, dict) or not isinstance(body.get("attributes"), dict):
            raise KibanaError(400, "[request body.attributes]: expected value of type [object] but got [undefined]")
        otype, oid = req.params["type"], req.params.get("id") or str(uuid.uuid4())
        with self.store.lock:
            if (space, otype, oid) in self.store.objects and req.query.get("overwrite") != "true":
                raise KibanaError(409, f"Saved object [{otype}/{oid}] conflict")
            return 200, self.store.put(space, otype, oid, body["attributes"], body.get("references", []))

    def list_data_views(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.store.list_data_views(space)

    def create_data_view(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.store.create_data_view(space, self._body(req))

    def get_data_view(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, {"data_view": self.store.data_view(self.store.get(space, "index-pattern", req.params["id"]))}

    def delete_data_view(self, req: Request, space: str) -> tuple[int, Any]:
        self.store.delete(space, "index-pattern", req.params["id"])
        return 200, None

    # -- detection engine (kibana_rules) -------------------------------------------------------------
    def get_rule(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.rules.get(space, req.query.get("rule_id"), req.query.get("id"))

    def create_rule(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.rules.create(space, self._body(req))

    def update_rule(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.rules.update(space, self._body(req))

    def patch_rule(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.rules.patch(space, self._body(req))

    def delete_rule(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.rules.delete(space, req.query.get("rule_id"), req.query.get("id"))

    def find_rules(self, req: Request, space: str) -> tuple[int, Any]:
        return 200, self.rules.find(space, req.query)


class KibanaServer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | tuple[str, str] | None = None,
                 basic_auth: tuple[str, str] | None = None, version: str = "8.15.0") -> None:
        if isinstance(api_key, tuple):
            api_key = base64.b64encode(f"{api_key[0]}:{api_key[1]}".encode()).decode()
        self.api_key = api_key
        self.basic_auth = basic_auth
        self.store = SavedObjects()
        self.faults = Faults()
        self.stats = RequestStats()
        self.app = KibanaApp(self.store, self.faults, self.stats, api_key=api_key, basic_auth=basic_auth,
                             version=version)
        self._thread = ServerThread(self.app, RequestHandler, host, port)

    def start(self) -> KibanaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()

    down = stop

    def up(self) -> None:
        self._thread.start()

    def __enter__(self) -> KibanaServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._thread.port

    @property
    def url(self) -> str:
        return f"http://{self._thread.host}:{self.port}"

    def headers(self, *, xsrf: bool = True) -> dict[str, str]:
        """Headers a well-behaved client sends: ``kbn-xsrf`` and the configured credentials."""
        out = {"kbn-xsrf": "true"} if xsrf else {}
        if self.api_key is not None:
            out["Authorization"] = f"ApiKey {self.api_key}"
        elif self.basic_auth is not None:
            out["Authorization"] = "Basic " + base64.b64encode(":".join(self.basic_auth).encode()).decode()
        return out

    def set_status(self, level: str) -> None:
        """``available`` | ``degraded`` | ``unavailable`` (then ``/api/status`` answers 503)."""
        if level not in ("available", "degraded", "unavailable"):
            raise ValueError(level)
        self.app.level = level

    def saved_object(self, otype: str, oid: str, space: str = "default") -> dict[str, Any] | None:
        with self.store.lock:
            return self.store.objects.get((space, otype, oid))

    def saved_objects(self, otype: str | None = None, space: str = "default") -> list[dict[str, Any]]:
        with self.store.lock:
            return [o for (sp, t, _i), o in self.store.objects.items() if sp == space and otype in (None, t)]

    def detection_rules(self, space: str = "default") -> dict[str, dict[str, Any]]:
        """The detection engine's rules of ``space``, by ``rule_id``, as Kibana answers them."""
        with self.app.rules.lock:
            return {rid: rule for (sp, rid), rule in self.app.rules.rules.items() if sp == space}

    def problems(self, space: str = "default") -> list[str]:
        """Dangling references (any type) and malformed JSON-string attributes; see kibana_store."""
        return self.store.problems(space)

    def request_counts(self) -> dict[str, int]:
        return self.stats.counts()
