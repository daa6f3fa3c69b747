"""A query tree → a predicate over an Arrow record batch in the store's shape (``pyarrow.compute``),
for the part of the query language it can evaluate exactly as :mod:`.sql` does in DuckDB.

Why a second evaluator. The single-event detections run in every decode worker, on each Batch
before it leaves (:mod:`wafpipe.detect.batch`). Running them in an in-memory DuckDB made each
worker load DuckDB for that alone: ~45 MiB resident per worker (its library's pages and its
catalog), against issue 20's 512 MB for the whole process tree. Every rule wafpipe ships is a
boolean combination of text matches on scalar fields, which Arrow evaluates with the same regular
expression engine (RE2) and the same Unicode case mapping (utf8proc) as DuckDB; a rule using
anything else (lists, JSON fields, addresses, dates, free text) still runs in DuckDB.

:func:`compile_predicate` returns None for a tree it cannot evaluate; the caller then uses
:func:`~.sql.compile_node`. The two must agree row for row: ``tests/store/test_predicate.py``
compares them on generated Batches for every shipped rule and every construct accepted here.

Semantics, as in :mod:`.sql` (a predicate on a missing value is false, never unknown):

* a case-insensitive pattern (Sigma's strings, a typed wildcard) is DuckDB's ``ILIKE``: both sides
  lower-cased, then SQL ``LIKE`` (``%`` and ``_`` also match a newline);
* several such patterns of one field joined by ``or`` are :mod:`.sql`'s one regular expression,
  ``(?is)`` and matched against the whole value;
* equalities of one field joined by ``or`` are one membership test;
* a text field's plain value is "contains", both sides lower-cased;
* ``|re`` is RE2's partial match, with RE2's defaults (``.`` does not match a newline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wafpipe.errors import QueryError
from wafpipe.store.query.fields import FieldRef, resolve
from wafpipe.store.query.sql import like_pattern, or_groups
from wafpipe.store.query.tree import All, And, Compare, Exists, Match, Node, Not, Or, Range, Regex, Value
from wafpipe.store.query.values import scalar
from wafpipe.store.schema import ORIGINAL

Predicate = Callable[[pa.RecordBatch], pa.Array]
"""A record batch in the store's shape → a boolean array of its length, without nulls."""

