"""What every sink implements (DESIGN §1, §2).

A sink takes a batch of ECS documents and returns only when the batch is durable (committed,
acknowledged by the cluster, or fsync'd to the sink's own spool). Sinks are idempotent on the event
id: writing the same id twice keeps the first document ("first write wins").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson


class Event:
    """One ECS document and its deterministic id (DESIGN §2). ``doc`` never holds ``_id``.

    Decode workers also fill ``json`` (the serialised document) and ``row`` (the embedded store's
    typed column values) with :meth:`prepare`, so the collector process, which owns the sinks,
    neither re-serialises the document nor unpickles it: across a process boundary an event
    travels as ``(id, json, row)`` and ``doc`` is parsed back only if something asks for it.
    """

    __slots__ = ("id", "_doc", "json", "row")

    def __init__(
        self, id: str, doc: dict[str, Any] | None, json: bytes | None = None, row: tuple[Any, ...] | None = None
    ) -> None:
        self.id = id
        self._doc = doc
        self.json = json
        self.row = row

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = orjson.loads(self.json or b"{}")
        return self._doc

    def prepare(self, row: Callable[[Event], tuple[Any, ...]] | None = None) -> Event:
        """Serialise once (and compute the store's row) where the CPU is: in the decode worker."""
        if self.json is None:
            self.json = orjson.dumps(self.doc, default=str)
        if row is not None and self.row is None:
            self.row = row(self)
        self._doc = None  # the parsed form is rebuilt from json only if someone asks: memory
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        if self.json is not None:
            return (Event, (self.id, None, self.json, self.row))
        return (Event, (self.id, self._doc, None, self.row))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and other.id == self.id and other.doc == self.doc

    def __repr__(self) -> str:
        return f"Event(id={self.id!r})"


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
