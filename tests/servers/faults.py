"""Fault injection shared by the test servers (Elasticsearch and Kibana).

A test arms rules on ``server.faults``; the HTTP layer asks :meth:`Faults.decide` once per request
(after routing, so a rule can target one endpoint such as ``"bulk"``) and the ``_bulk`` handler asks
:meth:`Faults.item_failure` once per item. Rules are consumed in the order they were armed.

Out of process, the same calls arrive as ``POST /_fault {"action": "<method name>", ...kwargs}``
(see :meth:`Faults.apply`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class _Rule:
    kind: str  # "status" | "drop" | "slow"
    endpoint: str | None
    remaining: int | None  # None: unlimited (bounded by ``until`` or by clear())
    until: float | None  # monotonic deadline, None: no deadline
    status: int = 0
    delay: float = 0.0
    reset: bool = False
    after: bool = False

    def alive(self, now: float) -> bool:
        return (self.remaining is None or self.remaining > 0) and (self.until is None or now < self.until)

    def consume(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


@dataclass(frozen=True)
class Decision:
    """What the HTTP layer must do with one request."""

    delay: float = 0.0
    status: int | None = None  # answer with this status instead of running the handler
    drop: bool = False  # close the connection without a response
    reset: bool = False  # ... with a TCP RST (SO_LINGER 0) rather than a FIN
    drop_after: bool = False  # run the handler first (the write happens), then drop


NO_FAULT = Decision()


class Faults:
    """Thread-safe fault rules. Every method returns None; arm several to combine them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._item_rate = 0.0
        self._item_statuses: tuple[int, ...] = (429,)
        self._rng = random.Random()

    # -- arming -------------------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 429, *, endpoint: str | None = None) -> None:
        """The next ``n`` requests (to ``endpoint``, or any) answer ``status`` (429, 503, 500, 502…)."""
        self._add(_Rule("status", endpoint, n, None, status=status))

    def fail_for(self, seconds: float, status: int = 503, *, endpoint: str | None = None) -> None:
        """Every request for ``seconds`` answers ``status``."""
        self._add(_Rule("status", endpoint, None, time.monotonic() + seconds, status=status))

    def drop_next(
        self,
        n: int = 1,
        *,
        endpoint: str | None = None,
        reset: bool = False,
        after_processing: bool = False,
    ) -> None:
        """Close the connection of the next ``n`` requests without answering.

        ``reset=True`` sends a TCP RST instead of a FIN. ``after_processing=True`` runs the request
        first (documents are written) and then drops the answer: the client cannot know it succeeded.
        """
        self._add(_Rule("drop", endpoint, n, None, reset=reset, after=after_processing))

    def drop_for(self, seconds: float, *, endpoint: str | None = None, reset: bool = False) -> None:
        """Drop every connection for ``seconds`` (requests are not processed)."""
        self._add(_Rule("drop", endpoint, None, time.monotonic() + seconds, reset=reset))

    def slow(
        self,
        delay: float,
        *,
        n: int | None = None,
        seconds: float | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Sleep ``delay`` seconds before handling requests: the next ``n``, or all for ``seconds``,
        or all until :meth:`clear`. The request is still processed after the sleep, as a slow
        cluster would, even when the client has given up."""
        until = time.monotonic() + seconds if seconds is not None else None
        self._add(_Rule("slow", endpoint, n, until, delay=delay))

    def bulk_item_failures(
        self, rate: float, statuses: Sequence[int] = (429,), *, seed: int | None = None
    ) -> None:
        """Fail each ``_bulk`` item with probability ``rate``, with a status drawn from ``statuses``
        (429 → ``es_rejected_execution_exception``, 400 → ``document_parsing_exception``,
        503 → ``unavailable_shards_exception``). ``rate=0`` turns it off."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        with self._lock:
            self._item_rate = rate
            self._item_statuses = tuple(statuses) or (429,)
            self._rng = random.Random(seed)

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._rules.clear()
            self._item_rate = 0.0

    def apply(self, action: str, args: dict[str, Any]) -> None:
        """Arm a rule from its method name and keyword arguments (the admin HTTP endpoint)."""
        allowed = {"fail_next", "fail_for", "drop_next", "drop_for", "slow", "bulk_item_failures", "clear"}
        if action not in allowed:
            raise ValueError(f"unknown fault action {action!r}; expected one of {sorted(allowed)}")
        if "statuses" in args:
            args = {**args, "statuses": tuple(args["statuses"])}
        getattr(self, action)(**args)

    # -- querying (HTTP layer) ------------------------------------------------------------------
    def decide(self, endpoint: str) -> Decision:
        now = time.monotonic()
        with self._lock:
            if not self._rules:
                return NO_FAULT
            self._rules = [r for r in self._rules if r.alive(now)]
            delay = 0.0
            chosen: _Rule | None = None
            for rule in self._rules:
                if rule.endpoint is not None and rule.endpoint != endpoint:
                    continue
                if rule.kind == "slow":
                    delay += rule.delay
                    rule.consume()
                elif chosen is None:
                    chosen = rule
                    rule.consume()
        if chosen is None:
            return Decision(delay=delay) if delay else NO_FAULT
        if chosen.kind == "status":
            return Decision(delay=delay, status=chosen.status)
        return Decision(delay=delay, drop=True, reset=chosen.reset, drop_after=chosen.after)

    def item_failure(self) -> int | None:
        """Status to fail one ``_bulk`` item with, or None."""
        if self._item_rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() < self._item_rate:
                return self._rng.choice(self._item_statuses)
        return None

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)
