"""Imperva's log download API as a source: ``type = "imperva_api"`` (FORMATS §1.8).

:mod:`.config` is its ``[[sources]]`` table, :mod:`.client` the HTTP side (URL joining, Basic
authentication, errors that name their fix), :mod:`.source` the runner (the cursor, gaps, back-off).
Files are fetched into the bounded spool of :mod:`wafpipe.sources.remote.spool`.
"""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sources.imperva_api.client import LogApi
from wafpipe.sources.imperva_api.config import ImpervaApiSourceConfig
from wafpipe.sources.imperva_api.source import ImpervaApiSource
from wafpipe.sources.remote.base import spool_and_state


def build(config: ImpervaApiSourceConfig, context: Context) -> ImpervaApiSource:
    spool, state = spool_and_state(config, context, "imperva_api")
    api_id, api_key = config.secret("api_id"), config.secret("api_key")
    assert api_id is not None and api_key is not None  # required secrets: secret() raised otherwise
    where = config._where or "imperva_api"
    api = LogApi(config.url, api_id, api_key, timeout_s=config.timeout_s, verify_certs=config.verify_certs,
                 ca_file=config.ca_file, proxy_url=config.proxy_url,
                 settings=(f"{where}.api_id_env", f"{where}.api_key_env"))
    return ImpervaApiSource(config, api, spool, state, on_problem=context.on_source_problem)


COMPONENT = Component("imperva_api", ImpervaApiSourceConfig, build)

__all__ = ["COMPONENT", "ImpervaApiSource", "ImpervaApiSourceConfig", "build"]
