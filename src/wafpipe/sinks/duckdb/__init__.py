"""The embedded store as a sink: ``type = "duckdb"`` (the default when no sink is configured)."""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sinks.duckdb.config import DEFAULT_STORE_NAME, DuckDBSinkConfig
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store.retention import Retention


def build(config: DuckDBSinkConfig, context: Context) -> DuckDBSink:
    return DuckDBSink(
        config.path or context.data_dir / DEFAULT_STORE_NAME,
        memory_limit=config.memory_limit,
        threads=config.threads,
        retention=Retention.of(config.retention_days),
        routing=config.routing(),
    )


COMPONENT = Component("duckdb", DuckDBSinkConfig, build)

__all__ = ["COMPONENT", "DEFAULT_STORE_NAME", "DuckDBSink", "DuckDBSinkConfig", "build"]
