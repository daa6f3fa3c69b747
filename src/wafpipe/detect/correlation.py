"""Sigma correlation rules → :class:`~.model.Correlation`: counts over a sliding time window, per
group, run by the read service's ``correlate`` (:meth:`wafpipe.store.service.ReadService.correlate`).

Supported: ``event_count`` (so many matching events) and ``value_count`` (so many distinct values
of a field), with ``gte`` or ``gt``, any ``group-by`` of single-valued fields, any ``timespan``.
Refused by name for now: ``temporal`` and ``temporal_ordered`` (several rules in a window, in order),
``value_sum``/``value_avg``/``value_percentile``, field aliases, and ``lt``/``lte``/``eq`` conditions
(which would fire for every quiet group).
"""

from __future__ import annotations

from typing import Any

from sigma.correlations import SigmaCorrelationConditionOperator, SigmaCorrelationRule

from wafpipe.detect.model import Correlation, Rule, UnsupportedRule
from wafpipe.detect.taxonomy import WEB_FIELDS
from wafpipe.store.query import resolve
from wafpipe.store.query.tree import Or

KINDS = ("event_count", "value_count")
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
    condition = item.condition
    if condition.op not in _OPS:
        raise UnsupportedRule(f"{name}: the condition {condition.op.name.lower()} is not supported (only gte, gt)")
    base = []
    for reference in item.rules:
        target = getattr(reference, "rule", None)
        if id(target) not in rules:
            raise UnsupportedRule(f"{name}: it correlates {reference.reference!r}, which is not a detection rule here")
        base.append(rules[id(target)])
    distinct = _field(condition.fieldref, "value_count field", name) if kind == "value_count" else None
    if kind == "value_count" and not condition.fieldref:
        raise UnsupportedRule(f"{name}: value_count needs condition.field")
    return Correlation(
        **meta, kind=kind, base=base[0].tree if len(base) == 1 else Or(tuple(r.tree for r in base)),
        rules=tuple(r.id for r in base), group_by=tuple(_field(g, "group-by", name) for g in item.group_by or ()),
        timespan_s=int(item.timespan.seconds), threshold=int(condition.count), strictly=_OPS[condition.op],
        distinct=distinct,
    )  # fmt: skip
