"""S3 event notifications on an SQS queue as a source: ``type = "sqs"``. Several collectors on one
queue share the work (competing consumers).

:mod:`.config` is its ``[[sources]]`` table, :mod:`.source` the runner; the clients and their errors
are the ``s3`` source's (:mod:`wafpipe.sources.s3.client`).
"""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sources.remote.base import spool_and_state
from wafpipe.sources.s3.client import make_client
from wafpipe.sources.sqs.config import SqsSourceConfig
from wafpipe.sources.sqs.source import SqsSource


def build(config: SqsSourceConfig, context: Context) -> SqsSource:
    spool, state = spool_and_state(config, context, "sqs")
    return SqsSource(config, make_client(config, "sqs"), make_client(config, "s3"), spool, state,
                     on_problem=context.on_source_problem)


COMPONENT = Component("sqs", SqsSourceConfig, build)

__all__ = ["COMPONENT", "SqsSource", "SqsSourceConfig", "build"]
