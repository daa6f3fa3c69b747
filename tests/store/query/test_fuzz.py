"""Fuzzing ``compile_query``: any text gives SQL or a QueryError, and SQL that compiles runs.

``WAFPIPE_SOAK=1`` multiplies the example counts (DESIGN §8: big counts stay out of ``make test``).
"""

from __future__ import annotations

import os

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.query.conftest import CompiledStore
from wafpipe.errors import QueryError
from wafpipe.store.query import allowed_fields, compile_query

SOAK = 50 if os.environ.get("WAFPIPE_SOAK") else 1
ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))
SPECIAL = list('()[]{}:<>"\\*? ') + ["and", "or", "not", "to", "<=", ">=", "\x00", "'", ";", "--", "é"]


def _check(expr: str) -> tuple[str, list[object]] | None:
    try:
        where, params = compile_query(expr)
    except QueryError as exc:
        assert exc.column >= 1
        assert exc.column <= len(expr) + 1 or "longer than" in str(exc)
        return None
    assert isinstance(where, str) and isinstance(params, list)
    assert where.count("?") == len(params)
    return where, params


@settings(max_examples=400 * SOAK, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=80))
def test_random_text_gives_sql_or_query_error(expr: str) -> None:
    _check(expr)


@settings(max_examples=300 * SOAK, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SPECIAL), st.text(alphabet=ALPHABET, max_size=6)), max_size=20))
def test_token_soup_gives_sql_or_query_error(parts: list[str]) -> None:
    _check(" ".join(parts))
    _check("".join(parts))


FIELDS = sorted(allowed_fields()) + ["imperva.waf.rule_info.type", "imperva.waf.request_headers.Accept"]
VALUES = st.one_of(
    st.sampled_from(
        ["*", "200", "-1", "1.5", "true", "false", "now-1h", "2024-06-10", "10.*", "a*b?", "é", "x"]
    ),
    st.sampled_from(['"2024-06-10T00:00:00Z"', '"10.0.0.0/8"', '"1.2.3.4"', '"2001:db8::1"', '"a b"', '""']),
    st.text(alphabet=ALPHABET, max_size=8).map(
        lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
)


@st.composite
def clauses(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(FIELDS))
    value = draw(VALUES)
    shape = draw(st.integers(0, 4))
    if shape == 0:
        return f"{field}:{value}"
    if shape == 1:
        return f"{field} {draw(st.sampled_from(['<', '<=', '>', '>=']))} {value}"
    if shape == 2:
        return f"{field}:[{value} TO {draw(VALUES)}]"
    if shape == 3:
        return f"{field}:({value} or not {draw(VALUES)})"
    return value


@st.composite
def queries(draw: st.DrawFn) -> str:
    parts = draw(st.lists(clauses(), min_size=1, max_size=4))
    out = parts[0]
    for p in parts[1:]:
        op = draw(st.sampled_from([" and ", " or ", " and not ", " ", " OR ("]))
        out += op + p + (")" if op.endswith("(") else "")
    return out


@settings(max_examples=300 * SOAK, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries())
def test_compiled_sql_runs(store: CompiledStore, expr: str) -> None:
    got = _check(expr)
    if got is None:
        return
    try:
        store.count(*got)
    except duckdb.Error as exc:  # pragma: no cover - a failure prints the query
        raise AssertionError(f"{expr!r} compiled to SQL DuckDB refuses: {got}: {exc}") from exc
