"""The servers the remote-source tests start, one per test module: a ``moto[server]`` process (S3,
SQS), Azurite (Azure Blob) and Debian's sshd (SFTP). A server that cannot start skips its tests on a
developer's machine and fails them in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.servers.azurite_server import AzuriteServer, AzuriteUnavailable
from tests.servers.moto_server import MotoServer
from tests.servers.sshd_server import SshdServer, SshdUnavailable


def _unavailable(exc: Exception) -> None:
    if os.environ.get("CI"):
        pytest.fail(str(exc), pytrace=False)
    pytest.skip(str(exc))


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    try:
        server = AzuriteServer(tmp_path_factory.mktemp("azurite")).start()
    except AzuriteUnavailable as exc:
        _unavailable(exc)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshdServer]:
    try:
        server = SshdServer().start()
    except SshdUnavailable as exc:
        _unavailable(exc)
    try:
        yield server
    finally:
        server.stop()
