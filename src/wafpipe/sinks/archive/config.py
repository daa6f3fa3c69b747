"""What a ``[[sinks]]`` table of ``type = "archive"`` accepts: a directory that keeps every event as
Parquet, partitioned by day and site, with a hash-chained manifest (:mod:`.manifest`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wafpipe.config.base import PathField, SinkConfigBase


class ArchiveSinkConfig(SinkConfigBase):
    type: Literal["archive"] = "archive"
    path: PathField  # the archive's root directory (created when missing)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    # Parquet row groups: bigger reads faster in DuckDB/Spark/Athena, smaller keeps memory flat
    row_group_rows: int = Field(100_000, ge=1_000, le=10_000_000)