_SCALAR_TYPES = {"keyword", "text", "long", "double", "boolean"}
_OPS = {"<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal}


class _Unsupported(Exception):
    """A construct this evaluator leaves to DuckDB."""


def compile_predicate(node: Node) -> Predicate | None:
    """``node`` as a predicate over a record batch, or None when it uses a construct left to SQL
    (or does not compile at all: :func:`~.sql.compile_node` then says why)."""
    try:
        return _node(node)
    except (_Unsupported, QueryError):
        return None


def column(batch: pa.RecordBatch, name: str) -> pa.Array:
    """A field's values by its ECS path, null where the field or any struct above it is missing."""
    if name == "event.original":
        return batch.column(ORIGINAL)
    first, *rest = name.split(".")
    values: Any = batch.column(first)
    for part in rest:
        values = pc.struct_field(values, part)
    return values


def _on(ref: FieldRef, test: Callable[[pa.Array], pa.Array]) -> Predicate:
    """``test`` over the field's values, false where it gives null (a missing value)."""

    def predicate(batch: pa.RecordBatch) -> pa.Array:
        mask = test(column(batch, ref.name))
        return pc.fill_null(mask, False) if mask.null_count else mask

    return predicate


def _node(n: Node) -> Predicate:
    if isinstance(n, All):
        return lambda batch: pa.repeat(pa.scalar(True), batch.num_rows)
    if isinstance(n, And):
        return _fold(pc.and_, [_node(i) for i in n.items])
    if isinstance(n, Or):
        return _fold(pc.or_, _or(n))
    if isinstance(n, Not):
        inner = _node(n.item)
        return lambda batch: pc.invert(inner(batch))
    field = getattr(n, "field", None)
    if field is None:
        raise _Unsupported("free text")
    ref = resolve(field)
    if ref is None or ref.is_list or ref.json or ref.params or ref.type not in _SCALAR_TYPES:
        raise _Unsupported(field)
    if isinstance(n, Exists):
        return _on(ref, pc.is_valid)
    if isinstance(n, Regex):
        return _regex(ref, n.pattern)
    if isinstance(n, Match):
        return _match(ref, n.value)
    if isinstance(n, Compare):
        return _compare(ref, n.op, n.value)
    assert isinstance(n, Range)
    bounds = [_compare(ref, ">=" if n.lo_incl else ">", n.lo)] if n.lo is not None else []
    bounds += [_compare(ref, "<=" if n.hi_incl else "<", n.hi)] if n.hi is not None else []
    if not bounds:
        return _on(ref, pc.is_valid)
    return _fold(pc.and_, bounds)


def _fold(combine: Callable[[pa.Array, pa.Array], pa.Array], parts: list[Predicate]) -> Predicate:
    """The parts' masks combined left to right (``pc.and_`` or ``pc.or_``; no nulls to mind)."""

    def combined(batch: pa.RecordBatch) -> pa.Array:
        out = parts[0](batch)
        for p in parts[1:]:
            out = combine(out, p(batch))
        return out

    return combined


def _or(n: Or) -> list[Predicate]:
    """The items of an ``or`` as :func:`~.sql.or_groups` groups them for SQL."""
    out: list[Predicate] = []
    for kind, ref, payload in or_groups(n):
        if kind == "node":
            out.append(_node(payload))
            continue
        if ref.is_list:
            raise _Unsupported(ref.name)
        if kind == "in":
            out.append(_in(ref, payload))
        else:
            out.append(_full_regex(ref, payload))
    return out


def _in(ref: FieldRef, values: list[Any]) -> Predicate:
    if ref.type not in _SCALAR_TYPES or (ref.type == "long" and any(isinstance(v, float) for v in values)):
        raise _Unsupported(ref.name)  # a fraction against whole numbers: SQL's casts decide
    if len(values) == 1:
        return _equal(ref, values[0])
    value_set = pa.array(values)
    return _on(ref, lambda column_values: pc.is_in(column_values, value_set=value_set))


def _equal(ref: FieldRef, value: Any) -> Predicate:
    return _on(ref, lambda values: pc.equal(values, value))


def _full_regex(ref: FieldRef, expression: str) -> Predicate:
    """SQL's ``regexp_full_match(x, expression)``: RE2 over the whole value."""
    anchored = r"\A(?:" + expression + r")\z"
    return _regex(ref, anchored)


def _regex(ref: FieldRef, pattern: str) -> Predicate:
    if ref.type not in ("keyword", "text"):
        raise _Unsupported(ref.name)  # DuckDB's number-to-text cast is not Arrow's
    return _on(ref, lambda values: pc.match_substring_regex(values, pattern))


def _lowered(text: str) -> str:
    """``text`` lower-cased as Arrow (and DuckDB, both with utf8proc) lower-case the values."""
    return str(pc.utf8_lower(pa.scalar(text)).as_py())


def _ilike(ref: FieldRef, pattern: str) -> Predicate:
    lowered = _lowered(pattern)
    return _on(ref, lambda values: pc.match_like(pc.utf8_lower(values), lowered))


def _match(ref: FieldRef, v: Value) -> Predicate:
    typ = ref.type
    if typ in ("keyword", "text") and (v.nocase or v.is_wildcard):
        return _ilike(ref, like_pattern(v, contains=typ == "text" and not v.nocase))
    if v.is_wildcard:
        raise _Unsupported(ref.name)  # a number's text form, a boolean: left to SQL
    if typ == "text":
        lowered = _lowered(v.text)
        return _on(ref, lambda values: pc.match_substring(pc.utf8_lower(values), lowered))
    return _equal(ref, scalar(ref, v))


def _compare(ref: FieldRef, op: str, v: Value) -> Predicate:
    if ref.type not in ("long", "double") or v.is_wildcard:
        raise _Unsupported(ref.name)
    value, compare = scalar(ref, v), _OPS[op]
    return _on(ref, lambda values: compare(values, value))
