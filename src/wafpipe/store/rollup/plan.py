"""Reading through the rollup: which questions it can answer, and the statements that do.

A question qualifies when its query names only :data:`~.table.DIMENSIONS` (free text does not
qualify: it reads every text column) and its time range holds at least one whole hour. The whole
hours are read from ``rollup`` with the query's own compiled ``WHERE`` (the dimensions have the same
nested names there); the partial hours at either end are counted from ``events`` by the ordinary
statements of :mod:`wafpipe.store.query.statements`; the parts are added up in SQL. A top list
qualifies when its field is rolled up (or a dimension) and its ``by`` a dimension; a histogram when
its interval is whole hours and its ``by`` a dimension. Anything else returns None and the read
service counts the events, so the answer never depends on the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wafpipe.store.params import EPOCH
from wafpipe.store.query import FieldRef, compile_query, parse, resolve
from wafpipe.store.query.parser import All, And, Match, Node, Not, Or
from wafpipe.store.query.statements import TS, floor_div, histogram, top_values
from wafpipe.store.rollup.table import DIMENSIONS, FIELDS, HOUR_US, ROLLUP


def _only_dimensions(node: Node) -> bool:
    if isinstance(node, All):
        return True
    if isinstance(node, And | Or):
        return all(_only_dimensions(item) for item in node.items)
    if isinstance(node, Not):
        return _only_dimensions(node.item)
    if isinstance(node, Match) and node.field is None:
        return False  # free text
    ref = resolve(node.field)
    return ref is not None and (ref.name in DIMENSIONS or ref.type == "constant")


def _hour_start(hour: int) -> datetime:
    return EPOCH + timedelta(hours=hour)


@dataclass(frozen=True)
class Plan:
    """One qualifying question: the query's ``WHERE`` without time, the rollup hours
    ``[first_hour, end_hour)`` (None: unbounded), and the partial-hour spans read from the events."""

    where: str
    params: list[Any]
    first_hour: int | None
    end_hour: int | None
    edges: tuple[tuple[datetime, datetime], ...]

    def _rollup_where(self, field: str) -> tuple[str, list[Any]]:
        parts, params = ["field = ?"], [field]
        if self.first_hour is not None:
            parts.append("hour >= ?")
            params.append(self.first_hour)
        if self.end_hour is not None:
            parts.append("hour < ?")
            params.append(self.end_hour)
        return " AND ".join([*parts, f"({self.where})"]), [*params, *self.params]

    def _edge_wheres(self) -> list[tuple[str, list[Any]]]:
        return [
            (f"({self.where}) AND {TS} >= ? AND {TS} < ?", [*self.params, lo, hi]) for lo, hi in self.edges
        ]

    def count(self) -> tuple[str, list[Any]]:
        """Rows: one, the number of matching events."""
        where, params = self._rollup_where("")
        parts = [f"SELECT n FROM {ROLLUP} WHERE {where}"]  # noqa: S608
        for edge, edge_params in self._edge_wheres():
            parts.append(f"SELECT count(*) FROM events WHERE {edge}")  # noqa: S608
            params += edge_params
        return f"SELECT coalesce(sum(n), 0)::BIGINT FROM ({' UNION ALL '.join(parts)})", params  # noqa: S608

    def top(self, ref: FieldRef, by: FieldRef | None, limit: int) -> tuple[str, list[Any]] | None:
        """The ``top`` statement's rows, or None when the rollup does not count this field or ``by``."""
        if by is not None and by.name not in DIMENSIONS:
            return None
        if ref.name in FIELDS:
            value, where, params = "value", *self._rollup_where(ref.name)
        elif ref.name in DIMENSIONS:
            value, where, params = ref.sql, *self._rollup_where("")
        else:
            return None
        keys = "v" if by is None else "v, b"
        pair = "" if by is None else f", {by.sql} AS b"
        parts = [f"SELECT {value} AS v{pair}, n FROM {ROLLUP} WHERE {where}"]  # noqa: S608
        for edge, edge_params in self._edge_wheres():
            values, value_params = top_values(ref, by, edge, edge_params)
            parts.append(f"SELECT {keys}, count(*) AS n FROM ({values}) GROUP BY {keys}")  # noqa: S608
            params += value_params
        present = "v IS NOT NULL" + ("" if by is None else " AND b IS NOT NULL")
        sql = (
            f"SELECT {keys}, sum(n)::BIGINT AS n FROM ({' UNION ALL '.join(parts)}) WHERE {present} "  # noqa: S608
            f"GROUP BY {keys} ORDER BY n DESC, {keys} LIMIT ?"
        )
        return sql, [*params, limit]

    def histogram(self, seconds: int, by: FieldRef | None) -> tuple[str, list[Any]] | None:
        """Rows ``(bucket, value, count)`` as :func:`~wafpipe.store.query.statements.histogram`'s,
        or None unless the interval is whole hours and ``by`` a dimension."""
        if seconds % 3600 or (by is not None and by.name not in DIMENSIONS):
            return None
        value = "NULL" if by is None else by.sql
        where, params = self._rollup_where("")
        bucket = floor_div("hour", str(seconds // 3600))
        parts = [f"SELECT {bucket} AS b, {value} AS v, n FROM {ROLLUP} WHERE {where}"]  # noqa: S608
        step_us = seconds * 1_000_000
        for edge, edge_params in self._edge_wheres():
            parts.append(histogram(value, edge))
            params += [step_us, step_us, *edge_params]
        return f"SELECT b, v, sum(n)::BIGINT FROM ({' UNION ALL '.join(parts)}) GROUP BY b, v", params  # noqa: S608


def plan(q: str, lo: datetime | None, hi: datetime | None) -> Plan | None:
    """The plan for a query (already checked) over ``[lo, hi)``, or None when the rollup cannot
    answer it: the query names more than the dimensions, or the range holds no whole hour."""
    if not _only_dimensions(parse(q)):
        return None
    first = -(-_us(lo) // HOUR_US) if lo is not None else None
    end = _us(hi) // HOUR_US if hi is not None else None
    if first is not None and end is not None and first >= end:
        return None
    edges = []
    if lo is not None and first is not None and lo < _hour_start(first):
        edges.append((lo, _hour_start(first)))
    if hi is not None and end is not None and _hour_start(end) < hi:
        edges.append((_hour_start(end), hi))
    where, params = compile_query(q)
    return Plan(where, list(params), first, end, tuple(edges))


def _us(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1)
