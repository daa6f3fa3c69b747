"""What the one-thread senders of the forwarding sinks (syslog, Splunk HEC) share: their counters,
their backoff and how they report failing and recovering.

Why shared: the collector's report, ``/api/health`` and ``wafpipe doctor`` read every spooling
sink the same way (``stats.written``, ``stats.failing_since``, ``stats.last_error``, the
``sink.<name>`` health record), so each sender must keep them the same way.
"""

from __future__ import annotations

import logging
import random
import threading
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
    """Counts and reports one sender's failures and recoveries: a warning when failing starts and
    one when delivering resumes (not one per retry), and the state's health record."""

    def __init__(self, name: Callable[[], str], log: logging.Logger, pending: Callable[[], int],
                 state: StateRecorder | None, redact: Callable[[str], str] = str) -> None:  # fmt: skip
        self.stats = SenderStats()
        self._name = name  # the sink's name, read each time (build_sinks renames sinks)
        self._log = log
        self._pending = pending
        self._state = state
        self._redact = redact

    def failed(self, message: str) -> None:
        now = clock.now()
        message = self._redact(message)
        with self.stats.lock:
            self.stats.failed_requests += 1
            self.stats.last_error = message
            first = self.stats.failing_since is None
            if first:
                self.stats.failing_since = now
        if first:
            self._log.warning("%s: %s; %d bytes wait in the spool, retrying", self._name(), message, self._pending())
            self._health(last_error=now, error=message)

    def delivered(self, n: int) -> None:
        with self.stats.lock:
            self.stats.written += n
            since, self.stats.failing_since = self.stats.failing_since, None
        if since is not None:
            self._log.info("%s: delivering again after %.0f s of failures", self._name(), clock.now() - since)
            self._health(last_success=clock.now())

    def _health(self, **fields: object) -> None:
        if self._state is None:
            return
        try:
            self._state.set_health(f"sink.{self._name()}", **fields)
        except Exception as exc:  # noqa: BLE001 - health is best effort, never a reason to stop sending
            self._log.debug("%s: cannot record health: %s", self._name(), exc)
