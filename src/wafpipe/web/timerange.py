"""The UI's time range: a named range (``15m`` … ``30d``, ``all``) or a custom since/until, as
text the read side understands. One definition, used by every page and its links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from wafpipe import clock

RANGES: dict[str, timedelta | None] = {
    "15m": timedelta(minutes=15), "1h": timedelta(hours=1), "6h": timedelta(hours=6),
    "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "all": None,
}
LABELS = {"15m": "last 15 minutes", "1h": "last hour", "6h": "last 6 hours", "24h": "last 24 hours",
          "7d": "last 7 days", "30d": "last 30 days", "all": "all time", "custom": "custom"}
DEFAULT = "all"  # the store's whole span: a first look (and the demo) always shows data


@dataclass(frozen=True)
class TimeRange:
    name: str  # a key of RANGES, or "custom"
    since: str | None  # ISO text for the read side, or None (open)
    until: str | None

    @classmethod
    def parse(cls, name: str | None, since: str | None, until: str | None) -> TimeRange:
        if since or until:
            return cls("custom", since or None, until or None)
        name = name if name in RANGES else DEFAULT
        span = RANGES[name]
        if span is None:
            return cls(name, None, None)
        start = clock.utcnow() - span
        return cls(name, start.isoformat().replace("+00:00", "Z"), None)

    def params(self) -> dict[str, str]:
        """What links carry to keep the range (a named one stays relative to now)."""
        if self.name == "custom":
            return {k: v for k, v in (("since", self.since), ("until", self.until)) if v}
        return {"range": self.name}

    def query(self, **extra: str) -> str:
        return urlencode({**self.params(), **{k: v for k, v in extra.items() if v}})
