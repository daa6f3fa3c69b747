"""The statements of ``correlate``: which groups of events form a pattern over time.

Every statement reads the matching events once (``m``: id, time, the group keys ``g0``, ``g1``…,
and what the pattern needs), finds per group when the pattern holds (``hit``: first, last, peak),
and returns one row per group: ``(g0, g1…, first, last, peak, ids)``, ``ids`` the group's events
from the pattern's start to its last occurrence (at most ``max_ids``). Events without a value in
a group key are not grouped. The text is fixed plus the trusted SQL of allow-listed fields; every
value a caller gives is a ``?`` parameter, in the order each function's docstring gives.

The patterns (Sigma's correlation types, and two that Sigma has no type for):

* :func:`counted` — so many events, or distinct values, within a sliding timespan (``event_count``,
  ``value_count``; ``temporal``: every one of several conditions, counted as distinct values);
* :func:`ordered` — several conditions met in order within a timespan (``temporal_ordered``);
* :func:`spike` — a timespan with many more events than the group's rolling baseline;
* :func:`new_values` — a value the group has not shown in its history (new terms).
"""

# ruff: noqa: S608 - every statement here is fixed text and allow-listed SQL; values are ? parameters
from __future__ import annotations

from wafpipe.store.query.statements import ID, TS

SPAN = "to_seconds(?::BIGINT)"


def _matched(where: str, groups: list[str], extra: str = "") -> tuple[list[str], str]:
    """The keys ``g0``… and the ``m`` CTE: parameters of ``groups`` and ``extra``, then ``where``'s."""
    keys = [f"g{i}" for i in range(len(groups))]
    cols = ", ".join(f"{sql} AS {key}" for sql, key in zip(groups, keys, strict=True))
    present = " AND ".join(f"{key} IS NOT NULL" for key in keys)
    return keys, (
        f"m AS (SELECT * FROM (SELECT {ID} AS id, {TS} AS ts, {cols}{extra} FROM events WHERE {where}) WHERE {present})"
    )


def _groups(keys: list[str], start: str) -> str:
    """The rows out of ``hit``: parameters ``max_ids`` and the row limit. ``start`` is where a
    group's events begin, in terms of ``hit``."""
    part = ", ".join(keys)
    return (
        f"SELECT {', '.join(f'hit.{k}' for k in keys)}, hit.first, hit.last, hit.peak, "
        f"(list(m.id ORDER BY m.ts, m.id))[1:?] AS ids FROM hit JOIN m USING ({part}) "
        f"WHERE m.ts >= {start} AND m.ts <= hit.last "
        f"GROUP BY ALL ORDER BY hit.first, {', '.join(f'hit.{k}' for k in keys)} LIMIT ?"
    )


def _crossings(keys: list[str], op: str) -> str:
    """``hit`` over ``w`` (a count ``n`` per event and the timespan ``span``): the groups whose
    count passes the threshold. Parameters: the threshold, the time from which crossings count."""
    part = ", ".join(keys)
    return (
        f"hit AS (SELECT {part}, min(ts) AS first, max(ts) AS last, max(n) AS peak, any_value(span) AS span "
        f"FROM w WHERE n {op} ? AND ts >= ? GROUP BY {part}) "
    )


def counted(where: str, groups: list[str], value: str | None, op: str) -> str:
    """Each event counted with the events of its group in the timespan before it (``RANGE`` frame):
    all of them, or the distinct values of ``value``; a group is found from the first event whose
    count passes ``op`` the threshold.

    Parameters: the groups' and ``value``'s own, ``where``'s, the timespan in seconds twice, the
    threshold, the time from which crossings count, ``max_ids``, the row limit."""
    assert op in (">=", ">")
    keys, m = _matched(where, groups, f", {value} AS v" if value is not None else "")
    part = ", ".join(keys)
    count = "count(DISTINCT v)" if value is not None else "count(*)"
    return (
        f"WITH {m}, w AS (SELECT {part}, ts, {count} OVER (PARTITION BY {part} ORDER BY ts RANGE BETWEEN "
        f"{SPAN} PRECEDING AND CURRENT ROW) AS n, ?::BIGINT AS span FROM m), "
        + _crossings(keys, op)
        + _groups(keys, "hit.first - to_seconds(hit.span)")
    )


