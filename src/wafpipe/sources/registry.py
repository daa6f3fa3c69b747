"""Every source type, keyed by the ``type`` of its ``[[sources]]`` table (DESIGN §3).

A new source is one module with a config model and a runner, and one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wafpipe.model import Component, Context
from wafpipe.sources import azure_blob, directory, imperva_api, s3, sftp, sqs
from wafpipe.sources.base import Source

if TYPE_CHECKING:
    from wafpipe.config.root import Config

COMPONENTS: dict[str, Component[Any]] = {
    c.type: c
    for c in (directory.COMPONENT, imperva_api.COMPONENT, s3.COMPONENT, sqs.COMPONENT, azure_blob.COMPONENT,
              sftp.COMPONENT)
}


def build_sources(config: Config, context: Context) -> list[Source]:
    """One runner per ``[[sources]]`` entry, in the order of the file."""
    return [COMPONENTS[entry.type].build(entry, context) for entry in config.sources]
