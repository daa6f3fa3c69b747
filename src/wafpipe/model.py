"""The types every stage shares, one form each (DESIGN §1).

Nothing here imports a stage: sources, decoders, sinks, the store and the collector all import
this module, never each other, to agree on what a file, a problem and a component are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import orjson
from pydantic import BaseModel

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class StateRecorder(Protocol):
    """What a component may record in the collector's state: dead letters and its health."""

    def add_dead_letters(self, records: list[dict[str, Any]]) -> Any: ...

    def set_health(self, component: str, **fields: Any) -> None: ...


@dataclass
class Context:
    """What a component may use besides its own table: given to every ``build(config, context)``.

    ``state`` is the collector's state database (None outside a collector, e.g. ``elastic setup``);
    ``on_source_problem`` receives a source's per-file problems so the collector counts them.
    """

    data_dir: Path
    state: StateRecorder | None = None
    on_source_problem: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class Component(Generic[ConfigT]):
    """One source or sink type: the model of its ``[[sources]]``/``[[sinks]]`` table and the function
    that builds its runner. A registry maps ``type`` to these; a type that is not registered is not
    accepted by the configuration."""

    type: str
    config: type[ConfigT]
    build: Callable[[ConfigT, Context], Any]


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
