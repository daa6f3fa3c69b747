"""The session-wide real OpenSearch node, as a pytest fixture.

Import it into a conftest.py to use it there::

    from tests.servers.opensearch_fixture import opensearch_node  # noqa: F401

When the node cannot start, the tests that need it are skipped with the reason, except under CI
(``CI`` set), where they fail: CI must provide the node (``make install-test`` builds it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from tests.servers.opensearch_node import OpenSearchNode, OpenSearchNodeError

# Static node settings for the shared node; dynamic ones can be changed with node.settings(...).
SESSION_NODE_SETTINGS: Mapping[str, str] = {
    # bulk bodies of the ingestion tests stay far below this, but a sink's batch must never be cut here
    "http.max_content_length": "200mb",
}


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"OpenSearch test node unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"OpenSearch test node unavailable: {reason}")


def start_node(base_dir: Path, **kwargs: object) -> OpenSearchNode:
    """Start a node in ``base_dir`` or skip (fail under CI) with the reason. For fixtures that need
    a node of their own, e.g. with other static settings."""
    node = OpenSearchNode(base_dir, **kwargs)  # type: ignore[arg-type]
    try:
        return node.start()
    except OpenSearchNodeError as exc:
        node.stop()
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def opensearch_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSearchNode]:
    """One node for the whole run, on 127.0.0.1 with a random port. Tests share it: give every index
    or data stream a name of its own, and leave the node running (a test that stops it must start it
    again before it returns)."""
    node = start_node(tmp_path_factory.mktemp("opensearch-node"), settings=SESSION_NODE_SETTINGS)
    try:
        yield node
    finally:
        node.stop()


def module_node(label: str) -> Callable[..., Iterator[OpenSearchNode]]:
    """A module-scoped fixture giving the module a node of its own (the shared node's settings), for
    tests whose changes would reach every stream of the shared node::

        node = module_node("alias-mode")
    """

    @pytest.fixture(scope="module")
    def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSearchNode]:
        started = start_node(tmp_path_factory.mktemp(label), settings=SESSION_NODE_SETTINGS)
        try:
            yield started
        finally:
            started.stop()

    return node
