"""The compliance archive as a sink: ``type = "archive"`` — every event as Parquet by day and site,
in a hash-chained manifest that ``wafpipe archive verify`` checks; in a directory or an S3 bucket
(with Object Lock where the bucket has it), one logic over both (:mod:`.storage`, :mod:`.s3`)."""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sinks.archive.config import ArchiveS3Config, ArchiveSinkConfig
from wafpipe.sinks.archive.s3 import S3Storage
from wafpipe.sinks.archive.sink import ArchiveSink
from wafpipe.sinks.archive.storage import LocalStorage, Storage


def storage_of(config: ArchiveSinkConfig) -> Storage:
    """The storage an ``[[sinks]]`` table of type ``archive`` names: its directory or its bucket."""
    if config.s3 is not None:
        return S3Storage(config.s3)
    assert config.path is not None
    return LocalStorage(config.path)


def build(config: ArchiveSinkConfig, context: Context) -> ArchiveSink:
    return ArchiveSink(storage_of(config), compression=config.compression, row_group_rows=config.row_group_rows,
                       keep_originals=context.keep_raw_files)


COMPONENT = Component("archive", ArchiveSinkConfig, build)

__all__ = ["COMPONENT", "ArchiveS3Config", "ArchiveSink", "ArchiveSinkConfig", "S3Storage", "build", "storage_of"]
