"""Kibana 8.x saved objects, as the import API and the data views API treat them.

``import_objects`` follows Kibana's ``importSavedObjectsFromStream``: lines are collected (the
export summary line is skipped; unknown types → ``unsupported_type``), references of the types
Kibana validates (``index-pattern``, ``search``) must resolve to an object in the same file or
already stored (else ``missing_references``), existing objects are ``conflict`` errors unless
``overwrite``. When any error is of a resolvable kind (conflict, missing_references) nothing is
written — Kibana treats the call as a dry run — yet the other objects are still listed in
``successResults``. The response is ``{successCount, success, warnings, successResults?, errors?}``.

Kibana itself does not check references of other types (a dashboard panel pointing at a missing
lens imports fine and shows an error panel); :meth:`SavedObjects.problems` reports those too, with
string fields that must hold JSON (``panelsJSON``, ``visState``, ``searchSourceJSON``…), so tests of
our shipped assets can be stricter than Kibana.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import uuid
from typing import Any

import orjson

IMPORTABLE = {
    "config", "index-pattern", "search", "visualization", "dashboard", "lens", "map", "tag", "query",
    "canvas-workpad", "canvas-element", "graph-workspace", "url", "links", "event-annotation-group",
    "osquery-saved-query", "osquery-pack", "infrastructure-ui-source", "metrics-explorer-view",
}
ICONS = {"index-pattern": "indexPatternApp", "dashboard": "dashboardApp", "visualization": "visualizeApp",
         "search": "discoverApp", "lens": "lensApp", "map": "gisApp", "tag": "tag", "query": "search",
         "config": "advancedSettingsApp"}
VALIDATED_REF_TYPES = ("index-pattern", "search")
JSON_STRING_FIELDS = ("panelsJSON", "optionsJSON", "visState", "uiStateJSON", "fields", "fieldFormatMap",
                      "runtimeFieldMap", "sourceFilters", "kibanaSavedObjectMeta.searchSourceJSON")


class KibanaError(Exception):
    """A Kibana/hapi error answer: ``{"statusCode", "error", "message"}``."""

    PHRASES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
               413: "Request Entity Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
               500: "Internal Server Error", 503: "Service Unavailable"}

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.status, "error": self.PHRASES.get(self.status, "Error"), "message": self.message}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SavedObjects:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (space, type, id) → object
        self._seq = 0

    # -- basic CRUD -------------------------------------------------------------------------------
    def get(self, space: str, otype: str, oid: str) -> dict[str, Any]:
        with self.lock:
            obj = self.objects.get((space, otype, oid))
            if obj is None:
                raise KibanaError(404, f"Saved object [{otype}/{oid}] not found")
            return obj

    def put(self, space: str, otype: str, oid: str, attributes: dict[str, Any], references: list[dict[str, Any]],
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
        with self.lock:
            self._seq += 1
            old = self.objects.get((space, otype, oid))
            now = _now()
            obj = {
                "id": oid, "type": otype, "namespaces": [space],
                "updated_at": now, "created_at": old["created_at"] if old else now,
                "version": base64.b64encode(f"[{self._seq},1]".encode()).decode(),
                "attributes": attributes, "references": references, "managed": False,
                "coreMigrationVersion": "8.8.0",
                "typeMigrationVersion": (extra or {}).get("typeMigrationVersion", "8.0.0"),
            }
            self.objects[(space, otype, oid)] = obj
            return obj

    def delete(self, space: str, otype: str, oid: str) -> None:
        with self.lock:
            if self.objects.pop((space, otype, oid), None) is None:
                raise KibanaError(404, f"Saved object [{otype}/{oid}] not found")

    def find(self, space: str, types: list[str], search: str | None, page: int, per_page: int) -> dict[str, Any]:
        with self.lock:
            found = [o for (sp, t, _i), o in self.objects.items() if sp == space and t in types]
        if search and search != "*":
            needle = search.rstrip("*").lower()
            found = [o for o in found if needle in str(o["attributes"].get("title", "")).lower()]
        found.sort(key=lambda o: (o["type"], o["id"]))
        start = (page - 1) * per_page
        return {"page": page, "per_page": per_page, "total": len(found),
                "saved_objects": [{**o, "score": 0} for o in found[start : start + per_page]]}

    # -- import -----------------------------------------------------------------------------------
    def import_objects(self, space: str, ndjson: bytes, overwrite: bool) -> dict[str, Any]:
        collected, errors = self._collect(ndjson)
        keys = {(o["type"], o["id"]) for o in collected}
        with self.lock:
            stored = {(t, i) for (sp, t, i) in self.objects if sp == space}
            for obj in collected:
                missing = [
                    {"type": r["type"], "id": r["id"]}
                    for r in obj.get("references", [])
                    if r["type"] in VALIDATED_REF_TYPES and (r["type"], r["id"]) not in keys | stored
                ]
                if missing:
                    errors.append(self._error(obj, {"type": "missing_references", "references": missing}))
            pending_overwrites = set()
            for obj in collected:
                if (obj["type"], obj["id"]) in stored:
                    if overwrite:
                        pending_overwrites.add((obj["type"], obj["id"]))
                    else:
                        errors.append(self._error(obj, {"type": "conflict"}))
            failed = {(e["type"], e["id"]) for e in errors}
            to_create = [o for o in collected if (o["type"], o["id"]) not in failed]
            resolvable = any(e["error"]["type"] in ("conflict", "ambiguous_conflict", "missing_references")
                             for e in errors)
            if not resolvable:
                for obj in to_create:
                    self.put(space, obj["type"], obj["id"], obj["attributes"], obj.get("references", []), obj)
        success_results = [
            {"type": o["type"], "id": o["id"], "meta": {"title": o["attributes"].get("title"),
                                                         "icon": ICONS.get(o["type"])},
             **({"overwrite": True} if (o["type"], o["id"]) in pending_overwrites else {}), "managed": False}
            for o in to_create
        ]
        for e in errors:
            if (e["type"], e["id"]) in pending_overwrites:
                e["overwrite"] = True
        out: dict[str, Any] = {"successCount": len(to_create), "success": not errors, "warnings": []}
        if success_results:
            out["successResults"] = success_results
        if errors:
            out["errors"] = errors
        return out

    @staticmethod
    def _error(obj: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        title = obj.get("attributes", {}).get("title") if isinstance(obj.get("attributes"), dict) else None
        return {"id": obj.get("id"), "type": obj.get("type"), "title": title,
                "meta": {"title": title, "icon": ICONS.get(str(obj.get("type")))}, "error": error}

    def _collect(self, ndjson: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        collected: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for lineno, line in enumerate(ndjson.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise KibanaError(400, f"Unexpected token in JSON at line {lineno}: {exc}") from None
            if not isinstance(obj, dict):
                raise KibanaError(400, f"Unexpected value in JSON at line {lineno}: expected an object")
            if "exportedCount" in obj and "type" not in obj:
                continue  # the export summary line
            if obj.get("type") not in IMPORTABLE:
                errors.append(self._error(obj, {"type": "unsupported_type"}))
                continue
            problem = self._shape_problem(obj)
            if problem:
                errors.append(self._error(obj, {"type": "unknown", "message": problem, "statusCode": 400}))
                continue
            collected.append(obj)
        if len(collected) > 10_000:
            raise KibanaError(400, "Can't import more than 10000 objects")
        return collected, errors

    @staticmethod
    def _shape_problem(obj: dict[str, Any]) -> str | None:
        if not isinstance(obj.get("id"), str) or not obj["id"]:
            return "[id]: expected value of type [string] but got [" + type(obj.get("id")).__name__ + "]"
        if not isinstance(obj.get("attributes"), dict):
            return "[attributes]: expected value of type [object]"
        refs = obj.get("references", [])
        if not isinstance(refs, list) or not all(
                isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("name", "type", "id")) for r in refs):
            return "[references]: each reference needs string [name], [type] and [id]"
        if obj["type"] == "index-pattern" and not isinstance(obj["attributes"].get("title"), str):
            return "[attributes.title]: expected value of type [string] but got [undefined]"
        return None

    # -- stricter-than-Kibana checks -------------------------------------------------------------
    def problems(self, space: str = "default") -> list[str]:
        """Dangling references of any type, and string attributes that must hold JSON but do not."""
        out: list[str] = []
        with self.lock:
            objs = [o for (sp, _t, _i), o in self.objects.items() if sp == space]
            keys = {(o["type"], o["id"]) for o in objs}
        for obj in objs:
            where = f"{obj['type']}/{obj['id']}"
            for ref in obj.get("references", []):
                if (ref["type"], ref["id"]) not in keys:
                    out.append(f"{where}: reference {ref['name']!r} → {ref['type']}/{ref['id']} does not exist")
            for path in JSON_STRING_FIELDS:
                value: Any = obj["attributes"]
                for part in path.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if value is None:
                    continue
                if not isinstance(value, str):
                    out.append(f"{where}: attributes.{path} must be a JSON string, found {type(value).__name__}")
                    continue
                try:
                    orjson.loads(value)
                except orjson.JSONDecodeError as exc:
                    out.append(f"{where}: attributes.{path} is not valid JSON ({exc})")
        return out

    # -- data views ---------------------------------------------------------------------------------
    def create_data_view(self, space: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("data_view"), dict):
            raise KibanaError(400, "[request body.data_view]: expected value of type [object] but got [undefined]")
        spec = body["data_view"]
        title = spec.get("title")
        if not isinstance(title, str) or not title:
            raise KibanaError(400, "[request body.data_view.title]: expected value of type [string] but got "
                                   f"[{type(title).__name__ if title is not None else 'undefined'}]")
        override = bool(body.get("override", False))
        with self.lock:
            same_title = [o for (sp, t, _i), o in self.objects.items()
                          if sp == space and t == "index-pattern" and o["attributes"].get("title") == title]
            if same_title and not override:
                raise KibanaError(400, f"Duplicate data view: {title}")
            oid = spec.get("id") or str(uuid.uuid4())
            if (space, "index-pattern", oid) in self.objects and not override:
                raise KibanaError(409, f"Saved object [index-pattern/{oid}] conflict")
            for o in same_title:
                del self.objects[(space, "index-pattern", o["id"])]
            attributes = {
                "title": title, "name": spec.get("name", ""), "timeFieldName": spec.get("timeFieldName"),
                "sourceFilters": orjson.dumps(spec.get("sourceFilters", [])).decode(),
                "fieldFormatMap": orjson.dumps(spec.get("fieldFormats", {})).decode(),
                "runtimeFieldMap": orjson.dumps(spec.get("runtimeFieldMap", {})).decode(),
                "allowNoIndex": bool(spec.get("allowNoIndex", False)), "fields": "[]",
            }
            obj = self.put(space, "index-pattern", oid, attributes, [])
        return {"data_view": self.data_view(obj)}

    @staticmethod
    def data_view(obj: dict[str, Any]) -> dict[str, Any]:
        a = obj["attributes"]

        def js(key: str, default: Any) -> Any:
            try:
                return orjson.loads(a[key]) if isinstance(a.get(key), str) else a.get(key, default)
            except orjson.JSONDecodeError:
                return default

        return {"id": obj["id"], "version": obj["version"], "title": a["title"],
                "timeFieldName": a.get("timeFieldName"), "sourceFilters": js("sourceFilters", []), "fields": {},
                "typeMeta": {}, "fieldFormats": js("fieldFormatMap", {}), "runtimeFieldMap": js("runtimeFieldMap", {}),
                "fieldAttrs": {}, "allowNoIndex": bool(a.get("allowNoIndex", False)),
                "name": a.get("name") or a["title"], "namespaces": obj["namespaces"], "allowHidden": False}

    def list_data_views(self, space: str) -> dict[str, Any]:
        with self.lock:
            objs = [o for (sp, t, _i), o in self.objects.items() if sp == space and t == "index-pattern"]
        return {"data_view": [{"id": o["id"], "namespaces": o["namespaces"], "title": o["attributes"]["title"],
                               "typeMeta": {}, "name": o["attributes"].get("name") or o["attributes"]["title"]}
                              for o in objs]}
