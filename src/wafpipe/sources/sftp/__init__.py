"""A directory on an SSH server, read over SFTP: ``type = "sftp"``.

:mod:`.config` is its ``[[sources]]`` table, :mod:`.client` the SSH session (host key checking,
reconnection, proxy) and its errors, :mod:`.source` the runner on
:mod:`wafpipe.sources.remote.listing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wafpipe.model import Component, Context
from wafpipe.sources.remote.base import spool_and_state
from wafpipe.sources.sftp.config import SftpSourceConfig

if TYPE_CHECKING:
    from wafpipe.sources.sftp.source import SftpSource


def build(config: SftpSourceConfig, context: Context) -> SftpSource:
    # The SSH library (~30 MiB resident) is loaded only by a collector that reads over SFTP.
    from wafpipe.sources.sftp.client import SftpClient, load_key
    from wafpipe.sources.sftp.source import SftpSource

    key = None
    if config.private_key_file is not None:
        key = load_key(config.private_key_file, config.secret("private_key_passphrase", required=False))
    password = config.secret("password", required=False)
    spool, state = spool_and_state(config, context, "sftp")
    client = SftpClient(config, key=key, password=password)
    return SftpSource(config, client, spool, state, on_problem=context.on_source_problem)


COMPONENT = Component("sftp", SftpSourceConfig, build)

__all__ = ["COMPONENT", "SftpSource", "SftpSourceConfig", "build"]


def __getattr__(name: str) -> Any:
    if name == "SftpSource":
        from wafpipe.sources.sftp.source import SftpSource

        return SftpSource
    raise AttributeError(name)
