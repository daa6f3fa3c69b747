"""What the senders of every spooling sink (Elasticsearch/OpenSearch, syslog, Splunk HEC) share:
their counters, their backoff and how they report failing and recovering.

Why shared: the collector's report, ``/api/health`` and ``wafpipe doctor`` read every spooling
sink the same way (``stats.written``, ``stats.failing_since``, ``stats.last_error``, the
``sink.<name>`` health record), so each sender must keep them the same way.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wafpipe import clock

if TYPE_CHECKING:
    from wafpipe.model import StateRecorder


@dataclass
class SenderStats:
    written: int = 0  # events delivered
    duplicates: int = 0  # events of replayed Batches not spooled again
    dead_lettered: int = 0
    failed_requests: int = 0
    requests: int = 0
    last_error: str | None = None
    failing_since: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: half the doubled delay plus a random part of the other
    half, so many collectors do not retry in step."""
    delay = min(cap, base * 2 ** min(attempt, 30))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not security


class SenderHealth:
    """Counts and reports one sink's failures and recoveries, for all its sender threads: a warning
    when failing starts, again every ``RELOG_S`` while it lasts (with how long), and one when
    delivering resumes — not one per retry; the state's ``sink.<name>`` health record refreshed at
    most every ``HEALTH_S``. ``state`` may be set after construction (the sink learns it late)."""

    RELOG_S = 30.0
    HEALTH_S = 10.0

    def __init__(self, name: Callable[[], str], log: logging.Logger, pending: Callable[[], int],
                 state: StateRecorder | None, redact: Callable[[str], str] = str,
                 stats: SenderStats | None = None) -> None:  # fmt: skip
        self.stats = stats if stats is not None else SenderStats()
        self.state = state
        self._name = name  # the sink's name, read each time (build_sinks renames sinks)
        self._log = log
        self._pending = pending
        self._redact = redact
        self._last_log = float("-inf")  # time.monotonic() of the last warning
        self._last_health = float("-inf")  # and of the last health write

    def failed(self, message: str) -> None:
        now = clock.now()  # a time of day: recorded, compared with other components' times
        tick = time.monotonic()  # the rate limits
        message = self._redact(message)
        with self.stats.lock:
            self.stats.failed_requests += 1
            self.stats.last_error = message
            first = self.stats.failing_since is None
            if first:
                self.stats.failing_since = now
            since = self.stats.failing_since or now
            relog = first or tick - self._last_log >= self.RELOG_S
            if relog:
                self._last_log = tick
            refresh = tick - self._last_health >= self.HEALTH_S
            if refresh:
                self._last_health = tick
        if relog:
            extra = "" if first else f" (failing for {now - since:.0f} s)"
            self._log.warning("%s: %s%s; %d bytes wait in the spool, retrying", self._name(), message, extra,
                              self._pending())  # fmt: skip
        if refresh:
            self._health(last_error=now, error=message)

    def recovered(self) -> bool:
        """Delivering works (again); True when it had been failing (said once, here)."""
        with self.stats.lock:
            since, self.stats.failing_since = self.stats.failing_since, None
        if since is None:
            return False
        now = clock.now()
        self._log.info("%s: delivering again after %.0f s of failures", self._name(), now - since)
        self._last_health = time.monotonic()
        self._health(last_success=now)
        return True

    def delivered(self, n: int) -> None:
        with self.stats.lock:
            self.stats.written += n
        self.recovered()

    def _health(self, **fields: object) -> None:
        """Best effort: component health for ``wafpipe doctor``; never a reason to stop sending."""
        if self.state is None:
            return
        try:
            self.state.set_health(f"sink.{self._name()}", **fields)
        except Exception as exc:  # noqa: BLE001 - e.g. the state closed while the sink shuts down
            self._log.debug("%s: cannot record health: %s", self._name(), exc)
