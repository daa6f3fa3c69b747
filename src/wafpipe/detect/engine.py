"""Running detections over the store: each rule's findings in a time range, through the read side.

Every detection becomes one ``correlate`` call of the read service
(:meth:`wafpipe.store.service.ReadService.correlate`), locally or in the collector over its API:

* a correlation rule, as it says: its base rules' events, grouped by its ``group-by``, forming its
  pattern (a count reaching its threshold, its rules in order, a spike, a new value) in its timespan;
* a single-event rule, grouped by the source address over the whole range with a threshold of one:
  one finding per rule and source, with how many events and when, rather than one per event.
  Events without a source address are not reported by single-event rules.

Rules that only feed a correlation (``generate: false``) are not run alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wafpipe.clock import utcnow
from wafpipe.detect.model import Correlation, Detection, Rule
from wafpipe.store.params import time_range

SINGLE_GROUP = ("source.ip",)


@dataclass(frozen=True)
class Finding:
    """One group of events a detection fired on."""

    rule: Detection
    group: dict[str, Any]
    first: str  # when it fired (the event that passed the threshold)
    last: str
    count: int  # single rules: events in the range; correlations: the peak in one timespan
    ids: list[str]  # the events (the first ``max_ids``)

    def record(self) -> dict[str, Any]:
        """As JSON: what ``wafpipe detect --format ndjson`` prints."""
        r = self.rule
        return {"rule": {"id": r.id, "title": r.title, "level": r.level, "tags": list(r.tags), "source": r.source},
                "kind": "correlation" if isinstance(r, Correlation) else "rule", "group": self.group,
                "first": self.first, "last": self.last, "count": self.count, "event_ids": self.ids}  # fmt: skip


def alerting(detections: Iterable[Detection]) -> list[Detection]:
    """The detections that alert: correlations and standalone rules."""
    return [d for d in detections if not isinstance(d, Rule) or d.standalone]


def evaluate(reader: Any, detections: Iterable[Detection], *, since: datetime | str, until: datetime | str | None = None,
             max_ids: int = 100, correlations_only: bool = False) -> list[Finding]:  # fmt: skip
    """Every finding of the alerting ``detections`` in ``[since, until)``, rule by rule, each rule's
    in time order (only the correlations' with ``correlations_only``: the collector runs the
    single-event rules on each Batch). ``reader`` is a read service or an API client."""
    lo, hi = time_range(since, until)
    assert lo is not None
    span_s = max(1, int(((hi or utcnow()) - lo).total_seconds()) + 1)
    findings: list[Finding] = []
    for rule in alerting(detections):
        if correlations_only and not isinstance(rule, Correlation):
            continue
        if isinstance(rule, Correlation):
            found = reader.correlate(rule.base, list(rule.group_by), rule.timespan_s, rule.threshold,
                                     **rule.pattern(), since=lo, until=hi, max_ids=max_ids)  # fmt: skip
        else:
            assert isinstance(rule, Rule)
            found = reader.correlate(rule.tree, list(SINGLE_GROUP), span_s, 1, since=lo, until=hi, max_ids=max_ids)
        findings += [Finding(rule, g["by"], g["first"], g["last"], int(g["peak"]), list(g["ids"]))
                     for g in found["groups"]]  # fmt: skip
    return findings
