"""The period a report covers (whole UTC days) and how its times are written (ISO 8601, UTC, ``Z``):
one place, so every section agrees on both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class Period:
    """Whole UTC days, both ends included: ``[start, end)`` with ``end`` the midnight after ``last``."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime(self.last.year, self.last.month, self.last.day, tzinfo=UTC) + timedelta(days=1)

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    def holds(self, epoch_s: float | None) -> bool:
        return epoch_s is not None and self.start.timestamp() <= epoch_s < self.end.timestamp()

    def meets(self, start_ms: int | None, end_ms: int | None) -> bool:
        """A window (None ends: open) that overlaps the period."""
        return (start_ms is None or start_ms < self.end_ms) and (end_ms is None or end_ms >= self.start_ms)


def iso(value: float | datetime | None, *, ms: bool = False) -> str | None:
    """UTC ISO 8601 with a ``Z``; ``value`` in epoch seconds (or milliseconds with ``ms``)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value / 1000 if ms else value, UTC)
    value = value.astimezone(UTC)
    spec = "milliseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")
