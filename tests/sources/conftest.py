"""The servers the remote-source tests start, one per test module: a ``moto[server]`` process (S3,
SQS), Azurite (Azure Blob) and Debian's sshd (SFTP). A server that cannot start skips its tests on a
developer's machine and fails them in CI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.fixtures import azurite, sshd  # noqa: F401 - fixtures, used by name
from tests.servers.moto_server import MotoServer


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server
