"""The read side's ``correlate`` (:meth:`wafpipe.store.service.ReadService.correlate`): groups of
events that form a pattern over time, for detections (:mod:`wafpipe.detect`) and the API.

One operation with a ``kind`` rather than one per pattern, because every pattern takes the same
things (conditions, group fields, a timespan, a range) and answers in the same shape:
``{"groups": [{"by": {field: value}, "first", "last", "peak", "ids"}]}``.

======================  ===========================================================================
kind                    a group is found when
======================  ===========================================================================
``count``               ``threshold`` events (distinct values of ``distinct``) within ``timespan_s``
``temporal``            every one of ``steps`` matched within ``timespan_s``, in any order
``temporal_ordered``    ``steps`` matched in order within ``timespan_s``
``spike``               a ``timespan_s`` bucket holds ``threshold`` events or more and ``factor``
                        times the group's mean per bucket over the ``history_s`` before
``new_value``           a value of ``distinct`` that the group did not show in the ``history_s``
                        before the range (the value is part of ``by``)
======================  ===========================================================================

Patterns need events from before the range: one timespan (the window that a crossing at the
range's start closes), or the history. Arguments are checked here, SQL comes from
:mod:`.query.patterns`, values go in as parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from wafpipe.errors import QueryError
from wafpipe.store.limits import MAX_LIST, bounded_int
from wafpipe.store.params import EPOCH, time_range, value_field
from wafpipe.store.query import patterns
from wafpipe.store.query.fields import FieldRef
from wafpipe.store.query.statements import group_operand, plain
from wafpipe.store.query.statements import iso as iso_time
from wafpipe.store.query.tree import Node

KINDS = ("count", "temporal", "temporal_ordered", "spike", "new_value")
MAX_STEPS = 10
MAX_HISTORY_S = 400 * 86400

Json = dict[str, Any]
Where = Callable[[Any, Any, Any], tuple[str, list[Any]]]  # (query, since, until) → WHERE, params


def correlate(
    run: Any,
    where_of: Where,
    q: str | Node,
    group_by: list[str],
    timespan_s: int,
    threshold: int,
    *,
    kind: str = "count",
    distinct: str | None = None,
    strictly: bool = False,
    steps: Sequence[str | Node] | None = None,
    history_s: int | None = None,
    factor: float | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    max_ids: int = 100,
    limit: int = 1000,
) -> Json:
    """The groups of ``kind`` (see the module's table). ``run`` is the read service's query
    runner, ``where_of`` its compiler of a query and a time range."""
    if kind not in KINDS:
        raise QueryError(f"kind: one of {', '.join(KINDS)}")
    refs = [value_field(name, "group-by") for name in group_by]
    value = value_field(distinct, "value count") if distinct else None
    if not refs or any(r.is_list for r in refs) or (value is not None and value.is_list):
        raise QueryError("group by one or more fields of one value per event")
    if kind == "new_value" and value is None:
        raise QueryError("new_value needs distinct: the field whose new values count")
    timespan_s = bounded_int("timespan", timespan_s, 1, 366 * 86400)
    threshold = bounded_int("threshold", threshold, 0, 2**62)
    lo, hi = time_range(since, until)
    start = lo or EPOCH
    tail = [bounded_int("max_ids", max_ids, 1, 10_000), bounded_int("limit", limit, 1, MAX_LIST)]
    own = [p for r in refs for p in r.params]
    groups = [group_operand(r) for r in refs]

    if kind in ("temporal", "temporal_ordered"):
        conditions = list(steps or ())
        if not 2 <= len(conditions) <= MAX_STEPS:
            raise QueryError(f"{kind} needs 2 to {MAX_STEPS} steps")
        compiled = [where_of(c, None, None) for c in conditions]
        step = "CASE " + " ".join(f"WHEN ({w}) THEN {i + 1}" for i, (w, _) in enumerate(compiled)) + " END"
        step_params = [p for _, ps in compiled for p in ps]
        where, params = where_of(None, start - timedelta(seconds=timespan_s), hi)
        where = f"({where}) AND ({' OR '.join(f'({w})' for w, _ in compiled)})"
        params = [*params, *step_params]
        if kind == "temporal":
            sql = patterns.counted(where, groups, step, ">=")
            values = [*own, *step_params, *params, timespan_s, timespan_s, len(conditions), start, *tail]
        else:
            sql = patterns.ordered(where, groups, step, len(conditions))
            values = [*own, *step_params, *params, *[timespan_s] * (len(conditions) + 1), len(conditions), start,
                      *tail]  # fmt: skip
    elif kind == "count":
        where, params = where_of(q, start - timedelta(seconds=timespan_s), hi)
        counted = group_operand(value) if value is not None else None
        sql = patterns.counted(where, groups, counted, ">" if strictly else ">=")
        values = [
            *own,
            *(value.params if value else []),
            *params,
            timespan_s,
            timespan_s,
            threshold,
            start,
            *tail,
        ]
    else:
        history = bounded_int("history", history_s, timespan_s, MAX_HISTORY_S)
        where, params = where_of(q, start - timedelta(seconds=history), hi)
        if kind == "spike":
            rate = _factor(factor)
            buckets = math.ceil(history / timespan_s)
            sql = patterns.spike(where, groups)
            values = [*own, *params, timespan_s * 1_000_000, buckets, buckets, threshold, rate, start, *tail]
        else:
            assert value is not None
            sql = patterns.new_values(where, groups, group_operand(value))
            values = [*own, *value.params, *params, start, start, *tail]
            refs, group_by = [*refs, value], [*group_by, str(distinct)]
    rows, _ = run.fetch(sql, values)
    return {"groups": [_group(row, group_by, refs) for row in rows]}


def _factor(factor: float | None) -> float:
    if not isinstance(factor, int | float) or isinstance(factor, bool) or not 1 <= factor <= 1000:
        raise QueryError("factor: a number from 1 to 1000 (how many times the baseline a spike is)")
    return float(factor)


def _group(row: tuple[Any, ...], names: list[str], refs: list[FieldRef]) -> Json:
    n = len(refs)
    return {"by": {name: plain(ref, v) for name, ref, v in zip(names, refs, row[:n], strict=True)},
            "first": iso_time(row[n]), "last": iso_time(row[n + 1]), "peak": int(row[n + 2]),
            "ids": list(row[n + 3])}  # fmt: skip
