"""The KQL-style grammar: precedence, values, ranges, and the column of every syntax error."""

from __future__ import annotations

import pytest

from wafpipe.errors import QueryError
from wafpipe.store.query.parser import (
    MAX_DEPTH,
    All,
    And,
    Compare,
    Exists,
    Match,
    Not,
    Or,
    Range,
    Value,
    parse,
    tokenize,
)


def fields(node: object) -> object:
    """A compact view of a tree: ('and', …), ('or', …), ('not', x), 'field=value' strings."""
    if isinstance(node, And):
        return ("and", *[fields(i) for i in node.items])
    if isinstance(node, Or):
        return ("or", *[fields(i) for i in node.items])
    if isinstance(node, Not):
        return ("not", fields(node.item))
    if isinstance(node, Match):
        return f"{node.field or '*'}={node.value.text}"
    if isinstance(node, Exists):
        return f"{node.field}?"
    if isinstance(node, Compare):
        return f"{node.field}{node.op}{node.value.text}"
    return node


@pytest.mark.parametrize(
    ("expr", "tree"),
    [
        ("a:1 or b:2 and c:3", ("or", "a=1", ("and", "b=2", "c=3"))),
        ("a:1 and b:2 or c:3", ("or", ("and", "a=1", "b=2"), "c=3")),
        ("not a:1 and b:2", ("and", ("not", "a=1"), "b=2")),
        ("not (a:1 or b:2)", ("not", ("or", "a=1", "b=2"))),
        ("a:1 b:2", ("and", "a=1", "b=2")),  # side by side: and
        ("a:1 OR b:2 AnD NoT c:3", ("or", "a=1", ("and", "b=2", ("not", "c=3")))),
        ("sqlmap", "*=sqlmap"),
        ('"SQL Injection"', "*=SQL Injection"),
        ('attack_type:"SQL Injection"', "attack_type=SQL Injection"),
        ("status >= 400", "status>=400"),
        ("status:>=400", "status>=400"),
        ("status<500", "status<500"),
        ("url.path:*", "url.path?"),
        ("status:(200 or 404)", ("or", "status=200", "status=404")),
        ("status:(200 or not 404)", ("or", "status=200", ("not", "status=404"))),
        ("a:\\:b", "a=:b"),
        ('a:"say \\"hi\\""', 'a=say "hi"'),
        ("a:x\\ y", "a=x y"),
        ("a:to", "a=to"),
        ("not not a:1", ("not", ("not", "a=1"))),
    ],
)
def test_precedence_and_shapes(expr: str, tree: object) -> None:
    assert fields(parse(expr)) == tree


@pytest.mark.parametrize("expr", ["", "   ", "*"])
def test_match_all(expr: str) -> None:
    assert parse(expr) == All()


def test_wildcards_only_unescaped_and_unquoted() -> None:
    m = parse("ua:*sql?ap*")
    assert isinstance(m, Match) and m.value.wild == (0, 4, 7)
    m = parse(r"ua:a\*b")
    assert isinstance(m, Match) and m.value == Value("a*b", 4)
    m = parse('ua:"*x*"')
    assert isinstance(m, Match) and m.value.quoted and not m.value.is_wildcard


def test_ranges() -> None:
    r = parse("status:[400 TO 499]")
    assert (
        isinstance(r, Range)
        and (r.lo, r.hi) == (Value("400", 9), Value("499", 16))
        and r.lo_incl
        and r.hi_incl
    )
    r = parse("status:{400 to *]")
    assert isinstance(r, Range) and r.hi is None and not r.lo_incl and r.hi_incl
    r = parse('@timestamp:["2024-06-10" TO "2024-06-11"}')
    assert isinstance(r, Range) and r.lo is not None and r.lo.text == "2024-06-10" and not r.hi_incl


def test_columns_are_recorded() -> None:
    node = parse("  status:200 and  site:x")
    assert isinstance(node, And)
    first, second = node.items
    assert isinstance(first, Match) and first.col == 3 and first.value.col == 10
    assert isinstance(second, Match) and second.col == 19


@pytest.mark.parametrize(
    ("expr", "column", "words"),
    [
        ("status:", 8, "expected a value"),
        ("a and", 6, "expected a field"),
        ("(a", 3, "')'"),
        ("a)", 2, "unexpected ')'"),
        ('site:"abc', 6, "unterminated"),
        ("source.ip:2001:db8::1", 15, "unexpected ':'"),
        ("status >= ", 11, "a value after >="),
        ("status:[1 2]", 11, "'to'"),
        ("status:[1 to 2", 15, "']'"),
        ("or a", 1, "needs a clause"),
        ("a and or b", 7, "needs a clause"),
        ("ur*l:x", 1, "wildcards"),
        ("a:x\\", 4, "backslash"),
        ("status:and", 8, "expected a value"),
        ("a:(b or )", 9, "expected a value"),
        (":x", 1, "expected a field"),
        ("x:y:z", 4, "unexpected ':'"),
        ("a:b >", 5, "unexpected '>'"),
    ],
)
def test_syntax_errors_carry_the_column(expr: str, column: int, words: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(expr)
    assert info.value.column == column, str(info.value)
    assert words in str(info.value)
    assert f"column {column}" in str(info.value)


def test_colon_in_value_hints_at_quoting() -> None:
    with pytest.raises(QueryError) as info:
        parse("source.ip:2001:db8::1")
    assert "quote" in info.value.hint


def test_depth_and_length_limits() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(QueryError, match="nested deeper"):
        parse(deep)
    ok = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert fields(parse(ok)) == "*=a"
    with pytest.raises(QueryError, match="nested deeper"):
        parse("not " * 200 + "a")
    with pytest.raises(QueryError, match="longer than"):
        parse("a " * 20_000)


def test_tokenizer_operators() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("a<=1 b>2 c<3 d>=4")]
    assert (
        ("cmp", "<=") in kinds and ("cmp", ">") in kinds and ("cmp", "<") in kinds and ("cmp", ">=") in kinds
    )
