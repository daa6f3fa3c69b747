"""The read side: a small, exact subset of the query DSL for ``_count`` and ``_search``, sorting,
``_source`` filtering and ``filter_path``.

Supported queries: ``match_all``, ``match_none``, ``term``, ``terms``, ``ids``, ``exists``, ``range``
(numbers, dates incl. ``now-15m``), ``prefix``, ``wildcard``, ``match`` (any token, case-insensitive),
``match_phrase`` (substring), ``bool`` (must/filter/should/must_not, minimum_should_match). Anything
else — other queries, aggregations, ``search_after``… — answers a loud 400 naming the test server,
never a silently wrong result.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
from collections.abc import Callable
from typing import Any

from .es_errors import EsError, illegal_argument
from .es_mapping import glob_match
from .es_store import Doc, Index

Pred = Callable[[str, dict[str, Any]], bool]  # (doc id, source)
_MISSING = object()
_UNSUPPORTED_QUERIES = {"query_string", "simple_query_string", "nested", "has_child", "has_parent", "geo_distance",
                        "geo_bounding_box", "function_score", "script", "script_score", "more_like_this", "regexp",
                        "fuzzy", "multi_match", "combined_fields", "dis_max", "constant_score", "knn", "terms_set",
                        "intervals", "match_bool_prefix", "match_phrase_prefix", "distance_feature", "pinned"}
_SEARCH_KEYS = {"query", "size", "from", "sort", "_source", "track_total_hits", "post_filter", "timeout",
                "track_scores", "version", "seq_no_primary_term", "explain", "stored_fields", "terminate_after"}
_UNSUPPORTED_KEYS = {"aggs", "aggregations", "search_after", "pit", "collapse", "highlight", "suggest",
                     "script_fields", "runtime_mappings", "knn", "rescore", "fields", "docvalue_fields",
                     "indices_boost", "min_score", "slice", "rank", "retriever", "profile"}
_NOW = re.compile(r"now((?:[+-]\d+[smhdwMy])*)(?:/[smhdwMy])?\Z")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000, "M": 2_592_000_000,
            "y": 31_536_000_000}


def parsing_error(reason: str) -> EsError:
    return EsError(400, "parsing_exception", reason, extra={"line": 1, "col": 1})


def values_at(obj: Any, parts: list[str]) -> list[Any]:
    """Values of a dotted path, through nested objects, dotted keys and arrays."""
    if isinstance(obj, list):
        return [v for o in obj for v in values_at(o, parts)]
    if not parts:
        return [obj] if obj is not None else []
    if not isinstance(obj, dict):
        return []
    out: list[Any] = []
    for i in range(1, len(parts) + 1):
        key = ".".join(parts[:i])
        if key in obj:
            out.extend(values_at(obj[key], parts[i:]))
    return out


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def to_millis(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    m = _NOW.match(text)
    if m:
        ms = time.time() * 1000
        for sign, amount, unit in re.findall(r"([+-])(\d+)([smhdwMy])", m.group(1)):
            ms += (1 if sign == "+" else -1) * int(amount) * _UNIT_MS[unit]
        return ms
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _num(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp() * 1000


def _equal(a: Any, b: Any) -> bool:
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None and not (isinstance(a, str) and isinstance(b, str)):
        return na == nb
    return _text(a) == _text(b)


def _field_spec(spec: Any, name: str, key: str = "value") -> tuple[str, Any, dict[str, Any]]:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise parsing_error(f"[{name}] query doesn't support multiple fields, found {list(spec or [])}")
    ((fieldname, value),) = spec.items()
    opts: dict[str, Any] = {}
    if isinstance(value, dict):
        opts = value
        value = value.get(key, value.get("query"))
    return fieldname, value, opts


def compile_query(query: Any) -> Pred:
    if query is None:
        return lambda i, s: True
    if not isinstance(query, dict) or len(query) != 1:
        raise parsing_error("[_na] query malformed, must start with start_object")
    ((name, spec),) = query.items()
    if name == "match_all":
        return lambda i, s: True
    if name == "match_none":
        return lambda i, s: False
    if name == "bool":
        return _bool(spec)
    if name == "ids":
        ids = set(spec.get("values", []))
        return lambda i, s: i in ids
    if name == "exists":
        parts = str(spec.get("field", "")).split(".")
        return lambda i, s: bool(values_at(s, parts))
    if name in ("term", "terms", "prefix", "wildcard", "match", "match_phrase", "range"):
        return _field_query(name, spec)
    if name in _UNSUPPORTED_QUERIES:
        raise illegal_argument(f"[test server] query [{name}] is not implemented by the Elasticsearch test server")
    raise parsing_error(f"unknown query [{name}]")


def _field_query(name: str, spec: Any) -> Pred:
    if name == "terms":
        items = [(k, v) for k, v in spec.items() if k != "boost"]
        if len(items) != 1 or not isinstance(items[0][1], list):
            raise parsing_error("[terms] query requires exactly one field with an array of values")
        fieldname, wanted = items[0]
        parts = fieldname.split(".")
        return lambda i, s: any(_equal(v, w) for v in values_at(s, parts) for w in wanted)
    if name == "range":
        fieldname, _value, opts = _field_spec(spec, name)
        parts = fieldname.split(".")
        bounds = [(op, opts[op]) for op in ("gt", "gte", "lt", "lte") if op in opts]

        def in_range(value: Any) -> bool:
            for op, bound in bounds:
                a, b = _num(value), _num(bound)
                if a is None or b is None:
                    a, b = to_millis(value), to_millis(bound)
                if a is None or b is None:
                    return False
                if (op == "gt" and not a > b) or (op == "gte" and not a >= b) or (op == "lt" and not a < b) or (
                        op == "lte" and not a <= b):
                    return False
            return True

        return lambda i, s: any(in_range(v) for v in values_at(s, parts))
    fieldname, value, opts = _field_spec(spec, name, "query" if name.startswith("match") else "value")
    parts = fieldname.split(".")
    if name == "term":
        if opts.get("case_insensitive"):
            low = _text(value).lower()
            return lambda i, s: any(_text(v).lower() == low for v in values_at(s, parts))
        return lambda i, s: any(_equal(v, value) for v in values_at(s, parts))
    if name == "prefix":
        return lambda i, s: any(_text(v).startswith(str(value)) for v in values_at(s, parts))
    if name == "wildcard":
        return lambda i, s: any(glob_match(str(value), _text(v)) for v in values_at(s, parts))
    if name == "match_phrase":
        low = str(value).lower()
        return lambda i, s: any(low in _text(v).lower() for v in values_at(s, parts))
    tokens = set(re.findall(r"\w+", str(value).lower()))
    need_all = str(opts.get("operator", "or")).lower() == "and"

    def match(i: str, s: dict[str, Any]) -> bool:
        have = {t for v in values_at(s, parts) for t in re.findall(r"\w+", _text(v).lower())}
        return tokens <= have if need_all else bool(tokens & have)

    return match


def _bool(spec: Any) -> Pred:
    if not isinstance(spec, dict):
        raise parsing_error("[bool] query malformed")

    def clauses(key: str) -> list[Pred]:
        raw = spec.get(key, [])
        return [compile_query(q) for q in (raw if isinstance(raw, list) else [raw])]

    must = clauses("must") + clauses("filter")
    should = clauses("should")
    must_not = clauses("must_not")
    msm = spec.get("minimum_should_match", 0 if must else 1 if should else 0)
    msm = int(str(msm).rstrip("%")) if not str(msm).endswith("%") else int(len(should) * int(str(msm)[:-1]) / 100)

    def pred(i: str, s: dict[str, Any]) -> bool:
        if not all(p(i, s) for p in must) or any(p(i, s) for p in must_not):
            return False
        return not should or sum(1 for p in should if p(i, s)) >= msm

    return pred


def query_from_params(params: dict[str, str]) -> dict[str, Any] | None:
    q = params.get("q")
    if q is None or q in ("*", "*:*"):
        return None
    if ":" not in q or " " in q.strip():
        raise illegal_argument(f"[test server] only q=field:value is implemented, got [{q}]")
    fieldname, value = q.split(":", 1)
    return {"term": {fieldname: value.strip('"')}}


def count(indices: list[Index], body: dict[str, Any] | None, params: dict[str, str], interval: float) -> dict[str, Any]:
    body = body or {}
    for key in body:
        if key != "query":
            raise parsing_error(f"request does not support [{key}]")
    pred = compile_query(body.get("query") if "query" in body else query_from_params(params))
    if body.get("query") is None and "q" not in params:
        total = sum(len(index.searchable(interval)) for index in indices)
    else:
        total = sum(1 for index in indices for d in index.searchable(interval) if pred(d.id, d.source))
    return {"count": total, "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0}}


def search(indices: list[Index], body: dict[str, Any] | None, params: dict[str, str], interval: float) -> dict[str, Any]:
    started = time.monotonic()
    body = body or {}
    for key in body:
        if key in _UNSUPPORTED_KEYS:
            raise illegal_argument(f"[test server] [{key}] is not implemented by the Elasticsearch test server")
        if key not in _SEARCH_KEYS:
            raise parsing_error(f"Unknown key for a START_OBJECT in [{key}].")
    size = int(body.get("size", params.get("size", 10)))
    start = int(body.get("from", params.get("from", 0)))
    if start + size > 10_000:
        raise illegal_argument(f"Result window is too large, from + size must be less than or equal to: [10000] but "
                               f"was [{start + size}]. See the scroll api for a more efficient way to request large "
                               "data sets. This limit can be set by changing the [index.max_result_window] index level "
                               "setting.")
    pred = compile_query(body["query"] if "query" in body else query_from_params(params))
    post = compile_query(body.get("post_filter")) if "post_filter" in body else None
    hits = [(index, d, source) for index in indices for d in index.searchable(interval)
            if pred(d.id, source := d.source) and (post is None or post(d.id, source))]
    sort = _sort_spec(body.get("sort", params.get("sort")))
    if sort:
        for fieldname, order in reversed(sort):
            hits.sort(key=functools.partial(_sort_key, fieldname=fieldname), reverse=order == "desc")
    total = len(hits)
    track = body.get("track_total_hits", True if params.get("track_total_hits") == "true" else 10_000)
    relation = "eq"
    if track is not True and isinstance(track, int) and total > track:
        total, relation = track, "gte"
    out_hits = []
    for index, d, source in hits[start : start + size]:
        hit: dict[str, Any] = {"_index": index.name, "_id": d.id, "_score": None if sort else 1.0}
        src = _filter_source(source, body.get("_source", params.get("_source", True)))
        if src is not None:
            hit["_source"] = src
        if sort:
            hit["sort"] = [_sort_value(index, d, source, f) for f, _o in sort]
        out_hits.append(hit)
    hits_obj: dict[str, Any] = {"max_score": None if sort or not hits else 1.0, "hits": out_hits}
    if track is not False:
        hits_obj = {"total": {"value": total, "relation": relation}, **hits_obj}
    return {"took": int((time.monotonic() - started) * 1000), "timed_out": False,
            "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0},
            "hits": hits_obj}


def _sort_spec(raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else str(raw).split(",") if isinstance(raw, str) else [raw]
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, str):
            name, _, order = item.partition(":")
            out.append((name, order or ("desc" if name == "_score" else "asc")))
        elif isinstance(item, dict):
            for name, opts in item.items():
                order = opts.get("order", "asc") if isinstance(opts, dict) else str(opts)
                out.append((name, order))
    return [(f, o) for f, o in out if f != "_score"]


def _sort_value(index: Index, d: Doc, source: dict[str, Any], fieldname: str) -> Any:
    if fieldname == "_doc":
        return d.seq_no
    values = values_at(source, fieldname.split("."))
    if not values:
        return None
    value = values[0]
    if index.mapper.field_type(fieldname) in ("date", "date_nanos"):
        millis = to_millis(value)
        return int(millis) if millis is not None else value
    return value


def _sort_key(hit: tuple[Index, Doc, dict[str, Any]], fieldname: str) -> tuple[int, Any]:
    value = _sort_value(hit[0], hit[1], hit[2], fieldname)
    if value is None:
        return (1, 0)
    number = _num(value)
    return (0, number) if number is not None and not isinstance(value, str) else (0, _text(value))


def _filter_source(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    if spec in (True, "true", None):
        return source
    if spec in (False, "false"):
        return None
    includes = spec if isinstance(spec, list) else spec.get("includes", []) if isinstance(spec, dict) else \
        str(spec).split(",")
    if isinstance(includes, str):
        includes = [includes]
    out: dict[str, Any] = {}
    for key, value in source.items():
        if any(glob_match(p, key) or p.startswith(key + ".") or glob_match(p, key + ".x") for p in includes):
            if isinstance(value, dict) and not any(glob_match(p, key) for p in includes):
                sub = _filter_source(value, [p[len(key) + 1 :] for p in includes if p.startswith(key + ".")])
                if sub:
                    out[key] = sub
            else:
                out[key] = value
    return out


def filter_path(obj: Any, spec: str) -> Any:
    paths = [p.split(".") for p in spec.split(",") if p and not p.startswith("-")]
    if not paths:
        return obj
    result = _filter(obj, paths)
    return {} if result is _MISSING else result


def _filter(obj: Any, paths: list[list[str]]) -> Any:
    if any(not p for p in paths):
        return obj
    if isinstance(obj, list):
        kept = [r for r in (_filter(o, paths) for o in obj) if r is not _MISSING]
        return kept if kept else _MISSING
    if not isinstance(obj, dict):
        return _MISSING
    out = {}
    for key, value in obj.items():
        sub = [p[1:] for p in paths if glob_match(p[0], key)]
        if sub:
            kept = _filter(value, sub)
            if kept is not _MISSING:
                out[key] = kept
    return out if out else _MISSING
