"""An Azure Blob Storage container as a source: ``type = "azure_blob"``.

:mod:`.config` is its ``[[sources]]`` table, :mod:`.client` the SDK client and its errors,
:mod:`.source` the runner on :mod:`wafpipe.sources.remote.listing`.
"""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sources.azure_blob.client import make_container
from wafpipe.sources.azure_blob.config import AzureBlobSourceConfig
from wafpipe.sources.azure_blob.source import AzureBlobSource
from wafpipe.sources.remote.base import spool_and_state


def build(config: AzureBlobSourceConfig, context: Context) -> AzureBlobSource:
    spool, state = spool_and_state(config, context, "azure_blob")
    return AzureBlobSource(config, make_container(config), spool, state, on_problem=context.on_source_problem)


COMPONENT = Component("azure_blob", AzureBlobSourceConfig, build)

__all__ = ["COMPONENT", "AzureBlobSource", "AzureBlobSourceConfig", "build"]
