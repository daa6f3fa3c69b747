"""Query trees as JSON, for the API: a detection made in one process (``wafpipe detect``) runs in the
collector that owns the store. Every node is ``{"node": kind, …}``; nothing in it is SQL — fields are
names, checked by the compiler against the allow-list, and values become parameters — so a tree
from the network is as safe as query text. Malformed input is a :class:`QueryError`, never a crash:
unknown kinds or keys, wrong types, deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES`."""

from __future__ import annotations

from typing import Any

from wafpipe.errors import QueryError
from wafpipe.store.query.tree import All, And, Compare, Exists, Match, Node, Not, Or, Range, Regex, Value

MAX_DEPTH = 64
MAX_NODES = 5_000
_OPS = {"<", "<=", ">", ">="}
_KINDS = {"all", "and", "or", "not", "match", "exists", "compare", "range", "regex"}


def to_json(node: Node) -> dict[str, Any]:
    """The tree as JSON-ready dicts."""
    if isinstance(node, All):
        return {"node": "all"}
    if isinstance(node, And | Or):
        return {"node": "and" if isinstance(node, And) else "or", "items": [to_json(i) for i in node.items]}
    if isinstance(node, Not):
        return {"node": "not", "item": to_json(node.item)}
    if isinstance(node, Match):
        return {"node": "match", "field": node.field, "value": _value(node.value)}
    if isinstance(node, Exists):
        return {"node": "exists", "field": node.field}
    if isinstance(node, Compare):
        return {"node": "compare", "field": node.field, "op": node.op, "value": _value(node.value)}
    if isinstance(node, Range):
        return {"node": "range", "field": node.field, "lo": _value(node.lo) if node.lo else None,
                "hi": _value(node.hi) if node.hi else None, "lo_incl": node.lo_incl, "hi_incl": node.hi_incl}  # fmt: skip
    assert isinstance(node, Regex)
    return {"node": "regex", "field": node.field, "pattern": node.pattern}


def _value(v: Value) -> dict[str, Any]:
    return {"text": v.text, "quoted": v.quoted, "wild": list(v.wild), "nocase": v.nocase}


def from_json(obj: Any) -> Node:
    """A tree from :func:`to_json`'s shape, checked (see the module docstring)."""
    count = [0]
    return _node(obj, 0, count)


def _bad(what: str) -> QueryError:
    return QueryError(f"query tree: {what}")


def _node(obj: Any, depth: int, count: list[int]) -> Node:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_NODES:
        raise _bad(f"deeper than {MAX_DEPTH} or more than {MAX_NODES} nodes")
    if not isinstance(obj, dict) or not isinstance(obj.get("node"), str):
        raise _bad('each node is an object with a "node" kind')
    kind = obj["node"]
    if kind not in _KINDS:
        raise _bad(f"unknown node kind {kind[:20]!r}")
    if kind == "all":
        return All()
    if kind in ("and", "or"):
        items = obj.get("items")
        if not isinstance(items, list) or not items:
            raise _bad(f'"{kind}" needs a non-empty "items" list')
        made = tuple(_node(i, depth + 1, count) for i in items)
        return And(made) if kind == "and" else Or(made)
    if kind == "not":
        return Not(_node(obj.get("item"), depth + 1, count))
    field = obj.get("field")
    if kind == "match":
        if field is not None and not isinstance(field, str):
            raise _bad('"field" is a name or null')
        return Match(field, _read_value(obj.get("value")), 0)
    if not isinstance(field, str):
        raise _bad(f'"{kind}" needs a "field" name')
    if kind == "exists":
        return Exists(field, 0)
    if kind == "compare":
        if obj.get("op") not in _OPS:
            raise _bad(f'"op" is one of {", ".join(sorted(_OPS))}')
        return Compare(field, str(obj["op"]), _read_value(obj.get("value")), 0)
    if kind == "range":
        lo, hi = obj.get("lo"), obj.get("hi")
        return Range(field, _read_value(lo) if lo is not None else None, _read_value(hi) if hi is not None else None,
                     bool(obj.get("lo_incl")), bool(obj.get("hi_incl")), 0)  # fmt: skip
    if not isinstance(obj.get("pattern"), str):  # regex
        raise _bad('"regex" needs a "pattern" string')
    return Regex(field, obj["pattern"], 0)


def _read_value(obj: Any) -> Value:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise _bad('a value is an object with a "text" string')
    text, wild = obj["text"], obj.get("wild") or []
    if not isinstance(wild, list) or not all(isinstance(i, int) and 0 <= i < len(text) for i in wild):
        raise _bad('"wild" lists positions inside "text"')
    return Value(text, 0, quoted=bool(obj.get("quoted")), wild=tuple(sorted(set(wild))), nocase=bool(obj.get("nocase")))
