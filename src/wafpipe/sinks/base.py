"""What every sink implements (DESIGN §1, §2).

A sink takes a batch of ECS documents and returns only when the batch is durable (committed,
acknowledged by the cluster, or fsync'd to the sink's own spool). Sinks are idempotent on the event
id: writing the same id twice keeps the first document ("first write wins").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from wafpipe.model import Event


@dataclass
class DeadLetter:
    """An event a sink refused for a reason that retrying cannot fix (e.g. a mapping error)."""

    event: Event
    reason: str


@dataclass
class WriteResult:
    written: int = 0  # newly stored
    duplicates: int = 0  # already present (first write wins)
    spooled: int = 0  # durably queued for a background sender
    dead_letters: list[DeadLetter] = field(default_factory=list)


class Sink(ABC):
    """Base class: ``open`` once, ``write`` batches (durable on return), ``close`` once."""

    name: str = "sink"

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire connections/files; called once before the first write."""

    @abstractmethod
    def write(self, batch: list[Event]) -> WriteResult:
        """Make ``batch`` durable; raise :class:`wafpipe.errors.SinkError` when it cannot."""

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver anything spooled; True when nothing is left undelivered."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; must be safe to call twice."""
