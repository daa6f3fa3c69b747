"""The query tree: what :mod:`.parser` makes of query text, what :mod:`wafpipe.detect` makes of a
Sigma rule's detection, and what :mod:`.sql` compiles to a parameterised ``WHERE``. Values keep
their text as typed and the positions of their wildcards; fields are names, resolved only by the
compiler against the allow-list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Value:
    """A value as typed: ``text`` unescaped; ``wild`` the positions of wildcard ``*``/``?``."""

    text: str
    col: int
    quoted: bool = False
    wild: tuple[int, ...] = ()
    nocase: bool = False  # a text value matched whatever its case (Sigma's rule); typed text is exact

    @property
    def is_wildcard(self) -> bool:
        return bool(self.wild)

    @property
    def is_star(self) -> bool:
        """A lone unescaped ``*``: "any value" (exists / open range bound)."""
        return self.text == "*" and self.wild == (0,)


@dataclass(frozen=True, slots=True)
class Match:
    """``field:value``; ``field`` None for free text over the whole document."""

    field: str | None
    value: Value
    col: int


@dataclass(frozen=True, slots=True)
class Exists:
    field: str
    col: int


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: str  # < <= > >=
    value: Value
    col: int


@dataclass(frozen=True, slots=True)
class Range:
    field: str
    lo: Value | None  # None: open
    hi: Value | None
    lo_incl: bool
    hi_incl: bool
    col: int


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class All:
    """The empty query or a lone ``*``: every event."""


@dataclass(frozen=True, slots=True)
class Regex:
    """``field`` matches the regular expression ``pattern`` (RE2 syntax, DuckDB's; flags inline as
    ``(?i)``). Not in the query text's grammar: made from a Sigma rule's ``|re``."""

    field: str
    pattern: str
    col: int = 0


Node = Union[Match, Exists, Compare, Range, And, Or, Not, All, Regex]  # noqa: UP007 - used at runtime
