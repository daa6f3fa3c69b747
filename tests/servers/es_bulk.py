"""The write path: ``_bulk`` (NDJSON parsing, per-item results shaped exactly like Elasticsearch's)
and the single-document APIs, over the state in :mod:`es_store`.

Per item, as on a cluster: data streams take ``create`` only (``index`` → 400 "only write ops with
an op_type of create are allowed in data streams"); ``create`` of an ``_id`` present in the target
index → 409 ``version_conflict_engine_exception``; a document that does not fit the mappings →
400 from :mod:`es_document`; writes addressed to a backing index → 400. Whole-request failures
(no trailing newline, malformed action lines, missing index) raise :class:`EsError`.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from typing import Any

import orjson

from . import es_errors as err
from .es_errors import EsError
from .es_store import Cluster, DataStream, Doc, Index

_ITEM_KEYS = {"_index", "_id", "routing", "_routing", "version", "version_type", "if_seq_no", "if_primary_term",
              "pipeline", "require_alias", "require_data_stream", "dynamic_templates", "op_type", "retry_on_conflict",
              "_source", "list_executed_pipelines"}


def write(cluster: Cluster, op: str, target: str, doc_id: str | None, raw: bytes | None, *, require_ds: bool = False,
          injected: int | None = None, cache: dict[str, tuple[Index, DataStream | None]] | None = None,
          touched: set[str] | None = None) -> dict[str, Any]:
    """One write; returns the ``_bulk`` item body (with ``status``), never raises EsError."""
    try:
        resolved = cache.get(target) if cache is not None else None
        if resolved is None:
            resolved = cluster.write_target(target, require_ds)
            if cache is not None:
                cache[target] = resolved
    except EsError as exc:
        return {"_index": target, "_id": doc_id, "status": exc.status, "error": exc.cause()}
    index, ds = resolved
    if injected is not None:
        return _injected(index, doc_id, raw, injected)
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
        return _delete(index, doc_id)
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
    if cluster.validate or ds is not None:
        try:
            if cluster.validate:
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

def _delete(index: Index, doc_id: str | None) -> dict[str, Any]:
    doc = index.docs.get(doc_id or "")
    shards = {"total": index.shards_total, "successful": 1, "failed": 0}
    if doc is None:
        return {"_index": index.name, "_id": doc_id, "_version": 1, "result": "not_found", "_shards": shards,
                "_seq_no": len(index.log), "_primary_term": 1, "status": 404}
    del index.docs[doc.id]
    return {"_index": index.name, "_id": doc_id, "_version": doc.version + 1, "result": "deleted",
            "_shards": shards, "_seq_no": len(index.log), "_primary_term": 1, "status": 200}

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

def bulk(cluster: Cluster, body: bytes, default_index: str | None, params: dict[str, str],
         item_fault: Callable[[], int | None]) -> dict[str, Any]:
    started = time.monotonic()
    ops = parse_bulk(body, default_index)
    require_ds = params.get("require_data_stream") in ("", "true")
    items: list[dict[str, Any]] = []
    cache: dict[str, tuple[Index, DataStream | None]] = {}
    touched: set[str] = set()
    errors = False
    with cluster.lock:
        for op, meta, raw in ops:
            item = write(cluster, op, meta["_index"], meta.get("_id"), raw,
                              require_ds=require_ds or meta.get("require_data_stream") is True,
                              injected=item_fault(), cache=cache, touched=touched)
            if item["status"] >= 300:
                errors = True
            items.append({op: item})
        if params.get("refresh") in ("", "true", "wait_for"):
            for name in touched:
                cluster.indices[name].refresh()
    return {"errors": errors, "took": int((time.monotonic() - started) * 1000), "items": items}

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
