"""Sigma correlation rules → :class:`~.model.Correlation`: patterns over time, per group, run by
the read service's ``correlate`` (:func:`wafpipe.store.correlate.correlate`).

Supported Sigma types: ``event_count`` and ``value_count`` (with ``gte`` or ``gt``), ``temporal``
(each of the rules within the timespan) and ``temporal_ordered`` (in the order listed; events of
one timestamp count as in order), any ``group-by`` of single-valued fields, any ``timespan``.

Two patterns Sigma has no type for are written as a Sigma correlation with a ``wafpipe:`` block,
which other Sigma tools ignore (they then see the plain count the rule also states):

* ``spike`` on an ``event_count``: its condition is the floor, and a timespan must also hold
  ``factor`` times the group's mean per timespan over ``history`` before it::

      wafpipe:
        spike: {history: 24h, factor: 5}

* ``new_value`` on a ``value_count``: a value of the condition's field that the group has not
  shown within ``history`` (Elastic calls it "new terms"); the condition's count is not used::

      wafpipe:
        new_value: {history: 30d}

Refused by name: ``value_sum``/``value_avg``/``value_percentile``/``value_median``, field aliases,
``lt``/``lte``/``eq`` conditions (which would fire for every quiet group), and other ``wafpipe:``
keys.
"""

from __future__ import annotations

from typing import Any

from sigma.correlations import (
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationTimespan,
)
from sigma.exceptions import SigmaError

from wafpipe.detect.model import Correlation, Rule, UnsupportedRule
from wafpipe.detect.taxonomy import WEB_FIELDS
from wafpipe.store.query import resolve
from wafpipe.store.query.tree import Or

KINDS = ("event_count", "value_count", "temporal", "temporal_ordered")
EXTENSIONS = {"spike": "event_count", "new_value": "value_count"}  # wafpipe: key → the Sigma type it needs
_OPS = {SigmaCorrelationConditionOperator.GTE: False, SigmaCorrelationConditionOperator.GT: True}


def _field(name: str, what: str, rule: str) -> str:
    """A Sigma field name as our ECS name (mapped like the rules' own), checked against the allow-list."""
    mapped = WEB_FIELDS.get(name, name)
    ref = resolve(mapped)
    if ref is None or ref.is_list or ref.json:
        raise UnsupportedRule(f"{rule}: {what} {name!r} is not a field of one value per event that wafpipe fills")
    return ref.name


def correlation(item: SigmaCorrelationRule, rules: dict[int, Rule], source: str, meta: dict[str, Any]) -> Correlation:
    """``item`` (its rule references resolved; ``rules`` maps the referenced pySigma rules, by
    ``id()``, to ours) as a :class:`Correlation`."""
    name = f"{source}: rule {item.title!r}"
    kind = item.type.name.lower()
    if kind not in KINDS:
        raise UnsupportedRule(f"{name}: correlation type {kind!r} is not supported (only {', '.join(KINDS)})")
    if getattr(item, "aliases", None) and item.aliases.aliases:
        raise UnsupportedRule(f"{name}: correlation field aliases are not supported")
    base = []
    for reference in item.rules:
        target = getattr(reference, "rule", None)
        if id(target) not in rules:
            raise UnsupportedRule(f"{name}: it correlates {reference.reference!r}, which is not a detection rule here")
        base.append(rules[id(target)])
    shape: dict[str, Any] = {"kind": kind, "threshold": 0}
    if kind in ("temporal", "temporal_ordered"):
        if len(base) < 2:
            raise UnsupportedRule(f"{name}: {kind} correlates two rules or more")
        shape["steps"] = tuple(r.tree for r in base)
    else:
        condition = item.condition
        if condition.op not in _OPS:
            raise UnsupportedRule(f"{name}: the condition {condition.op.name.lower()} is not supported (only gte, gt)")
        if kind == "value_count" and not condition.fieldref:
            raise UnsupportedRule(f"{name}: value_count needs condition.field")
        shape.update(threshold=int(condition.count), strictly=_OPS[condition.op],
                     distinct=_field(condition.fieldref, "value_count field", name) if kind == "value_count" else None)  # fmt: skip
    shape.update(_extension(item, kind, name))
    return Correlation(
        **meta, **shape, base=base[0].tree if len(base) == 1 else Or(tuple(r.tree for r in base)),
        rules=tuple(r.id for r in base), group_by=tuple(_field(g, "group-by", name) for g in item.group_by or ()),
        timespan_s=int(item.timespan.seconds),
    )  # fmt: skip


def _extension(item: SigmaCorrelationRule, kind: str, name: str) -> dict[str, Any]:
    """The ``wafpipe:`` block's pattern, checked (none: {})."""
    block = item.custom_attributes.get("wafpipe")
    if block is None:
        return {}
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in EXTENSIONS:
        raise UnsupportedRule(f"{name}: the wafpipe: block holds one of {', '.join(EXTENSIONS)}")
    (pattern, options), = block.items()
    if kind != EXTENSIONS[pattern]:
        raise UnsupportedRule(f"{name}: wafpipe: {pattern} goes with the correlation type {EXTENSIONS[pattern]}")
    allowed = {"history", "factor"} if pattern == "spike" else {"history"}
    if not isinstance(options, dict) or set(options) - allowed or "history" not in options:
        raise UnsupportedRule(f"{name}: wafpipe: {pattern} takes {', '.join(sorted(allowed))} (history required)")
    try:
        history_s = int(SigmaCorrelationTimespan(str(options["history"])).seconds)
    except SigmaError as exc:
        raise UnsupportedRule(f"{name}: wafpipe: {pattern}: history: {exc}") from None
    if history_s < item.timespan.seconds:
        raise UnsupportedRule(f"{name}: wafpipe: {pattern}: the history is shorter than the timespan")
    out: dict[str, Any] = {"kind": pattern, "history_s": history_s}
    if pattern == "spike":
        factor = options.get("factor", 3)
        if not isinstance(factor, int | float) or isinstance(factor, bool) or not 1 <= factor <= 1000:
            raise UnsupportedRule(f"{name}: wafpipe: spike: factor is a number from 1 to 1000")
        out["factor"] = float(factor)
    return out
