"""Sources: where Imperva files come from. ``build_sources`` turns ``[[sources]]`` into objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wafpipe.errors import ConfigError
from wafpipe.sources.base import FileRef, Source, SourceProblem

if TYPE_CHECKING:
    from wafpipe.config import Config

__all__ = ["FileRef", "Source", "SourceProblem", "build_sources"]


def build_sources(config: Config, on_problem: Callable[[SourceProblem], None] | None = None) -> list[Source]:
    out: list[Source] = []
    for entry in config.sources:
        if entry.type == "directory":
            from wafpipe.sources.directory import DirectorySource

            out.append(DirectorySource(entry, on_problem=on_problem))
        else:
            raise ConfigError(
                f"source type {entry.type!r} is configured but not available in this version",
                hint="use a directory source (the SFTP landing directory)",
            )
    return out
