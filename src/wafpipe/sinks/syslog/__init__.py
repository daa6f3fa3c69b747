"""The syslog sink: ``type = "syslog"``. Each event as one syslog message (RFC 5424 or RFC 3164;
CEF or the JSON document) over UDP, TCP or TLS, from an fsync'd spool by a background sender."""

from __future__ import annotations

import ssl
from pathlib import Path

from wafpipe.errors import ConfigError
from wafpipe.model import Component, Context
from wafpipe.sinks.syslog.config import SyslogSinkConfig
from wafpipe.sinks.syslog.messages import Header
from wafpipe.sinks.syslog.sink import SyslogSink
from wafpipe.sinks.syslog.transport import Connection, tls_context


def build(config: SyslogSinkConfig, context: Context) -> SyslogSink:
    """A :class:`SyslogSink` for a ``[[sinks]]`` entry; a TLS context (its CA and client
    certificate files) is loaded now, so a bad file is an error before anything starts."""
    try:
        ctx = tls_context(config.ca_file, config.cert_file, config.key_file) if config.transport == "tls" else None
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{config.name or config.type}: cannot load its TLS files (ca_file, cert_file, key_file): "
                          f"{getattr(exc, 'strerror', None) or exc}") from exc  # fmt: skip
    connection = Connection(
        config.address, config.transport, config.framing, timeout=config.timeout_s, context=ctx,
        server_name=config.server_name, trust=f"ca_file {config.ca_file}" if config.ca_file else "the system's trust store",
        client_cert=config.cert_file is not None,
    )  # fmt: skip
    spool_dir = Path(config.spool_dir) if config.spool_dir else config.default_spool_dir(context.data_dir)
    return SyslogSink(
        connection, name=config.name or config.type, spool_dir=spool_dir, header=Header.of(config),
        fmt=config.format, batch_size=config.batch_size, spool_max_bytes=config.spool_max_bytes, state=context.state,
    )  # fmt: skip


COMPONENT = Component("syslog", SyslogSinkConfig, build)

__all__ = ["COMPONENT", "SyslogSink", "SyslogSinkConfig"]
