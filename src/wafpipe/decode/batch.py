"""Events of one file → :class:`~wafpipe.model.Batch` es (the Python core; the native one builds
Batches directly).

Documents are serialised once, here in the decode worker where the CPU is, and the typed Arrow
columns are read from those bytes (:func:`wafpipe.fields.arrow.record_batch`), so the collector
process neither builds nor parses documents.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from wafpipe.fields.arrow import record_batch
from wafpipe.model import Batch, Event, FileInfo, Problem


class BatchBuilder:
    """Collects one slice of a file: events in line order and the problems met between them."""

    def __init__(self, file_key: str, start_ordinal: int = 0, *, documents: bool = True) -> None:
        self.file_key = file_key
        self.first_ordinal = start_ordinal
        self.next_ordinal = start_ordinal  # the resume point once this slice is acknowledged
        self.documents = documents
        self._ids: list[str] = []
        self._docs: list[bytes] = []
        self._problems: list[Problem] = []

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event: Event) -> None:
        """One decoded line: the resume point moves past it."""
        self.add_event(event)
        self.next_ordinal = event.doc["imperva"]["waf"]["file"]["ordinal"] + 1

    def add_event(self, event: Event) -> None:
        """An event without a line position (tools and tests): serialised once, here."""
        self._ids.append(event.id)
        self._docs.append(event.json or orjson.dumps(event.doc, default=str))  # default=str: never lose an event

    def add_problem(self, problem: Problem) -> None:
        self._problems.append(problem)
        if problem.ordinal is not None:
            self.next_ordinal = max(self.next_ordinal, problem.ordinal + 1)

    def build(
        self,
        *,
        final: bool = False,
        info: FileInfo | None = None,
        format: str | None = None,
        error: str | None = None,
    ) -> Batch:
        return Batch(
            self.file_key,
            record_batch(self._ids, self._docs),
            self._docs if self.documents else None,
            self.first_ordinal,
            self.next_ordinal,
            self._problems,
            final,
            info,
            format,
            error,
        )


def batch_of(events: Iterable[Event], file_key: str = "") -> Batch:
    """One Batch holding ``events`` (for tools and tests that have events in hand)."""
    builder = BatchBuilder(file_key)
    for event in events:
        builder.add_event(event)
    return builder.build()
