"""An Azure Blob Storage container as a source: ``type = "azure_blob"``.

:mod:`.config` is its ``[[sources]]`` table, :mod:`.client` the SDK client and its errors,
:mod:`.source` the runner on :mod:`wafpipe.sources.remote.listing`.
"""

from __future__ import annotations

from wafpipe.errors import ConfigError
from wafpipe.model import Component, Context
from wafpipe.sources.azure_blob.client import make_container
from wafpipe.sources.azure_blob.config import AzureBlobSourceConfig
from wafpipe.sources.azure_blob.source import AzureBlobSource
from wafpipe.sources.remote.spool import Spool


def build(config: AzureBlobSourceConfig, context: Context) -> AzureBlobSource:
    if context.state is None:
        raise ConfigError("the azure_blob source keeps its progress in the collector's state: run it with `wafpipe run`")
    name = config.name or "azure_blob"
    spool = Spool(config.spool_path(context.data_dir, name), max_bytes=config.spool_max_bytes,
                  max_files=config.spool_max_files)
    return AzureBlobSource(config, make_container(config), spool, context.state, on_problem=context.on_source_problem)


COMPONENT = Component("azure_blob", AzureBlobSourceConfig, build)

__all__ = ["COMPONENT", "AzureBlobSource", "AzureBlobSourceConfig", "build"]
