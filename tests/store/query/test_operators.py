"""Every operator on every field type, over a real store: each count is checked against the same
question asked of the documents the core emitted (an independent reading of the KQL semantics in
:mod:`wafpipe.store.query.sql`), and each operator a type does not take is a QueryError naming it.

Values are taken from the data (the most frequent ones, quartiles for ranges), so every case
selects something and, for most, not everything (:func:`test_the_matrix_is_not_trivial`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.flatten import get_path
from tests.store.query.conftest import RichStore
from wafpipe.errors import QueryError
from wafpipe.store.query import compile_query

# type → a field of that type with values in the corpus
FIELDS = {
    "keyword": "url.path",
    "text": "http.request.body.content",
    "long": "http.response.status_code",
    "double": "source.geo.location.lat",
    "boolean": "imperva.waf.client.javascript_support",
    "date": "event.start",
    "ip": "source.ip",
    "keyword list": "event.type",
    "ip list": "related.ip",
    "flattened": "imperva.waf.rule_info",
    "key below flattened": "imperva.waf.request_headers.Content-Type",
    "geo_point": "source.geo.location",
    "constant": "event.dataset",
}
OPERATORS = ("eq", "not eq", "wildcard", "exists", "not exists", "gt", "gte", "lt", "lte",
             "range incl", "range excl", "open range", "or group", "cidr", "day")
# what each type refuses, and the words of the error
REFUSED = {
    "boolean": {"wildcard": "wildcards", **{op: "ranges do not apply" for op in
                ("gt", "gte", "lt", "lte", "range incl", "range excl", "open range")}},
    "date": {"wildcard": "wildcards"},
    "ip": {op: "ranges do not apply" for op in ("gt", "gte", "lt", "lte", "range incl", "range excl", "open range")},
    "ip list": {op: "ranges do not apply" for op in ("gt", "gte", "lt", "lte", "range incl", "range excl", "open range")},
    "geo_point": {op: "geo point" for op in ("eq", "not eq", "wildcard", "or group")}
    | {op: "ranges do not apply" for op in ("gt", "gte", "lt", "lte", "range incl", "range excl", "open range")},
}
# operators that mean nothing for a type (not offered, not refused with a type message)
SKIP = {
    "cidr": lambda t: t not in ("ip", "ip list"),
    "day": lambda t: t != "date",
}


def leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in leaves(v)]
    if isinstance(node, list):
        return [x for v in node for x in leaves(v)]
    return [node]


def values(doc: dict[str, Any], typ: str, field: str) -> list[Any]:
    """The values a predicate on ``field`` looks at (any one matching is enough)."""
    if typ == "key below flattened":
        base, key = field.rsplit(".", 1)
        node = get_path(doc, base)
        objects = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
        return [o[key] for o in objects if isinstance(o, dict) and key in o]
    value = get_path(doc, field)
    if value is None:
        return []
    if typ == "flattened":
        return [str(v) for v in leaves(value)]
    if typ == "date":
        return [datetime.fromisoformat(value.replace("Z", "+00:00"))]
    return value if isinstance(value, list) else [value]


def quoted(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        value = value.isoformat().replace("+00:00", "Z")
    return json.dumps(str(value), ensure_ascii=False) if not isinstance(value, int | float) else str(value)


def escaped(text: str) -> str:
    """``text`` as an unquoted KQL word: special characters behind a backslash."""
    return "".join("\\" + c if c in '()[]{}:<>"\\ *?' else c for c in text)


def wild(pattern: str) -> Callable[[Any], bool]:
    rx = re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern), re.IGNORECASE | re.DOTALL)
    return lambda x: rx.fullmatch(str(x).lower() if isinstance(x, bool) else str(x)) is not None


def case(rich: RichStore, typ: str, op: str) -> tuple[str, Callable[[list[Any]], bool]] | None:
    """(query, predicate over :func:`values`) for one cell of the matrix; None when not offered."""
    field = FIELDS[typ]
    if typ == "geo_point":
        seen = Counter({"0": 1})
    elif typ == "constant":
        seen = Counter({"imperva.waf": 1})
    else:
        seen = Counter(v for d in rich.docs.values() for v in values(d, typ, field))
    (v1, _), (v2, _) = (seen.most_common(2) + [("", 0)])[:2]
    if typ == "text":
        v1, v2 = "zürich", "ADMIN'"  # contains, case-insensitive
    ordered = sorted(seen.elements(), key=lambda x: (str(type(x)), x))
    lo, hi = ordered[len(ordered) // 4], ordered[3 * len(ordered) // 4]
    contains = typ == "text"

    def eq(v: Any) -> Callable[[Any], bool]:
        return (lambda x: str(v).lower() in str(x).lower()) if contains else (lambda x: x == v)

    def cmp(test: Callable[[Any], bool]) -> Callable[[list[Any]], bool]:
        return lambda xs: any(test(x) for x in xs)

    text = quoted(v1).strip('"') if isinstance(v1, datetime) else str(v1)
    prefix = text[: max(1, len(text) // 2)] if not isinstance(v1, bool) else "t"
    if op == "eq":
        return f"{field}:{quoted(v1)}", cmp(eq(v1))
    if op == "not eq":
        return f"not {field}:{quoted(v1)}", lambda xs: not any(eq(v1)(x) for x in xs)
    if op == "wildcard":
        pattern = f"{prefix}*"
        return f"{field}:{escaped(prefix)}*", cmp(wild(("*" + pattern) if contains else pattern))
    if op == "exists":
        return f"{field}:*", bool
    if op == "not exists":
        return f"not {field}:*", lambda xs: not xs
    if op in ("gt", "gte", "lt", "lte"):
        sym = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        test = {"gt": lambda x: x > v1, "gte": lambda x: x >= v1, "lt": lambda x: x < v1, "lte": lambda x: x <= v1}[op]
        return f"{field} {sym} {quoted(v1)}", cmp(test)
    if op == "range incl":
        return f"{field}:[{quoted(lo)} TO {quoted(hi)}]", cmp(lambda x: lo <= x <= hi)
    if op == "range excl":
        return f"{field}:{{{quoted(lo)} TO {quoted(hi)}}}", cmp(lambda x: lo < x < hi)
    if op == "open range":
        return f"{field}:[{quoted(lo)} TO *]", cmp(lambda x: x >= lo)
    if op == "or group":
        return f"{field}:({quoted(v1)} or {quoted(v2)})", cmp(lambda x: eq(v1)(x) or eq(v2)(x))
    if op == "cidr":
        v4 = next(str(v) for v, _ in seen.most_common() if "." in str(v))
        net = ipaddress.ip_network(f"{v4}/24", strict=False)
        return f'{field}:"{net}"', cmp(lambda x: "." in x and ipaddress.ip_address(x) in net)
    assert op == "day"
    day = v1.date()
    return f"{field}:{day.isoformat()}", cmp(lambda x: x.astimezone(UTC).date() == day)


MATRIX = [(t, op) for t in FIELDS for op in OPERATORS if not SKIP.get(op, lambda _t: False)(t)]


@pytest.mark.parametrize(("typ", "op"), MATRIX, ids=[f"{t}-{op}" for t, op in MATRIX])
def test_operator_on_type(rich: RichStore, typ: str, op: str) -> None:
    built = case(rich, typ, op)
    assert built is not None
    query, pred = built
    refused = REFUSED.get(typ, {}).get(op)
    if refused:
        with pytest.raises(QueryError, match=refused):
            compile_query(query)
        return
    where, params = compile_query(query)
    if typ == "constant":
        expected = sum(1 for _ in rich.docs) if pred(["imperva.waf"]) else 0
    elif typ == "geo_point":
        expected = sum(1 for d in rich.docs.values() if pred([get_path(d, FIELDS[typ])] if get_path(d, FIELDS[typ]) else []))
    else:
        expected = sum(1 for d in rich.docs.values() if pred(values(d, typ, FIELDS[typ])))
    assert rich.count(where, params) == expected, (query, where, params)


def test_the_matrix_is_not_trivial(rich: RichStore) -> None:
    """Most cells select some events but not all: a case that always counts 0 or everything would
    not tell a wrong operator from a right one."""
    partial = 0
    for typ, op in MATRIX:
        if REFUSED.get(typ, {}).get(op) or typ == "constant":
            continue
        query, _ = case(rich, typ, op)  # type: ignore[misc]
        n = rich.count(*compile_query(query))
        partial += 0 < n < len(rich.docs)
    assert partial >= 100, partial


def test_every_type_of_the_allow_list_is_in_the_matrix() -> None:
    from wafpipe.store.query import allowed_fields

    types = {ref.type for ref in allowed_fields().values()}
    covered = {allowed_fields()[f].type for f in FIELDS.values() if f in allowed_fields()}
    assert types <= covered | {"keyword"}, types - covered
