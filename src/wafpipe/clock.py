"""The one clock (DESIGN §8): everything that compares with "now" reads it.

Freshness, silence gaps, retention, schedules, baselines and visibility timeouts all call
:func:`now`; ``WAFPIPE_NOW`` (an ISO 8601 time) fixes it in tests, so no test waits for real time
to pass. Durations measured inside one process (timeouts, batch age) use ``time.monotonic`` and
are not "now".
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime


def _fixed() -> float | None:
    value = os.environ.get("WAFPIPE_NOW")
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"WAFPIPE_NOW={value!r} is not an ISO 8601 time such as 2024-06-10T06:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def now() -> float:
    """Seconds since the epoch: ``WAFPIPE_NOW`` when set, else the system clock."""
    fixed = _fixed()
    return time.time() if fixed is None else fixed


def utcnow() -> datetime:
    """:func:`now` as an aware UTC datetime."""
    return datetime.fromtimestamp(now(), UTC)
