"""A landing directory (typically an SFTP drop) as a source: ``type = "directory"``.

:mod:`.config` is its ``[[sources]]`` table, :mod:`.source` the runner (why it works the way it does
is in that module's docstring), :mod:`.settled` when ``--once`` may take a file without waiting.
"""

from __future__ import annotations

from wafpipe.model import Component, Context
from wafpipe.sources.directory.config import DirectorySourceConfig
from wafpipe.sources.directory.source import DirectorySource, match_pattern, permission_message


def build(config: DirectorySourceConfig, context: Context) -> DirectorySource:
    return DirectorySource(config, on_problem=context.on_source_problem)


COMPONENT = Component("directory", DirectorySourceConfig, build)

__all__ = ["COMPONENT", "DirectorySource", "DirectorySourceConfig", "build", "match_pattern", "permission_message"]
