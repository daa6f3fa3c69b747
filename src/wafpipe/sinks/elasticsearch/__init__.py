"""Elasticsearch and OpenSearch sinks: ``type = "elasticsearch"`` and ``type = "opensearch"``.

One client interface, one fsync'd spool and background senders serve both engines; ``setup``
installs the templates and lifecycle policies generated from the field table.
"""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sinks.elasticsearch.config import ElasticsearchSinkConfig, OpenSearchSinkConfig
from wafpipe.sinks.elasticsearch.sink import ClusterSink, build_cluster_sink


def build(config: ElasticsearchSinkConfig | OpenSearchSinkConfig, context: Context) -> ClusterSink:
    return build_cluster_sink(config, context)


ELASTICSEARCH = Component("elasticsearch", ElasticsearchSinkConfig, build)
OPENSEARCH = Component("opensearch", OpenSearchSinkConfig, build)

__all__ = ["ELASTICSEARCH", "OPENSEARCH", "ClusterSink", "ElasticsearchSinkConfig", "OpenSearchSinkConfig"]
