"""Shared fixtures. Peer vectors follow DESIGN §8: skip without ../shared, fail in CI.

The real OpenSearch node and the browser are defined here, once for the whole run: a session fixture
imported into two conftest files would be two fixtures, and two nodes (or two Playwrights)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import browser  # noqa: F401 - one Chromium per run
from tests.servers.opensearch_fixture import opensearch_node  # noqa: F401 - one real node per run

ROOT = Path(__file__).resolve().parent.parent


def conformance_dir() -> Path | None:
    """The peer-vector folder, or None (after skipping/failing as DESIGN §8 says)."""
    path = Path(os.environ.get("WAFPIPE_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
    if path.is_dir():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"conformance vectors missing at {path} (CI must provide ../shared)")
    pytest.skip(f"conformance vectors not found at {path}; set WAFPIPE_CONFORMANCE_DIR to run these tests")
    return None


@pytest.fixture(scope="session")
def conformance() -> Path:
    path = conformance_dir()
    assert path is not None
    return path
