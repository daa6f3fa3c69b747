"""Fixtures of the server tests: a fresh Elasticsearch stand-in per test with automatic refresh off
(3600 s), so tests say when documents become searchable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from .elasticsearch import ElasticsearchServer
from .fixtures import es_server, kibana_server  # noqa: F401


@pytest.fixture
def es() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer(refresh_interval=3600) as server:
        yield server


@pytest.fixture
def client(es: ElasticsearchServer) -> Elasticsearch:
    return es.client(request_timeout=10)
