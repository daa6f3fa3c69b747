"""What a ``[[sources]]`` table of ``type = "azure_blob"`` accepts: a container Imperva pushes to."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from wafpipe.config.base import HttpUrl
from wafpipe.sources.remote.config import RemoteSourceConfigBase


class AzureBlobSourceConfig(RemoteSourceConfigBase):
    type: Literal["azure_blob"] = "azure_blob"
    # https://<account>.blob.core.windows.net (not needed with a connection string, which names it)
    account_url: HttpUrl | None = None
    container: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.gz"])
    # One way to authenticate, each from an environment variable: a connection string, the account
    # key (with account_url), or a SAS token (with account_url).
    connection_string_env: str | None = None
    account_key_env: str | None = None
    sas_token_env: str | None = None
    poll_interval_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    max_backoff_s: float = Field(300.0, gt=0)
    after: Literal["keep", "delete"] = "keep"

    @model_validator(mode="after")
    def _one_way_in(self) -> AzureBlobSourceConfig:
        ways = [k for k in ("connection_string_env", "account_key_env", "sas_token_env") if getattr(self, k)]
        if len(ways) != 1:
            raise ValueError("name exactly one of connection_string_env, account_key_env or sas_token_env "
                             f"(got {', '.join(ways) or 'none'})")
        if ways[0] != "connection_string_env" and self.account_url is None:
            raise ValueError(f"account_url is required with {ways[0]}")
        return self
