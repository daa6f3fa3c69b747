"""pytest fixtures for the test servers. Use them from another test folder with
``from tests.servers.fixtures import es_server, kibana_server  # noqa: F401`` in its conftest.py (or
test module). A server that cannot start skips its tests on a developer's machine and fails them
in CI (:func:`unavailable`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .azurite_server import AzuriteServer, AzuriteUnavailable
from .elasticsearch import ElasticsearchServer
from .kibana import KibanaServer
from .sshd_server import SshdServer, SshdUnavailable


def unavailable(exc: Exception) -> None:
    """Skip (a developer's machine) or fail (CI) the tests of a server that cannot start."""
    if os.environ.get("CI"):
        pytest.fail(str(exc), pytrace=False)
    pytest.skip(str(exc))


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite (Azure Blob Storage), one per test module."""
    try:
        server = AzuriteServer(tmp_path_factory.mktemp("azurite")).start()
    except AzuriteUnavailable as exc:
        unavailable(exc)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshdServer]:
    """Debian's sshd with an SFTP subsystem, one per test module."""
    try:
        server = SshdServer().start()
    except SshdUnavailable as exc:
        unavailable(exc)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def es_server() -> Iterator[ElasticsearchServer]:
    """A fresh Elasticsearch stand-in per test (no auth, built-in templates, 1 s refresh interval)."""
    with ElasticsearchServer() as server:
        yield server


@pytest.fixture
def kibana_server() -> Iterator[KibanaServer]:
    """A fresh Kibana stand-in per test (no auth)."""
    with KibanaServer() as server:
        yield server
