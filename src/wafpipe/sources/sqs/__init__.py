"""S3 event notifications on an SQS queue as a source: ``type = "sqs"``. Several collectors on one
queue share the work (competing consumers).

:mod:`.config` is its ``[[sources]]`` table, :mod:`.source` the runner; the clients and their errors
are the ``s3`` source's (:mod:`wafpipe.sources.s3.client`).
"""

from __future__ import annotations

from wafpipe.errors import ConfigError
from wafpipe.model import Component, Context
from wafpipe.sources.remote.spool import Spool
from wafpipe.sources.s3.client import make_client
from wafpipe.sources.sqs.config import SqsSourceConfig
from wafpipe.sources.sqs.source import SqsSource


def build(config: SqsSourceConfig, context: Context) -> SqsSource:
    if context.state is None:
        raise ConfigError("the sqs source keeps its progress in the collector's state: run it with `wafpipe run`")
    name = config.name or "sqs"
    spool = Spool(config.spool_path(context.data_dir, name), max_bytes=config.spool_max_bytes,
                  max_files=config.spool_max_files)
    return SqsSource(config, make_client(config, "sqs"), make_client(config, "s3"), spool, context.state,
                     on_problem=context.on_source_problem)


COMPONENT = Component("sqs", SqsSourceConfig, build)

__all__ = ["COMPONENT", "SqsSource", "SqsSourceConfig", "build"]
