"""The Splunk HTTP Event Collector sink: ``type = "splunk_hec"``. Each event's ECS document as a HEC
event, from an fsync'd spool by a background sender, with optional indexer acknowledgement."""

from __future__ import annotations

import ssl
from pathlib import Path

from wafpipe.errors import ConfigError
from wafpipe.model import Component, Context
from wafpipe.sinks.splunk_hec.client import HecClient
from wafpipe.sinks.splunk_hec.config import SplunkHecSinkConfig
from wafpipe.sinks.splunk_hec.sink import HecOptions, SplunkHecSink


def build(config: SplunkHecSinkConfig, context: Context) -> SplunkHecSink:
    """A :class:`SplunkHecSink` for a ``[[sinks]]`` entry. The token is read from the environment
    now, so a missing variable is a configuration error (naming the variable, never a value)."""
    token = config.secret("token")
    assert token is not None
    verify: bool | Path = Path(config.ca_file) if config.ca_file and config.verify_certs else config.verify_certs
    try:
        client = HecClient(config.url, token, ack=config.ack, verify=verify, timeout=config.timeout_s)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{config.name or config.type}: cannot load ca_file {config.ca_file}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from exc  # fmt: skip
    options = HecOptions(
        sourcetype=config.sourcetype, index=config.index, source=config.source, host=config.host, ack=config.ack,
        ack_timeout_s=config.ack_timeout_s, batch_size=config.batch_size, spool_max_bytes=config.spool_max_bytes,
    )  # fmt: skip
    spool_dir = Path(config.spool_dir) if config.spool_dir else config.default_spool_dir(context.data_dir)
    return SplunkHecSink(client, name=config.name or config.type, spool_dir=spool_dir, options=options,
                         state=context.state)  # fmt: skip


COMPONENT = Component("splunk_hec", SplunkHecSinkConfig, build)

__all__ = ["COMPONENT", "SplunkHecSink", "SplunkHecSinkConfig"]
