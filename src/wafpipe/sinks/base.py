"""What every sink implements (DESIGN §1, §2).

A sink takes a :class:`~wafpipe.model.Batch` and returns only when it is durable (committed,
acknowledged by the cluster, or fsync'd to the sink's own spool). Sinks are idempotent on the event
id: writing the same id twice keeps the first document ("first write wins"). An event a sink
refuses for a reason retrying cannot fix (a mapping error) comes back as a
:class:`~wafpipe.model.Problem` of kind ``sink_rejected`` holding the document, so only a sink
that reads documents (:attr:`Sink.needs_documents`) refuses events one by one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from wafpipe.model import Batch, Problem


@dataclass
class WriteResult:
    written: int = 0  # newly stored
    duplicates: int = 0  # already present (first write wins)
    spooled: int = 0  # durably queued for a background sender
    rejected: list[Problem] = field(default_factory=list)  # kind "sink_rejected", document in raw


class Sink(ABC):
    """Base class: ``open`` once, ``write`` batches (durable on return), ``close`` once."""

    name: str = "sink"
    # Whether ``write`` reads ``Batch.documents`` (the JSON document of each event). The collector
    # has the decode workers render documents only when a configured sink says so, since they are
    # most of a Batch's bytes. True by default, so a sink that does not say is never handed a
    # Batch without them; a sink that takes the columns (DuckDB) sets it False.
    needs_documents: bool = True

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire connections/files; called once before the first write."""

    @abstractmethod
    def write(self, batch: Batch) -> WriteResult:
        """Make ``batch`` durable; raise :class:`wafpipe.errors.SinkError` when it cannot."""

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver anything spooled; True when nothing is left undelivered."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; must be safe to call twice."""
