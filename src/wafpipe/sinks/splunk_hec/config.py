"""What a ``[[sinks]]`` table of ``type = "splunk_hec"`` accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from wafpipe.config.base import HttpUrl, PathField, SinkConfigBase


class SplunkHecSinkConfig(SinkConfigBase):
    """Every event as one HEC event (the ECS document) to a Splunk HTTP Event Collector."""

    type: Literal["splunk_hec"]
    url: HttpUrl  # the HEC base URL, e.g. https://splunk.example.com:8088
    token_env: str = Field(min_length=1)  # the variable holding the HEC token, never the token
    sourcetype: str = "imperva:waf"
    index: str | None = None  # None → the token's default index
    source: str | None = None  # None → HEC's default (the token's source)
    host: str | None = None  # the events' host field; None → HEC's default
    ack: bool = False  # wait for indexer acknowledgement (/services/collector/ack) before the cursor moves
    ack_timeout_s: float = Field(300.0, gt=0)  # a request still unacknowledged then is sent again
    ca_file: PathField | None = None
    verify_certs: bool = True
    batch_size: int = Field(500, ge=1)  # events per request
    timeout_s: float = Field(30.0, gt=0)
    spool_dir: PathField | None = None  # None → <data_dir>/spool/<sink name>
    spool_max_bytes: int = Field(1 << 30, ge=1 << 20)

    def default_spool_dir(self, data_dir: Path) -> Path:
        return data_dir / "spool" / str(self.name or self.type)
