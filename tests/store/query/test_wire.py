"""Query trees as JSON: every node kind survives the round trip and compiles to the same SQL, and
malformed trees are refused with a QueryError (never a crash), whatever their shape or size."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafpipe.errors import QueryError
from wafpipe.store.query import compile_node, parse
from wafpipe.store.query.tree import Regex, Value
from wafpipe.store.query.wire import MAX_DEPTH, from_json, to_json


@pytest.mark.parametrize("text", [
    "", "source.ip:10.0.0.0/8 and not rule.category:*", 'url.path:"/a b" or status >= 400',
    "http.response.status_code:[200 to 299}", "user_agent.original:*curl*", "sqlmap",
])  # fmt: skip
def test_trees_round_trip_to_the_same_sql(text: str) -> None:
    tree = parse(text)
    assert compile_node(from_json(to_json(tree))) == compile_node(tree)


def test_sigma_only_parts_round_trip() -> None:
    tree = Regex("url.query", "(?i)union\\s+select")
    assert from_json(to_json(tree)) == tree
    match = parse("user_agent.original:x")
    nocase = type(match)(match.field, Value("SQLMap", 0, nocase=True), 0)  # type: ignore[call-arg,union-attr]
    assert compile_node(from_json(to_json(nocase))) == compile_node(nocase)


@pytest.mark.parametrize(("obj", "says"), [
    (None, "each node"), ([], "each node"), ({"node": "drop"}, "unknown node kind"),
    ({"node": "and", "items": []}, "non-empty"), ({"node": "match", "field": 3, "value": {"text": "a"}}, "field"),
    ({"node": "match", "field": "a", "value": {"text": "a", "wild": [5]}}, "positions"),
    ({"node": "compare", "field": "a", "op": "!=", "value": {"text": "1"}}, "op"),
    ({"node": "regex", "field": "a"}, "pattern"),
])  # fmt: skip
def test_malformed_trees_are_refused(obj: Any, says: str) -> None:
    with pytest.raises(QueryError, match=says):
        from_json(obj)


def test_depth_is_bounded() -> None:
    deep: dict[str, Any] = {"node": "all"}
    for _ in range(MAX_DEPTH + 2):
        deep = {"node": "not", "item": deep}
    with pytest.raises(QueryError, match="deeper"):
        from_json(deep)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["node", "items", "item", "field", "value", "text", "wild", "op", "pattern", "lo", "hi"]), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(json_values)
def test_any_json_is_a_tree_or_a_query_error(obj: Any) -> None:
    try:
        tree = from_json(obj)
    except QueryError:
        return
    with contextlib.suppress(QueryError):
        compile_node(tree)
