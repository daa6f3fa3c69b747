"""Injection attempts: quotes, comments, ``;``, unicode, unknown fields, 10 000-deep parentheses and
a 1 MB query. Where a field name is expected they are a QueryError that says what is wrong, raised
before any SQL runs (the read service below has a store that fails the test if it is touched);
where a value is expected they are data, a ``?`` parameter: the statement's text never holds them.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pytest

from tests.store.query.conftest import CompiledStore
from wafpipe.errors import QueryError
from wafpipe.store.limits import MAX_QUERY_CHARS
from wafpipe.store.query import compile_query
from wafpipe.store.query.parser import MAX_DEPTH, MAX_LENGTH
from wafpipe.store.service import ReadService

DEEP = 10_000
MEGABYTE = 1 << 20

# (query, words the error must hold)
REFUSED = [
    ("x'); DROP TABLE events;--:1", "unexpected ')'"),
    ("x'; DROP TABLE events; --:1", "unknown field"),
    ("status'--:1", "unknown field"),
    ('sta"tus:1', "unterminated quoted value"),
    ("status/*comment*/:200", "field names cannot hold wildcards"),
    ("/*x*/status:200", "field names cannot hold wildcards"),
    ("status#x:200", "unknown field"),
    ("status--:200", "unknown field"),
    ("status;:200", "unknown field"),
    ("status; DROP TABLE events:1", "unknown field"),
    ("status:200; DROP TABLE events", "expects a number"),
    ("events.doc:1", "unknown field"),
    ('json_extract_string(doc,"$"):x', "expected"),
    ("\uff53tatus:200", "unknown field"),  # a full-width s
    ("status\u0000:200", "unknown field"),
    ("sta\u202etus:200", "unknown field"),  # a right-to-left override
    ("\u0455tatus:200", "unknown field"),  # a Cyrillic s
    ("imperva.waf.request_headers.a'b:1", "unknown field"),
    ('imperva.waf.request_headers.a\\"b:1', "unknown field"),
    ("imperva.waf.request_headers.x\\)\\;DROP:1", "unknown field"),
    ("source.ip:\"1.2.3.4'; --\"", "expects an IP address"),
    ("@timestamp >= \"2024'); DROP TABLE events; --\"", "expects a time"),
    ("(" * DEEP + "status:200" + ")" * DEEP, "longer than"),
    ("(" * DEEP, f"deeper than {MAX_DEPTH}"),
    ("not " * 3_000 + "status:200", f"deeper than {MAX_DEPTH}"),
    ("status:" + "(" * 2_000 + "200", f"deeper than {MAX_DEPTH}"),
    ("a" * MEGABYTE, "longer than"),
    ("status:200 or " * (MEGABYTE // 14) + "status:1", "longer than"),
]


@pytest.fixture
def untouched() -> Callable[[], ReadService]:
    """A read service whose store fails the test when any SQL would run."""

    def connect() -> duckdb.DuckDBPyConnection:
        raise AssertionError("SQL was about to run")

    return lambda: ReadService(connect)


@pytest.mark.parametrize(("expr", "words"), REFUSED, ids=[f"{i}:{e[:30]!r}" for i, (e, _) in enumerate(REFUSED)])
def test_attempts_in_field_position_are_query_errors(expr: str, words: str,
                                                     untouched: Callable[[], ReadService]) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(expr)
    assert words in str(info.value)
    assert 1 <= info.value.column <= MAX_LENGTH + 1
    svc = untouched()
    for read in (lambda: svc.count(expr), lambda: svc.search(expr), lambda: svc.top("source.ip", expr),
                 lambda: svc.histogram(expr)):
        with pytest.raises(QueryError):
            read()


def test_the_service_bounds_the_text_before_parsing(untouched: Callable[[], ReadService]) -> None:
    svc = untouched()
    for expr in ("a" * MEGABYTE, "(" * DEEP + "x" + ")" * DEEP, "x" * (MAX_QUERY_CHARS + 1)):
        with pytest.raises(QueryError, match=f"at most {MAX_QUERY_CHARS}"):
            svc.count(expr)
    for field in ("doc", "source.ip'); DROP TABLE events;--", "\uff53ource.ip", "x" * MEGABYTE):
        with pytest.raises(QueryError, match="unknown field"):
            svc.top(field)
        with pytest.raises(QueryError, match="unknown field"):
            svc.top("source.ip", by=field)
        with pytest.raises(QueryError, match="unknown field"):
            svc.search(fields=[field])
    with pytest.raises(QueryError):
        svc.event("x' OR '1'='1")
    with pytest.raises(QueryError):
        svc.search(after="1:x' OR 1=1")


VALUES = [
    ('site:"x\'); DROP TABLE events;--"', "DROP TABLE"),
    ('"\'; DROP TABLE events; --"', "DROP TABLE"),
    ("user_agent.original:*'\\)\\;DROP\\ TABLE\\ events\\;--*", "DROP"),
    ("imperva.waf.request_headers.Accept:\"1' OR '1'='1\"", "'1'='1"),
    ('url.path:"/*comment*/"', "comment"),
    ('url.path:"a\u202eb\u0000c"', "\u202e"),
    ('rule.name:"\uff53ql"', "\uff53"),
    ("status:200 --", "--"),
    ('"; SELECT 1; --"', "SELECT 1"),
]


@pytest.mark.parametrize(("expr", "text"), VALUES)
def test_attempts_in_value_position_are_parameters(store: CompiledStore, expr: str, text: str) -> None:
    where, params = compile_query(expr)
    assert text not in where
    assert any(text in str(p) for p in params)
    before = store.count()
    assert store.count(where, params) == 0
    assert store.count() == before > 0