def ordered(where: str, groups: list[str], step: str, steps: int) -> str:
    """Events meeting conditions 1, 2 … ``steps`` in that order (or within one timestamp) within
    the timespan. ``step`` is SQL giving each event the number of the first condition it meets.
    Each level ``k`` keeps, on the events of step ``k``, the start of the latest chain 1…k that
    ends there (the latest chain start of step ``k - 1`` in the timespan before it); a chain of all
    the steps no longer than the timespan is a crossing (its count is ``steps``).

    Parameters: the groups' and ``step``'s own, ``where``'s, the timespan in seconds ``steps + 1``
    times, the threshold (``steps``), the time from which crossings count, ``max_ids``, the row
    limit."""
    assert steps >= 2
    keys, m = _matched(where, groups, f", {step} AS v")
    part = ", ".join(keys)
    window = f"OVER (PARTITION BY {part} ORDER BY ts RANGE BETWEEN {SPAN} PRECEDING AND CURRENT ROW)"
    levels = ["l1 AS (SELECT *, CASE WHEN v = 1 THEN ts END AS c1 FROM m)"]
    for k in range(2, steps + 1):
        levels.append(f"l{k} AS (SELECT *, CASE WHEN v = {k} THEN max(c{k - 1}) {window} END AS c{k} FROM l{k - 1})")
    return (
        f"WITH {m}, {', '.join(levels)}, "
        f"w AS (SELECT {part}, ts, CASE WHEN c{steps} >= ts - {SPAN} THEN {steps} ELSE 0 END AS n, "
        f"?::BIGINT AS span FROM l{steps}), "
        + _crossings(keys, ">=")
        + _groups(keys, "hit.first - to_seconds(hit.span)")
    )


def spike(where: str, groups: list[str]) -> str:
    """Per group, events counted in fixed buckets of the timespan; a bucket is a spike when its
    count reaches the floor and ``factor`` times the group's baseline: its mean count per bucket
    over the history before it (the buckets since the group's first, at most the history's). A
    group without events in that history has no baseline, and no spike.

    Parameters: the groups' own, ``where``'s, the bucket in microseconds, the history in buckets
    twice, the floor, the factor, the time from which spikes count, ``max_ids``, the row
    limit. ``peak`` is the largest spiking bucket's count."""
    keys, m = _matched(where, groups)
    part = ", ".join(keys)
    return (
        f"WITH {m}, "
        f"b AS (SELECT {part}, epoch_us(ts) // ?::BIGINT AS bucket, count(*) AS n, min(ts) AS f, max(ts) AS l "
        f"FROM m GROUP BY ALL), "
        f"s AS (SELECT *, sum(n) OVER (PARTITION BY {part} ORDER BY bucket RANGE BETWEEN ?::BIGINT PRECEDING "
        f"AND 1 PRECEDING) AS before, least(?::BIGINT, bucket - min(bucket) OVER (PARTITION BY {part})) AS k "
        f"FROM b), "
        f"hit AS (SELECT {part}, min(f) AS first, max(l) AS last, max(n) AS peak FROM s "
        f"WHERE before IS NOT NULL AND n >= ? AND n >= ?::DOUBLE * before / k AND l >= ? GROUP BY {part}) "
        + _groups(keys, "hit.first")
    )


def new_values(where: str, groups: list[str], value: str) -> str:
    """Per group, the values of ``value`` it shows first at or after the start of the range, where
    the group itself has events before it (within the history ``where`` reads): a new country for
    a site, not every country of a new site. One row per group and new value (``value`` is the
    last key), ``peak`` its events.

    Parameters: the groups' and ``value``'s own, ``where``'s, the start of the range twice,
    ``max_ids``, the row limit."""
    keys, m = _matched(where, [*groups, value])
    part = ", ".join(keys)
    known = ", ".join(keys[:-1])
    return (
        f"WITH {m}, "
        f"f AS (SELECT {part}, min(ts) AS first, max(ts) AS last, count(*) AS peak FROM m GROUP BY ALL), "
        f"known AS (SELECT DISTINCT {known} FROM m WHERE ts < ?), "
        f"hit AS (SELECT f.* FROM f SEMI JOIN known USING ({known}) WHERE f.first >= ?) " + _groups(keys, "hit.first")
    )
