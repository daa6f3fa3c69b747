"""What a loaded detection is: a :class:`Rule` (one event matches) or a :class:`Correlation` (a
group of events passes a threshold in a time window), both with what a person needs to judge an
alert; and :class:`UnsupportedRule`, the one error of loading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wafpipe.errors import WafpipeError
from wafpipe.store.query import compile_node
from wafpipe.store.query.tree import Node

LEVELS = ("informational", "low", "medium", "high", "critical")


class UnsupportedRule(WafpipeError):
    """A rule wafpipe cannot run as written: the message names the rule and the construct."""


@dataclass(frozen=True, kw_only=True)
class Detection:
    """A rule's identity and its words for people (Sigma's metadata)."""

    id: str
    title: str
    level: str
    source: str  # the file it came from, or "<text>"
    description: str = ""
    falsepositives: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    author: str = ""


@dataclass(frozen=True, kw_only=True)
class Rule(Detection):
    """A Sigma detection rule: ``tree`` is its condition as a query tree. ``standalone`` is False
    for a rule that only feeds a correlation (Sigma's ``generate: false``): it alerts through it."""

    tree: Node
    standalone: bool = True

    def where(self) -> tuple[str, list[Any]]:
        """The rule's ``WHERE`` over ``events`` and its parameters."""
        return compile_node(self.tree)


@dataclass(frozen=True, kw_only=True)
class Correlation(Detection):
    """A correlation rule: events matching ``base`` (its rules' conditions, OR'd), grouped by
    ``group_by``, forming the pattern ``kind`` names within ``timespan_s``:

    * ``event_count``: ``threshold`` events (more than it with ``strictly``); ``value_count``: as
      many distinct values of ``distinct``;
    * ``temporal``: each of its rules (``steps``) matched; ``temporal_ordered``: in their order;
    * ``spike`` (wafpipe's): a timespan with ``threshold`` events or more and ``factor`` times the
      group's mean per timespan over the ``history_s`` before;
    * ``new_value`` (wafpipe's): a value of ``distinct`` the group has not shown in ``history_s``.
    """

    kind: str
    base: Node
    rules: tuple[str, ...]  # the ids of the rules it correlates
    group_by: tuple[str, ...]
    timespan_s: int
    threshold: int
    strictly: bool = False
    distinct: str | None = None
    steps: tuple[Node, ...] = ()
    history_s: int = 0
    factor: float = 0.0

    def pattern(self) -> dict[str, Any]:
        """The read service's ``correlate`` arguments besides the condition, groups, timespan and
        threshold (:func:`wafpipe.store.correlate.correlate`)."""
        if self.kind in ("event_count", "value_count"):
            return {"kind": "count", "distinct": self.distinct, "strictly": self.strictly}
        if self.kind in ("temporal", "temporal_ordered"):
            return {"kind": self.kind, "steps": list(self.steps)}
        if self.kind == "spike":
            return {"kind": "spike", "history_s": self.history_s, "factor": self.factor}
        return {"kind": "new_value", "distinct": self.distinct, "history_s": self.history_s}
