"""Documents checked against an index's mappings, as Elasticsearch 8 parses them.

:class:`DocumentMapper` fails a document the way a cluster fails a ``_bulk`` item: a value that
cannot be parsed for the mapped type → ``document_parsing_exception`` with ES's reason text
(``[1:23] failed to parse field [source.ip] of type [ip] in document with id '…'. Preview of
field's value: '…'``) and ``caused_by``; ``dynamic: strict`` → ``strict_dynamic_mapping_exception``;
an object where a leaf is mapped and the reverse; ``constant_keyword`` values; the data stream
``@timestamp`` rule; ``ignore_malformed``; the total fields limit. ``dynamic: true`` adds fields
(date detection, dynamic templates), so a later document with another type for the field fails as
on a cluster. The ``[line:column]`` prefix is located in the raw source line (best effort).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import es_values as v
from .es_errors import EsError, java_value
from .es_mapping import DICT_VALUE_TYPES, DYNAMIC_VALUES, OBJECT_TYPES, glob_match

_DEFAULT_DATE_FORMATS = ["strict_date_optional_time", "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"]
_MALFORMED_TYPES = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                    "unsigned_long", "date", "date_nanos", "ip", "geo_point", "boolean"}


@dataclass(eq=False, slots=True)
class _Node:
    path: str
    type: str
    spec: dict[str, Any]
    props: dict[str, _Node] = field(default_factory=dict)
    dynamic: str = "true"
    enabled: bool = True
    check: v.Checker | None = None
    ignore_malformed: bool = False
    is_object: bool = False
    slow: bool = False  # leaf values need _leaf() even when scalar (constant_keyword without a value)


@dataclass
class _Ctx:
    doc_id: str
    raw: bytes
    pending: dict[str, _Node] = field(default_factory=dict)
    new: list[tuple[_Node, str, _Node]] = field(default_factory=list)
    constants: list[tuple[_Node, str]] = field(default_factory=list)


def _locate(raw: bytes, path: str) -> str:
    """``line:column`` of the value of ``path`` (or of its last part) in the raw JSON line."""
    for key in (path, path.rsplit(".", 1)[-1]):
        needle = orjson.dumps(key)
        pos = raw.find(needle)
        while pos != -1:
            j = pos + len(needle)
            while raw[j : j + 1] in (b" ", b"\t"):
                j += 1
            if raw[j : j + 1] == b":":
                j += 1
                while raw[j : j + 1] in (b" ", b"\t"):
                    j += 1
                return f"1:{j + 1}"
            pos = raw.find(needle, pos + 1)
    return f"1:{len(raw)}"


class DocumentMapper:
    def __init__(self, mappings: dict[str, Any], settings: dict[str, Any], data_stream: bool) -> None:
        self.mappings = copy.deepcopy(mappings)
        self.data_stream = data_stream
        if data_stream:
            props = self.mappings.setdefault("properties", {})
            props.setdefault("@timestamp", {"type": "date"})
            self.mappings["_data_stream_timestamp"] = {"enabled": True}
        m = self.mappings
        self.date_detection = m.get("date_detection", True) not in (False, "false")
        self.numeric_detection = m.get("numeric_detection", False) in (True, "true")
        self.date_formats: list[str] = m.get("dynamic_date_formats", _DEFAULT_DATE_FORMATS)
        self.templates = [(n, t) for entry in m.get("dynamic_templates", []) for n, t in entry.items()]
        self.ignore_malformed = settings.get("index.mapping.ignore_malformed") == "true"
        self.field_limit = int(settings.get("index.mapping.total_fields.limit", "1000"))
        self.ignore_beyond = settings.get("index.mapping.total_fields.ignore_dynamic_beyond_limit") == "true"
        self.field_count = 0
        self.root = self._compile("", "object", m, DYNAMIC_VALUES.get(m.get("dynamic", True), "true"))
        self.field_count -= 1  # the root is not a field

    def field_type(self, path: str) -> str | None:
        node: _Node | None = self.root
        for part in path.split("."):
            node = node.props.get(part) if node is not None else None
        return node.type if node is not None else None

    # -- compilation ---------------------------------------------------------------------------
    def _compile(self, path: str, ftype: str, spec: dict[str, Any], dynamic: str) -> _Node:
        self.field_count += 1 + len(spec.get("fields", {}))
        if ftype in OBJECT_TYPES:
            dyn = DYNAMIC_VALUES.get(spec["dynamic"], dynamic) if "dynamic" in spec else dynamic
            node = _Node(path, ftype, spec, dynamic=dyn, enabled=spec.get("enabled", True) not in (False, "false"),
                         is_object=True)
            for name, sub in spec.setdefault("properties", {}).items():
                node.props[name] = self._compile(f"{path}.{name}" if path else name, sub.get("type", "object"), sub, dyn)
            return node
        node = _Node(path, ftype, spec)
        node.ignore_malformed = ftype in _MALFORMED_TYPES and (
            spec.get("ignore_malformed", self.ignore_malformed) in (True, "true"))
        node.check = self._checker(path, ftype, spec)
        node.slow = ftype == "constant_keyword" and node.check is None
        return node

    @staticmethod
    def _checker(path: str, ftype: str, spec: dict[str, Any]) -> v.Checker | None:
        if ftype in ("long", "integer", "short", "byte", "unsigned_long"):
            return v.integer_checker(ftype, spec.get("coerce", True) not in (False, "false"))
        if ftype in ("double", "float", "half_float", "scaled_float"):
            return v.float_checker()
        if ftype in ("date", "date_nanos"):
            return v.date_checker(spec.get("format"))
        if ftype == "boolean":
            return v.check_boolean
        if ftype == "ip":
            return v.check_ip
        if ftype == "geo_point":
            return v.geo_point_checker(path)
        if ftype == "constant_keyword" and "value" in spec:
            return v.constant_checker(path, v.scalar_text(spec["value"]))
        return None

    # -- parsing -------------------------------------------------------------------------------
    def parse(self, source: dict[str, Any], doc_id: str, raw: bytes) -> None:
        """Check ``source``; raise :class:`EsError` as Elasticsearch would fail the item; on success
        apply the dynamic mapping updates it implies."""
        ctx = _Ctx(doc_id, raw)
        self._object(self.root, source, ctx)
        if self.data_stream:
            ts = source.get("@timestamp")
            if ts is None or ts == []:
                msg = "data stream timestamp field [@timestamp] is missing"
                raise EsError(400, "document_parsing_exception", f"[1:{len(raw)}] failed to parse: {msg}",
                              caused_by={"type": "illegal_argument_exception", "reason": msg})
            if isinstance(ts, list) and len(ts) > 1:
                msg = "data stream timestamp field [@timestamp] encountered multiple values"
                raise EsError(400, "document_parsing_exception", f"[1:{len(raw)}] failed to parse: {msg}",
                              caused_by={"type": "illegal_argument_exception", "reason": msg})
        if ctx.new or ctx.constants:
            self._commit(ctx)

    def _object(self, node: _Node, obj: dict[str, Any], ctx: _Ctx) -> None:
        # The hot loop: known fields with scalar values are checked inline; the rest takes the
        # general path (_value/_leaf/_dotted).
        props = node.props
        for key, value in obj.items():
            child = props.get(key)
            if child is None:
                if "." in key:
                    self._dotted(node, key.split("."), 0, value, ctx)
                else:
                    self._value(node, key, value, ctx)
                continue
            tv = type(value)
            if child.is_object:
                if tv is dict and child.enabled:
                    self._object(child, value, ctx)
                else:
                    self._into_object(child, key, value, ctx)
            elif value is None:
                continue
            elif tv is dict or tv is list or child.slow:
                self._leaf(child, value, ctx)
            elif child.check is not None and child.check(value) is not None:
                self._check(child, value, ctx)

    def _dotted(self, node: _Node, parts: list[str], i: int, value: Any, ctx: _Ctx) -> None:
        name = parts[i]
        if i == len(parts) - 1:
            self._value(node, name, value, ctx)
            return
        if not name:
            raise EsError(400, "document_parsing_exception",
                          f"[{_locate(ctx.raw, '.'.join(parts))}] field name cannot be an empty string")
        path = f"{node.path}.{name}" if node.path else name
        child = node.props.get(name) or ctx.pending.get(path)
        if child is None:
            child = self._dynamic(node, name, path, {}, ctx)
            if child is None:
                return
        if not child.is_object:
            if child.type == "flattened":
                return
            raise EsError(
                400, "document_parsing_exception",
                f"[{_locate(ctx.raw, '.'.join(parts))}] Could not dynamically add mapping for field "
                f"[{'.'.join(parts)}]. Existing mapping for [{path}] must be of type object but found [{child.type}].")
        if child.enabled:
            self._dotted(child, parts, i + 1, value, ctx)

    def _value(self, parent: _Node, name: str, value: Any, ctx: _Ctx) -> None:
        child = parent.props.get(name)
        if child is None:
            path = f"{parent.path}.{name}" if parent.path else name
            child = ctx.pending.get(path)
            if child is None:
                if value is None:
                    return
                child = self._dynamic(parent, name, path, value, ctx)
                if child is None:
                    return
        if child.is_object:
            self._into_object(child, name, value, ctx)
        else:
            self._leaf(child, value, ctx)

    def _into_object(self, node: _Node, name: str, value: Any, ctx: _Ctx) -> None:
        if not node.enabled or value is None:
            return
        if type(value) is dict:
            self._object(node, value, ctx)
        elif type(value) is list:
            for item in value:
                self._into_object(node, name, item, ctx)
        else:
            raise EsError(400, "document_parsing_exception",
                          f"[{_locate(ctx.raw, node.path)}] object mapping for [{node.path}] tried to parse field "
                          f"[{name}] as object, but found a concrete value")

    def _leaf(self, node: _Node, value: Any, ctx: _Ctx) -> None:
        if value is None:
            return
        tv = type(value)
        if tv is list:
            if node.type == "geo_point" and v.is_point_array(value):
                self._check(node, value, ctx)
                return
            for item in value:
                self._leaf(node, item, ctx)
            return
        if tv is dict and node.type not in DICT_VALUE_TYPES:
            loc = _locate(ctx.raw, node.path)
            raise self._field_error(node, value, {"type": "illegal_state_exception",
                                                  "reason": f"Can't get text on a START_OBJECT at {loc}"}, ctx)
        if node.check is not None:
            self._check(node, value, ctx)
        elif node.type == "constant_keyword":
            ctx.constants.append((node, v.scalar_text(value)))

    def _check(self, node: _Node, value: Any, ctx: _Ctx) -> None:
        assert node.check is not None
        cause = node.check(value)
        if cause is not None and not node.ignore_malformed:
            raise self._field_error(node, value, cause, ctx)

    @staticmethod
    def _field_error(node: _Node, value: Any, cause: dict[str, Any], ctx: _Ctx) -> EsError:
        return EsError(
            400, "document_parsing_exception",
            f"[{_locate(ctx.raw, node.path)}] failed to parse field [{node.path}] of type [{node.type}] in document "
            f"with id '{ctx.doc_id}'. Preview of field's value: '{java_value(value)}'",
            caused_by=cause)

    # -- dynamic mapping -------------------------------------------------------------------------
    def _dynamic(self, parent: _Node, name: str, path: str, value: Any, ctx: _Ctx) -> _Node | None:
        if parent.dynamic == "strict":
            raise EsError(400, "strict_dynamic_mapping_exception",
                          f"[{_locate(ctx.raw, path)}] mapping set to strict, dynamic introduction of [{name}] "
                          f"within [{parent.path or '_doc'}] is not allowed")
        if parent.dynamic != "true":
            return None
        sample = value
        if type(value) is list:
            sample = next((x for x in value if x is not None), None)
            if sample is None:
                return None
        kind = self._kind(sample)
        spec = self._from_template(name, path, kind)
        if spec is None or (kind == "object" and spec.get("type", "object") not in OBJECT_TYPES):
            spec = self._default_spec(kind)
        ftype = spec.get("type", "object") if kind == "object" else spec.setdefault("type", self._default_spec(kind)["type"])
        if ftype in OBJECT_TYPES:
            spec.setdefault("properties", {})
        node = self._compile(path, ftype, spec, parent.dynamic)
        self.field_count -= 1 + len(spec.get("fields", {}))  # counted on commit
        ctx.pending[path] = node
        ctx.new.append((parent, name, node))
        return node

    def _kind(self, value: Any) -> str:
        t = type(value)
        if t is dict:
            return "object"
        if t is bool:
            return "boolean"
        if t is int:
            return "long"
        if t is float:
            return "double"
        text = str(value)
        if self.date_detection and v.matches_date(text, self.date_formats):
            return "date"
        if self.numeric_detection and v.integer_checker("long")(text) is None and "." not in text:
            return "long"
        if self.numeric_detection and v.float_checker()(text) is None:
            return "double"
        return "string"

    @staticmethod
    def _default_spec(kind: str) -> dict[str, Any]:
        specs: dict[str, dict[str, Any]] = {
            "object": {"properties": {}},
            "boolean": {"type": "boolean"},
            "long": {"type": "long"},
            "double": {"type": "float"},
            "date": {"type": "date"},
            "string": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        }
        return specs[kind]

    def _from_template(self, name: str, path: str, kind: str) -> dict[str, Any] | None:
        for _tname, tmpl in self.templates:
            mapping = tmpl.get("mapping")
            if not isinstance(mapping, dict):
                continue
            if not _any_match(tmpl.get("match_mapping_type"), kind, glob=False, default=True):
                continue
            if _any_match(tmpl.get("unmatch_mapping_type"), kind, glob=False, default=False):
                continue
            regex = tmpl.get("match_pattern") == "regex"
            if not _any_match(tmpl.get("match"), name, glob=True, default=True, regex=regex):
                continue
            if _any_match(tmpl.get("unmatch"), name, glob=True, default=False, regex=regex):
                continue
            if not _any_match(tmpl.get("path_match"), path, glob=True, default=True, regex=regex):
                continue
            if _any_match(tmpl.get("path_unmatch"), path, glob=True, default=False, regex=regex):
                continue
            dyn_type = {"string": "text", "double": "float"}.get(kind, kind)
            text = orjson.dumps(mapping).decode().replace("{name}", name).replace("{dynamic_type}", dyn_type)
            return dict(orjson.loads(text))
        return None

    def _commit(self, ctx: _Ctx) -> None:
        added = sum(1 + len(node.spec.get("fields", {})) for _p, _n, node in ctx.new)
        if added and self.field_count + added > self.field_limit:
            if not self.ignore_beyond:
                raise EsError(400, "illegal_argument_exception",
                              f"Limit of total fields [{self.field_limit}] has been exceeded while adding new "
                              f"fields [{added}]")
            return
        for parent, name, node in ctx.new:
            parent.props[name] = node
            parent.spec.setdefault("properties", {})[name] = node.spec
        self.field_count += added
        for node, text in ctx.constants:
            if "value" not in node.spec:
                node.spec["value"] = text
                node.check = v.constant_checker(node.path, text)


def _any_match(patterns: Any, value: str, *, glob: bool, default: bool, regex: bool = False) -> bool:
    if patterns is None:
        return default
    items = patterns if isinstance(patterns, list) else [patterns]
    for pat in items:
        if pat == "*":
            return True
        if regex and re.fullmatch(pat, value):
            return True
        if not regex and glob and glob_match(pat, value):
            return True
        if not glob and pat == value:
            return True
    return False
