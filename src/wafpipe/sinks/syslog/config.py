"""What a ``[[sinks]]`` table of ``type = "syslog"`` accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from wafpipe.config.base import PathField, SinkConfigBase
from wafpipe.sinks.syslog.framing import Facility, Severity

DEFAULT_PORTS = {"udp": 514, "tcp": 514, "tls": 6514}


class SyslogSinkConfig(SinkConfigBase):
    """Every event as one syslog message (CEF or JSON) to one receiver, through the sink's spool."""

    type: Literal["syslog"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)  # None → 514 (udp, tcp) or 6514 (tls)
    transport: Literal["udp", "tcp", "tls"] = "tcp"
    framing: Literal["octet_counting", "newline"] = "octet_counting"  # tcp and tls only
    protocol: Literal["rfc5424", "rfc3164"] = "rfc5424"
    format: Literal["cef", "json"] = "cef"
    app_name: str = Field("wafpipe", min_length=1, max_length=48)
    hostname: str | None = None  # None → this machine's name
    facility: Facility = "local0"
    severity: Severity = "informational"
    ca_file: PathField | None = None  # tls: None → the system's trust store
    server_name: str | None = None  # tls: the name the certificate must hold; None → host
    cert_file: PathField | None = None  # tls: a client certificate (with key_file)
    key_file: PathField | None = None
    spool_dir: PathField | None = None  # None → <data_dir>/spool/<sink name>
    spool_max_bytes: int = Field(1 << 30, ge=1 << 20)
    batch_size: int = Field(500, ge=1)  # messages per send
    timeout_s: float = Field(10.0, gt=0)

    def default_spool_dir(self, data_dir: Path) -> Path:
        """``<data_dir>/spool/<sink name>``, as for the cluster sinks."""
        return data_dir / "spool" / str(self.name or self.type)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port or DEFAULT_PORTS[self.transport]

    @model_validator(mode="after")
    def _tls(self) -> SyslogSinkConfig:
        tls_only = [k for k in ("ca_file", "server_name", "cert_file", "key_file") if getattr(self, k) is not None]
        if tls_only and self.transport != "tls":
            raise ValueError(f"{', '.join(tls_only)} apply to transport = \"tls\" only")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        return self
