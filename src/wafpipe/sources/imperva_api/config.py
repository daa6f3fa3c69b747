"""What a ``[[sources]]`` table of ``type = "imperva_api"`` accepts: pull from Imperva's log API."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wafpipe.config.base import HttpUrl
from wafpipe.sources.remote.config import RemoteSourceConfigBase


class ImpervaApiSourceConfig(RemoteSourceConfigBase):
    type: Literal["imperva_api"] = "imperva_api"
    # the "Log Server URI" of Logs → Log Setup, e.g. https://logs1.incapsula.com/123_456/ (a trailing
    # slash or a trailing logs.index may be there or not)
    url: HttpUrl
    api_id_env: str = "IMPERVA_API_ID"
    api_key_env: str = "IMPERVA_API_KEY"
    poll_interval_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    verify_certs: bool = True
    max_backoff_s: float = Field(300.0, gt=0)  # the longest wait after repeated 429/5xx answers
