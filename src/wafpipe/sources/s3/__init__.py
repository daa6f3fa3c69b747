"""An Amazon S3 (or S3-compatible) bucket as a source: ``type = "s3"``.

:mod:`.config` is its ``[[sources]]`` table, :mod:`.client` the boto3 client and its errors,
:mod:`.source` the runner. Files are fetched into the bounded spool of
:mod:`wafpipe.sources.remote.spool`.
"""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sources.remote.base import spool_and_state
from wafpipe.sources.s3.client import make_client
from wafpipe.sources.s3.config import S3SourceConfig
from wafpipe.sources.s3.source import S3Source


def build(config: S3SourceConfig, context: Context) -> S3Source:
    spool, state = spool_and_state(config, context, "s3")
    return S3Source(config, make_client(config), spool, state, on_problem=context.on_source_problem)


COMPONENT = Component("s3", S3SourceConfig, build)

__all__ = ["COMPONENT", "S3Source", "S3SourceConfig", "build"]
