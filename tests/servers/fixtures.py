"""pytest fixtures for the test servers. Use them from another test folder with
``from tests.servers.fixtures import es_server, kibana_server  # noqa: F401`` in its conftest.py, or
copy the three lines each needs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .elasticsearch import ElasticsearchServer
from .kibana import KibanaServer


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
