"""The types every stage shares, one form each (DESIGN §1).

Nothing here imports a stage: sources, decoders, sinks, the store and the collector all import
this module, never each other, to agree on what a file, a problem and a component are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

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
