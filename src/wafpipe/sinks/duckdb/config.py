"""What a ``[[sinks]]`` table of ``type = "duckdb"`` accepts: the embedded store."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from wafpipe.config.base import NamespaceRule, PathField, SinkConfigBase, _namespace
from wafpipe.store.retention import Days, Retention, Routing

_SIZE = re.compile(r"^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$", re.I)


DEFAULT_STORE_NAME = "wafpipe.duckdb"  # under data_dir, when ``path`` is not set
# DuckDB's memory_limit for the writer and the API's reads (why 128MB: docs/architecture.md "Memory")
DEFAULT_MEMORY_LIMIT = "128MB"


class DuckDBSinkConfig(SinkConfigBase):
    type: Literal["duckdb"] = "duckdb"
    path: PathField | None = None  # None → <data_dir>/DEFAULT_STORE_NAME
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    # One thread appends as fast as two or faster (17-19 % less CPU at large commits) and leaves the
    # other core to the decode workers; queries through the collector's API share it.
    threads: int | None = Field(1, ge=1)
    # one number for both datasets, or {security = …, access = …}; unset keeps everything
    retention_days: Days | Retention | None = None
    # which namespace an event is in, for retention_days.namespaces: the cluster sinks' keys, same meaning
    namespace: str = "default"
    namespace_rules: list[NamespaceRule] = Field(default_factory=list)

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return _namespace(v)

    @model_validator(mode="after")
    def _overrides_reachable(self) -> DuckDBSinkConfig:
        """A retention for a namespace no event reaches is a typo that would leave the namespace it
        meant under the default retention (perhaps shorter): refused, naming those that exist."""
        own = self.retention_days.namespaces if isinstance(self.retention_days, Retention) else {}
        known = self.routing().namespaces()
        for name in own:
            if name not in known:
                raise ValueError(f"retention_days.namespaces.{name}: no event reaches namespace {name!r} (this "
                                 f"sink's namespace and namespace_rules give {', '.join(known)})")
        return self

    def routing(self) -> Routing:
        """How the store tells an event's namespace (:mod:`wafpipe.store.retention.namespaces`)."""
        return Routing.of(self.namespace, self.namespace_rules)

    @field_validator("memory_limit")
    @classmethod
    def _mem(cls, v: str) -> str:
        if not _SIZE.match(v.strip()):
            raise ValueError(f"must be a size such as '256MB' or '2GiB', got {v!r}")
        return v.strip()
