"""What a ``[[sinks]]`` table of ``type = "duckdb"`` accepts: the embedded store."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from wafpipe.config.base import PathField, SinkConfigBase
from wafpipe.store.retention import Days, Retention

_SIZE = re.compile(r"^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$", re.I)


DEFAULT_STORE_NAME = "wafpipe.duckdb"  # under data_dir, when ``path`` is not set


class DuckDBSinkConfig(SinkConfigBase):
    type: Literal["duckdb"] = "duckdb"
    path: PathField | None = None  # None → <data_dir>/DEFAULT_STORE_NAME
    memory_limit: str = "256MB"
    # One thread appends as fast as two or faster (17-19 % less CPU at large commits) and leaves the
    # other core to the decode workers; queries through the collector's API share it.
    threads: int | None = Field(1, ge=1)
    # one number for both datasets, or {security = …, access = …}; unset keeps everything
    retention_days: Days | Retention | None = None

    @field_validator("memory_limit")
    @classmethod
    def _mem(cls, v: str) -> str:
        if not _SIZE.match(v.strip()):
            raise ValueError(f"must be a size such as '256MB' or '2GiB', got {v!r}")
        return v.strip()
