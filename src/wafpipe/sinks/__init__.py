"""Sinks: where ECS documents go. ``build_sinks`` turns the ``[[sinks]]`` config into objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wafpipe.sinks.base import DeadLetter, Event, Sink, WriteResult

if TYPE_CHECKING:
    from wafpipe.config import Config

__all__ = ["DeadLetter", "Event", "Sink", "WriteResult", "build_sinks"]


def build_sinks(config: Config, *, state: object | None = None) -> list[Sink]:
    """One sink object per ``[[sinks]]`` entry; a DuckDB sink when none is configured."""
    from wafpipe.config import DuckDBSinkConfig

    sinks: list[Sink] = []
    entries = list(config.sinks) or [DuckDBSinkConfig()]
    for entry in entries:
        kind = entry.type
        if kind == "duckdb":
            from wafpipe.sinks.duckdb import DuckDBSink

            sink: Sink = DuckDBSink(
                entry.path or config.data_dir / "wafpipe.duckdb",
                memory_limit=entry.memory_limit,
                threads=entry.threads,
                retention_days=entry.retention_days,
            )
        elif kind in ("elasticsearch", "opensearch"):
            from wafpipe.sinks.elasticsearch import build_cluster_sink

            sink = build_cluster_sink(entry, config, state=state)  # type: ignore[arg-type]
        else:
            from wafpipe.errors import ConfigError

            raise ConfigError(f"sink type {kind!r} is not available in this version", hint="use duckdb")
        if getattr(entry, "name", None):
            sink.name = entry.name
        sinks.append(sink)
    return sinks
