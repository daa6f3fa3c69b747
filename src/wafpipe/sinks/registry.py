"""Every sink type, keyed by the ``type`` of its ``[[sinks]]`` table (DESIGN §3).

A new sink is one package with a config model and a runner, and one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wafpipe.model import Component, Context
from wafpipe.sinks import archive, duckdb, elasticsearch, splunk_hec, syslog
from wafpipe.sinks.base import Sink

if TYPE_CHECKING:
    from wafpipe.config.root import Config

COMPONENTS: dict[str, Component[Any]] = {
    c.type: c for c in (duckdb.COMPONENT, elasticsearch.ELASTICSEARCH, elasticsearch.OPENSEARCH, archive.COMPONENT,
                          syslog.COMPONENT, splunk_hec.COMPONENT)
}


def build_sinks(config: Config, context: Context) -> list[Sink]:
    """One runner per ``[[sinks]]`` entry (the root table adds a DuckDB sink when there is none)."""
    sinks: list[Sink] = []
    for entry in config.sinks:
        sink: Sink = COMPONENTS[entry.type].build(entry, context)
        sink.name = entry.name or entry.type
        sinks.append(sink)
    return sinks
