"""An Amazon S3 (or S3-compatible) bucket as a source: ``type = "s3"``.

:mod:`.config` is its ``[[sources]]`` table, :mod:`.client` the boto3 client and its errors,
:mod:`.source` the runner. Files are fetched into the bounded spool of
:mod:`wafpipe.sources.remote.spool`.
"""

from __future__ import annotations

from wafpipe.errors import ConfigError
from wafpipe.model import Component, Context
from wafpipe.sources.remote.spool import Spool
from wafpipe.sources.s3.client import make_client
from wafpipe.sources.s3.config import S3SourceConfig
from wafpipe.sources.s3.source import S3Source


def build(config: S3SourceConfig, context: Context) -> S3Source:
    if context.state is None:
        raise ConfigError("the s3 source keeps its progress in the collector's state: run it with `wafpipe run`")
    name = config.name or "s3"
    spool = Spool(config.spool_path(context.data_dir, name), max_bytes=config.spool_max_bytes,
                  max_files=config.spool_max_files)
    return S3Source(config, make_client(config), spool, context.state, on_problem=context.on_source_problem)


COMPONENT = Component("s3", S3SourceConfig, build)

__all__ = ["COMPONENT", "S3Source", "S3SourceConfig", "build"]
