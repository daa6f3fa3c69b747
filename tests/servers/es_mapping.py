"""Mappings as Elasticsearch 8 stores them (the document checks are in :mod:`es_document`).

* :func:`normalize_mappings` expands dotted property names and rejects what a real cluster rejects
  when a template is stored: unknown field types (``No handler for type [x] declared on field [y]``),
  type-specific parameters on the wrong type (``unknown parameter [ignore_above] on mapper [n] of
  type [long]``), unknown root parameters, fields without a type.
* :func:`merge_mappings` composes component templates in ``composed_of`` order, then the index
  template's own mappings (later wins; objects merge field by field; dynamic templates by name).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from .es_errors import java_value, mapper_parsing


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


KNOWN_TYPES = _words(
    "text match_only_text keyword constant_keyword wildcard long integer short byte double float half_float "
    "scaled_float unsigned_long date date_nanos boolean binary ip geo_point geo_shape point shape object "
    "nested flattened alias completion search_as_you_type token_count dense_vector sparse_vector "
    "rank_feature rank_features histogram version integer_range float_range long_range double_range "
    "date_range ip_range percolator join semantic_text aggregate_metric_double counted_keyword passthrough "
    "annotated_text murmur3"
)
OBJECT_TYPES = frozenset({"object", "nested", "passthrough"})
DICT_VALUE_TYPES = _words(
    "geo_point flattened geo_shape shape point integer_range float_range long_range double_range date_range "
    "ip_range aggregate_metric_double histogram completion join percolator sparse_vector rank_features "
    "semantic_text"
)
ROOT_KEYS = _words(
    "dynamic date_detection numeric_detection dynamic_date_formats dynamic_templates properties _source _meta "
    "_routing _data_stream_timestamp _field_names runtime subobjects enabled _size"
)
_COMMON = _words(
    "type meta fields copy_to store index doc_values script on_script_error time_series_dimension "
    "time_series_metric boost similarity"
)
_NUMERIC = {"null_value", "ignore_malformed", "coerce"}
_DATE = {"format", "locale", "null_value", "ignore_malformed", "precision"}
_PARAMS: dict[str, set[str]] = {
    "keyword": {"ignore_above", "null_value", "normalizer", "eager_global_ordinals", "index_options", "norms",
                "split_queries_on_whitespace"},
    "wildcard": {"ignore_above", "null_value"},
    "constant_keyword": {"value"},
    "text": {"analyzer", "search_analyzer", "search_quote_analyzer", "norms", "index_options", "index_phrases",
             "index_prefixes", "fielddata", "fielddata_frequency_filter", "eager_global_ordinals",
             "position_increment_gap", "term_vector"},
    "match_only_text": set(),
    **{t: _NUMERIC for t in ("long", "integer", "short", "byte", "double", "float", "half_float", "unsigned_long")},
    "scaled_float": _NUMERIC | {"scaling_factor"},
    "date": _DATE,
    "date_nanos": _DATE,
    "boolean": {"null_value", "ignore_malformed"},
    "ip": {"null_value", "ignore_malformed"},
    "geo_point": {"ignore_malformed", "ignore_z_value", "null_value"},
    "flattened": {"depth_limit", "ignore_above", "null_value", "eager_global_ordinals", "index_options",
                  "split_queries_on_whitespace", "time_series_dimensions"},
    "alias": {"path"},
}
_OBJECT_PARAMS = {
    "object": {"type", "properties", "dynamic", "enabled", "subobjects"},
    "nested": {"type", "properties", "dynamic", "enabled", "include_in_parent", "include_in_root"},
    "passthrough": {"type", "properties", "dynamic", "enabled", "priority", "time_series_dimension"},
}
DYNAMIC_VALUES = {True: "true", False: "false", "true": "true", "false": "false", "strict": "strict",
                   "runtime": "runtime"}


def _unsupported(params: dict[str, Any], keys: list[str]) -> str:
    return " ".join(f"[{k} : {java_value(params[k])}]" for k in keys)


def normalize_mappings(mappings: Any) -> dict[str, Any]:
    if mappings is None:
        return {}
    if not isinstance(mappings, dict):
        raise mapper_parsing(f"Expected map for property [mappings] but got [{java_value(mappings)}]")
    unknown = [k for k in mappings if k not in ROOT_KEYS]
    if unknown:
        raise mapper_parsing(f"Root mapping definition has unsupported parameters:  {_unsupported(mappings, unknown)}")
    if "dynamic" in mappings and mappings["dynamic"] not in DYNAMIC_VALUES:
        raise mapper_parsing(f"Could not convert [dynamic] to boolean or [strict] or [runtime]: [{mappings['dynamic']}]")
    out = {k: copy.deepcopy(val) for k, val in mappings.items() if k != "properties"}
    if "properties" in mappings:
        out["properties"] = _normalize_props(mappings["properties"], "")
    return out


def _normalize_props(props: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(props, dict):
        raise mapper_parsing(f"Expected map for property [properties] on field [{prefix.rstrip('.')}]")
    out: dict[str, Any] = {}
    for name, spec in props.items():
        parts = name.split(".")
        if "" in parts:
            raise mapper_parsing(f"field name cannot contain only dots: [{name}]" if not name.strip(".") else
                                 f"Invalid field name [{name}]")
        if not isinstance(spec, dict):
            raise mapper_parsing(f"Expected map for property [{name}] but got [{java_value(spec)}]")
        node = _normalize_field(spec, prefix + name)
        for part in reversed(parts[1:]):
            node = {"properties": {part: node}}
        _merge_field(out, parts[0], node)
    return out


def _normalize_field(spec: dict[str, Any], path: str) -> dict[str, Any]:
    ftype = spec.get("type")
    if ftype is None:
        if not any(k in spec for k in ("properties", "dynamic", "enabled", "subobjects")):
            raise mapper_parsing(f"No type specified for field [{path}]")
        ftype = "object"
    if not isinstance(ftype, str) or ftype not in KNOWN_TYPES:
        raise mapper_parsing(f"No handler for type [{java_value(ftype)}] declared on field [{path}]")
    if ftype in OBJECT_TYPES:
        bad = [k for k in spec if k not in _OBJECT_PARAMS[ftype]]
        if bad:
            raise mapper_parsing(f"Mapping definition for [{path}] has unsupported parameters:  {_unsupported(spec, bad)}")
        out = {k: copy.deepcopy(val) for k, val in spec.items() if k != "properties" and (k, val) != ("type", "object")}
        out["properties"] = _normalize_props(spec.get("properties", {}), path + ".")
        return out
    allowed = _PARAMS.get(ftype)
    if allowed is not None:
        for key in spec:
            if key not in allowed and key not in _COMMON:
                raise mapper_parsing(f"unknown parameter [{key}] on mapper [{path}] of type [{ftype}]")
    if ftype == "scaled_float" and "scaling_factor" not in spec:
        raise mapper_parsing(f"Field [scaling_factor] is required on mapper [{path}]")
    out = copy.deepcopy(spec)
    if "fields" in spec:
        if not isinstance(spec["fields"], dict):
            raise mapper_parsing(f"Expected map for property [fields] on field [{path}]")
        out["fields"] = {}
        for sub, sub_spec in spec["fields"].items():
            if not isinstance(sub_spec, dict) or sub_spec.get("type", "object") in OBJECT_TYPES:
                raise mapper_parsing(f"Type [object] cannot be used in multi field [{path}.{sub}]")
            out["fields"][sub] = _normalize_field(sub_spec, f"{path}.{sub}")
    return out


def _is_object(spec: dict[str, Any]) -> bool:
    return spec.get("type", "object") in OBJECT_TYPES


def _merge_field(props: dict[str, Any], name: str, spec: dict[str, Any]) -> None:
    old = props.get(name)
    if old is not None and _is_object(old) and _is_object(spec):
        merged = {**old, **{k: val for k, val in spec.items() if k != "properties"}}
        merged["properties"] = dict(old.get("properties", {}))
        for sub, sub_spec in spec.get("properties", {}).items():
            _merge_field(merged["properties"], sub, sub_spec)
        props[name] = merged
    else:
        props[name] = copy.deepcopy(spec)


def merge_mappings(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, val in over.items():
        if key == "properties":
            props = out.setdefault("properties", {})
            for name, spec in val.items():
                _merge_field(props, name, spec)
        elif key == "dynamic_templates":
            entries = out.setdefault("dynamic_templates", [])
            for entry in val:
                (name,) = entry.keys()
                entries[:] = [e for e in entries if name not in e]
                entries.append(copy.deepcopy(entry))
        else:
            out[key] = copy.deepcopy(val)
    return out


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z", re.S)


def glob_match(pattern: str, name: str) -> bool:
    """Elasticsearch's ``Regex.simpleMatch``: ``*`` is the only wildcard."""
    if "*" not in pattern:
        return pattern == name
    return _glob_regex(pattern).match(name) is not None
