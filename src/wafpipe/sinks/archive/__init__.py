"""The compliance archive as a sink: ``type = "archive"`` — every event as Parquet by day and site,
in a hash-chained manifest that ``wafpipe archive verify`` checks."""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sinks.archive.config import ArchiveSinkConfig
from wafpipe.sinks.archive.sink import ArchiveSink


def build(config: ArchiveSinkConfig, context: Context) -> ArchiveSink:
    return ArchiveSink(config.path, compression=config.compression, row_group_rows=config.row_group_rows)


COMPONENT = Component("archive", ArchiveSinkConfig, build)

__all__ = ["COMPONENT", "ArchiveSink", "ArchiveSinkConfig", "build"]
