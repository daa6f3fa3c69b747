"""In-memory cluster state: data streams and their backing indices, plain indices, documents, and
the write path shared by ``_bulk`` and the single-document APIs.

Semantics kept from Elasticsearch 8:
* writing to a name that matches an index template with ``data_stream`` creates the data stream with
  backing index ``.ds-<name>-<yyyy.MM.dd>-000001``; other names auto-create a plain index;
* data streams take only ``op_type: create`` and documents with ``@timestamp``;
* ``_id`` is unique per backing index: ``create`` of an existing id in the write index is a 409,
  while after a rollover the same id lands again in the new write index (a duplicate, as on ES);
* documents become searchable (``_count``/``_search``) after a refresh: explicit, ``?refresh``, or
  ``refresh_interval`` seconds after they were written; realtime ``GET _doc`` sees them at once.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from . import es_errors as err
from .es_errors import EsError
from .es_mapping import DocumentMapper, glob_match, merge_mappings, normalize_mappings
from .es_templates import Templates, flatten_settings

_BAD_NAME = re.compile(r'[\\/*?"<>| ,#:]')
_ITEM_KEYS = {"_index", "_id", "routing", "_routing", "version", "version_type", "if_seq_no", "if_primary_term",
              "pipeline", "require_alias", "require_data_stream", "dynamic_templates", "op_type", "retry_on_conflict",
              "_source", "list_executed_pipelines"}


class Doc(NamedTuple):
    """One stored document version. The source is kept as the raw JSON bytes the client sent:
    bytes and tuples of atoms cost the cyclic GC nothing, where millions of parsed dicts would make
    every full collection crawl (and halve bulk throughput)."""

    id: str
    seq_no: int
    version: int
    raw: bytes
    t: float

    @property
    def source(self) -> dict[str, Any]:
        source: dict[str, Any] = orjson.loads(self.raw)
        return source


@dataclass(eq=False)
class Index:
    name: str
    settings: dict[str, Any]
    mapper: DocumentMapper
    data_stream: str | None = None
    uuid: str = field(default_factory=lambda: base64.urlsafe_b64encode(uuid.uuid4().bytes)[:22].decode())
    created: float = field(default_factory=time.time)
    docs: dict[str, Doc] = field(default_factory=dict)
    log: list[Doc] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    refreshed: int = 0

    @property
    def replicas(self) -> int:
        return int(self.settings.get("index.number_of_replicas", "1"))

    @property
    def shards_total(self) -> int:
        return 1 + self.replicas

    @property
    def policy(self) -> str | None:
        return self.settings.get("index.lifecycle.name")

    def append(self, doc: Doc) -> None:
        self.docs[doc.id] = doc
        self.log.append(doc)
        self.times.append(doc.t)

    def is_live(self, doc: Doc) -> bool:
        return self.docs.get(doc.id) is doc

    def live(self) -> list[Doc]:
        docs = self.docs
        return [d for d in self.log if docs.get(d.id) is d]

    def searchable(self, interval: float) -> list[Doc]:
        upto = self.refreshed
        if interval >= 0:
            upto = max(upto, bisect.bisect_right(self.times, time.monotonic() - interval))
        docs = self.docs
        return [d for d in self.log[:upto] if docs.get(d.id) is d]

    def refresh(self) -> None:
        self.refreshed = len(self.log)


@dataclass(eq=False)
class DataStream:
    name: str
    template: str
    indices: list[Index]
    meta: dict[str, Any] | None = None
    hidden: bool = False

    @property
    def write_index(self) -> Index:
        return self.indices[-1]


class Cluster:
    def __init__(self, *, builtin_templates: bool = True, refresh_interval: float = 1.0, validate: bool = True):
        self.lock = threading.RLock()
        self.templates = Templates(builtin=builtin_templates)
        self.indices: dict[str, Index] = {}
        self.data_streams: dict[str, DataStream] = {}
        self.refresh_interval = refresh_interval
        self.validate = validate

    # -- names ----------------------------------------------------------------------------------
    @staticmethod
    def check_name(name: str) -> None:
        problem = None
        if name != name.lower():
            problem = "must be lowercase"
        elif _BAD_NAME.search(name):
            problem = 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'
        elif name[:1] in ("-", "_", "+"):
            problem = "must not start with '_', '-', or '+'"
        elif name in (".", ".."):
            problem = "must not be '.' or '..'"
        if problem:
            raise EsError(400, "invalid_index_name_exception", f"Invalid index name [{name}], {problem}",
                          extra={"index_uuid": "_na_", "index": name})

    # -- data streams ---------------------------------------------------------------------------
    def create_data_stream(self, name: str) -> DataStream:
        with self.lock:
            if name in self.data_streams:
                raise EsError(400, "resource_already_exists_exception", f"data_stream [{name}] already exists")
            self.check_name(name)
            tmpl_name = self.templates.find(name)
            if tmpl_name is None:
                raise err.illegal_argument(f"no matching index template found for data stream [{name}]")
            tmpl = self.templates.index_templates[tmpl_name]
            if "data_stream" not in tmpl:
                raise err.illegal_argument(f"matching index template [{tmpl_name}] for data stream [{name}] has no "
                                           "data stream template")
            ds = DataStream(name, tmpl_name, [], tmpl.get("_meta"), tmpl["data_stream"].get("hidden", False))
            ds.indices.append(self._backing_index(ds, 1))
            self.data_streams[name] = ds
            return ds

    def _backing_index(self, ds: DataStream, generation: int) -> Index:
        settings, mappings = self.templates.compose(ds.template)
        settings = {**settings, "index.hidden": "true"}
        day = dt.datetime.now(dt.UTC).strftime("%Y.%m.%d")
        index = Index(f".ds-{ds.name}-{day}-{generation:06d}", settings, DocumentMapper(mappings, settings, True), ds.name)
        self.indices[index.name] = index
        return index

    def rollover(self, name: str) -> tuple[str, str]:
        with self.lock:
            ds = self.data_streams.get(name)
            if ds is None:
                raise err.illegal_argument(f"rollover target [{name}] does not exist")
            old = ds.write_index
            ds.indices.append(self._backing_index(ds, len(ds.indices) + 1))
            return old.name, ds.write_index.name

    def delete_data_streams(self, expr: str) -> None:
        with self.lock:
            names = self.match_data_streams(expr, missing_ok=False)
            for n in names:
                for index in self.data_streams.pop(n).indices:
                    self.indices.pop(index.name, None)

    def match_data_streams(self, expr: str | None, missing_ok: bool = True) -> list[str]:
        known = sorted(self.data_streams)
        if not expr or expr in ("*", "_all"):
            return known
        out: list[str] = []
        for part in expr.split(","):
            if "*" in part:
                out.extend(n for n in known if glob_match(part, n) and n not in out)
            elif part in self.data_streams:
                out.append(part)
            elif not missing_ok:
                raise err.index_not_found(part)
        return out

    def describe(self, ds: DataStream) -> dict[str, Any]:
        policy = ds.write_index.policy
        managed = "Index Lifecycle Management" if policy else "Unmanaged"
        out: dict[str, Any] = {
            "name": ds.name,
            "timestamp_field": {"name": "@timestamp"},
            "indices": [
                {"index_name": i.name, "index_uuid": i.uuid, "prefer_ilm": True,
                 **({"ilm_policy": i.policy} if i.policy else {}), "managed_by": managed}
                for i in ds.indices
            ],
            "generation": len(ds.indices),
        }
        if ds.meta is not None:
            out["_meta"] = ds.meta
        out.update({
            "status": "YELLOW" if ds.write_index.replicas else "GREEN",
            "template": ds.template,
            **({"ilm_policy": policy} if policy else {}),
            "next_generation_managed_by": managed,
            "prefer_ilm": True,
            "hidden": ds.hidden,
            "system": False,
            "allow_custom_routing": False,
            "replicated": False,
            "rollover_on_write": False,
        })
        return out

    # -- plain indices --------------------------------------------------------------------------
    def create_index(self, name: str, body: dict[str, Any] | None, auto: bool = False) -> Index:
        with self.lock:
            if name in self.indices or name in self.data_streams:
                existing = self.indices.get(name)
                uid = existing.uuid if existing else "_na_"
                raise EsError(400, "resource_already_exists_exception", f"index [{name}/{uid}] already exists",
                              extra={"index_uuid": uid, "index": name})
            self.check_name(name)
            settings: dict[str, Any] = {}
            mappings: dict[str, Any] = {}
            tmpl_name = self.templates.find(name)
            if tmpl_name is not None:
                if "data_stream" in self.templates.index_templates[tmpl_name] and not auto:
                    raise err.illegal_argument(f"cannot create index with name [{name}], because it matches with "
                                               f"template [{tmpl_name}] that creates data streams only, use create "
                                               "data stream api instead")
                settings, mappings = self.templates.compose(tmpl_name)
            body = body or {}
            settings = {**settings, **flatten_settings(body.get("settings", {}))}
            if "mappings" in body:
                mappings = merge_mappings(mappings, normalize_mappings(body["mappings"]))
            index = Index(name, settings, DocumentMapper(mappings, settings, False))
            self.indices[name] = index
            return index

    def delete_indices(self, expr: str) -> None:
        with self.lock:
            targets = self.resolve(expr, ignore_unavailable=False, include_backing=True, expand_ds=False)
            for index in targets:
                if index.data_stream is not None:
                    ds = self.data_streams[index.data_stream]
                    if ds.write_index is index:
                        raise err.illegal_argument(f"index [{index.name}] is the write index for data stream "
                                                   f"[{ds.name}] and cannot be deleted")
                    ds.indices.remove(index)
                del self.indices[index.name]

    # -- resolution -----------------------------------------------------------------------------
    def resolve(self, expr: str | None, *, ignore_unavailable: bool = False, include_backing: bool = True,
                expand_ds: bool = True) -> list[Index]:
        """Concrete indices behind a comma list of names/wildcards (data streams expand)."""
        out: list[Index] = []

        def add(index: Index) -> None:
            if index not in out:
                out.append(index)

        for part in (expr or "_all").split(","):
            if part in ("_all", "*") or "*" in part:
                pattern = "*" if part == "_all" else part
                for ds in self.data_streams.values():
                    if expand_ds and glob_match(pattern, ds.name):
                        for index in ds.indices:
                            add(index)
                for index in self.indices.values():
                    if index.data_stream is None and glob_match(pattern, index.name) and not index.name.startswith("."):
                        add(index)
                    elif index.data_stream is not None and pattern.startswith(".") and glob_match(pattern, index.name):
                        add(index)
            elif expand_ds and part in self.data_streams:
                for index in self.data_streams[part].indices:
                    add(index)
            elif part in self.indices and (include_backing or self.indices[part].data_stream is None):
                add(self.indices[part])
            elif not ignore_unavailable:
                raise err.index_not_found(part)
        return out

    def _write_target(self, name: str, require_ds: bool) -> tuple[Index, DataStream | None]:
        ds = self.data_streams.get(name)
        if ds is not None:
            return ds.write_index, ds
        index = self.indices.get(name)
        if index is not None:
            if require_ds:
                raise err.index_not_found(name, f"no such index [{name}] and [require_data_stream] request flag is "
                                                f"[true] and [{name}] is not a data stream")
            return index, None
        tmpl_name = self.templates.find(name)
        tmpl = self.templates.index_templates.get(tmpl_name) if tmpl_name else None
        if tmpl is not None and "data_stream" in tmpl:
            ds = self.create_data_stream(name)
            return ds.write_index, ds
        if require_ds:
            raise err.index_not_found(name, f"no such index [{name}] and [require_data_stream] request flag is [true] "
                                            f"and [{name}] is not a data stream")
        if tmpl is not None and tmpl.get("allow_auto_create") is False:
            raise err.index_not_found(name, f"no such index [{name}] and composable template [{tmpl_name}] forbids "
                                            "index auto creation")
        return self.create_index(name, None, auto=True), None

    # -- writes ---------------------------------------------------------------------------------
    def write(self, op: str, target: str, doc_id: str | None, raw: bytes | None, *, require_ds: bool = False,
              injected: int | None = None, cache: dict[str, tuple[Index, DataStream | None]] | None = None,
              touched: set[str] | None = None) -> dict[str, Any]:
        """One write; returns the ``_bulk`` item body (with ``status``), never raises EsError."""
        try:
            resolved = cache.get(target) if cache is not None else None
            if resolved is None:
                resolved = self._write_target(target, require_ds)
                if cache is not None:
                    cache[target] = resolved
        except EsError as exc:
            return {"_index": target, "_id": doc_id, "status": exc.status, "error": exc.cause()}
        index, ds = resolved
        if injected is not None:
            return self._injected(index, doc_id, raw, injected)
        if ds is not None and op != "create":
            return {"_index": index.name, "_id": doc_id, "status": 400, "error": {
                "type": "illegal_argument_exception",
                "reason": "only write ops with an op_type of create are allowed in data streams"}}
        if index.data_stream is not None and ds is None and op in ("create", "index"):
            return {"_index": index.name, "_id": doc_id, "status": 400, "error": {
                "type": "illegal_argument_exception",
                "reason": f"index request with op_type={op} and no if_primary_term and if_seq_no set targeting "
                          f"backing indices is disallowed, target corresponding data stream [{index.data_stream}] "
                          "instead"}}
        if op == "delete":
            return self._delete(index, doc_id)
        if op == "update":
            return {"_index": index.name, "_id": doc_id, "status": 400, "error": {
                "type": "illegal_argument_exception", "reason": "the test server does not implement [update]"}}
        if doc_id is None:
            doc_id = base64.urlsafe_b64encode(os.urandom(15)).decode()
        existing = index.docs.get(doc_id)
        if op == "create" and existing is not None:
            return {"_index": index.name, "_id": doc_id, "status": 409, "error": {
                "type": "version_conflict_engine_exception",
                "reason": f"[{doc_id}]: version conflict, document already exists (current version "
                          f"[{existing.version}])",
                "index_uuid": index.uuid, "shard": "0", "index": index.name}}
        try:
            source = orjson.loads(raw or b"")
        except orjson.JSONDecodeError as exc:
            return {"_index": index.name, "_id": doc_id, "status": 400, "error": {
                "type": "document_parsing_exception", "reason": "[1:1] failed to parse",
                "caused_by": {"type": "json_parse_exception", "reason": str(exc)}}}
        if not isinstance(source, dict):
            return {"_index": index.name, "_id": doc_id, "status": 400, "error": {
                "type": "document_parsing_exception", "reason": "[1:1] failed to parse",
                "caused_by": {"type": "illegal_state_exception", "reason": "Expected START_OBJECT"}}}
        if self.validate or ds is not None:
            try:
                if self.validate:
                    index.mapper.parse(source, doc_id, raw or b"")
                elif source.get("@timestamp") is None:
                    index.mapper.parse({}, doc_id, raw or b"")
            except EsError as exc:
                return {"_index": index.name, "_id": doc_id, "status": exc.status, "error": exc.cause()}
        version = existing.version + 1 if existing is not None else 1
        index.append(Doc(doc_id, len(index.log), version, raw or b"{}", time.monotonic()))
        if touched is not None:
            touched.add(index.name)
        created = existing is None
        return {"_index": index.name, "_id": doc_id, "_version": version, "result": "created" if created else "updated",
                "_shards": {"total": index.shards_total, "successful": 1, "failed": 0},
                "_seq_no": len(index.log) - 1, "_primary_term": 1, "status": 201 if created else 200}

    def _delete(self, index: Index, doc_id: str | None) -> dict[str, Any]:
        doc = index.docs.get(doc_id or "")
        shards = {"total": index.shards_total, "successful": 1, "failed": 0}
        if doc is None:
            return {"_index": index.name, "_id": doc_id, "_version": 1, "result": "not_found", "_shards": shards,
                    "_seq_no": len(index.log), "_primary_term": 1, "status": 404}
        del index.docs[doc.id]
        return {"_index": index.name, "_id": doc_id, "_version": doc.version + 1, "result": "deleted",
                "_shards": shards, "_seq_no": len(index.log), "_primary_term": 1, "status": 200}

    @staticmethod
    def _injected(index: Index, doc_id: str | None, raw: bytes | None, status: int) -> dict[str, Any]:
        if status == 429:
            error = err.rejected_execution(len(raw or b"")).cause()
        elif status == 400:
            fieldname = "message"
            try:
                src = orjson.loads(raw or b"{}")
                fieldname = next(iter(src)) if isinstance(src, dict) and src else fieldname
            except orjson.JSONDecodeError:
                pass
            error = {"type": "document_parsing_exception",
                     "reason": f"[1:2] failed to parse field [{fieldname}] of type [keyword] in document with id "
                               f"'{doc_id}'. Preview of field's value: '(injected failure)'",
                     "caused_by": {"type": "illegal_argument_exception", "reason": "injected by the test server"}}
        else:
            error = {"type": "unavailable_shards_exception",
                     "reason": f"[{index.name}][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest"
                               f" [[{index.name}][0]] containing [1] requests]"}
        return {"_index": index.name, "_id": doc_id, "status": status, "error": error}

    def bulk(self, body: bytes, default_index: str | None, params: dict[str, str],
             item_fault: Callable[[], int | None]) -> dict[str, Any]:
        started = time.monotonic()
        ops = parse_bulk(body, default_index)
        require_ds = params.get("require_data_stream") in ("", "true")
        items: list[dict[str, Any]] = []
        cache: dict[str, tuple[Index, DataStream | None]] = {}
        touched: set[str] = set()
        errors = False
        with self.lock:
            for op, meta, raw in ops:
                item = self.write(op, meta["_index"], meta.get("_id"), raw,
                                  require_ds=require_ds or meta.get("require_data_stream") is True,
                                  injected=item_fault(), cache=cache, touched=touched)
                if item["status"] >= 300:
                    errors = True
                items.append({op: item})
            if params.get("refresh") in ("", "true", "wait_for"):
                for name in touched:
                    self.indices[name].refresh()
        return {"errors": errors, "took": int((time.monotonic() - started) * 1000), "items": items}

    # -- reads ----------------------------------------------------------------------------------
    def refresh(self, expr: str | None) -> int:
        with self.lock:
            targets = self.resolve(expr, ignore_unavailable=False)
            for index in targets:
                index.refresh()
            return len(targets)

    def get_doc(self, target: str, doc_id: str) -> tuple[Index | None, Doc | None]:
        with self.lock:
            targets = self.resolve(target)
            if len(targets) > 1:
                raise err.illegal_argument("unable to return a single index as the index and options provided got "
                                           f"resolved to multiple indices")
            index = targets[0] if targets else None
            doc = index.docs.get(doc_id) if index is not None else None
            return index, doc


def parse_bulk(body: bytes, default_index: str | None) -> list[tuple[str, dict[str, Any], bytes | None]]:
    if not body.strip():
        raise err.validation_failed(["no requests added"])
    if not body.endswith(b"\n"):
        raise err.illegal_argument("The bulk request must be terminated by a newline [\\n]")
    lines = body.split(b"\n")
    ops: list[tuple[str, dict[str, Any], bytes | None]] = []
    problems: list[str] = []
    i, n = 0, len(lines) - 1
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        try:
            action = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise err.parse_failure(f"[1:1] Unexpected character in action/metadata line [{i + 1}]: {exc}") from None
        if not isinstance(action, dict) or len(action) != 1:
            found = "END_OBJECT" if action == {} else "VALUE_STRING" if not isinstance(action, dict) else "FIELD_NAME"
            raise err.illegal_argument(f"Malformed action/metadata line [{i + 1}], expected START_OBJECT or "
                                       f"END_OBJECT but found [{found}]")
        ((op, meta),) = action.items()
        if op not in ("index", "create", "delete", "update"):
            raise err.illegal_argument(f"Malformed action/metadata line [{i + 1}], expected field [create], [delete], "
                                       f"[index] or [update] but found [{op}]")
        if not isinstance(meta, dict):
            raise err.illegal_argument(f"Malformed action/metadata line [{i + 1}], expected START_OBJECT but found "
                                       "[VALUE_STRING]")
        for key in meta:
            if key not in _ITEM_KEYS:
                raise err.illegal_argument(f"Action/metadata line [{i + 1}] contains an unknown parameter [{key}]")
        if op == "index" and meta.get("op_type") == "create":
            op = "create"
        meta = dict(meta)
        meta["_index"] = meta.get("_index") or default_index
        if meta["_index"] is None:
            problems.append("index is missing")
        if "_id" in meta and meta["_id"] is not None:
            meta["_id"] = str(meta["_id"])
            if len(meta["_id"].encode()) > 512:
                problems.append(f"id [{meta['_id']}] is too long, must be no longer than 512 bytes but was: "
                                f"{len(meta['_id'].encode())}")
        if op == "delete":
            ops.append((op, meta, None))
            i += 1
            continue
        if i + 1 >= n:
            raise err.illegal_argument("The bulk request must be terminated by a newline [\\n]")
        ops.append((op, meta, lines[i + 1]))
        i += 2
    if problems or not ops:
        raise err.validation_failed(problems or ["no requests added"])
    return ops
