"""Debian's Chromium driven by Playwright, for every browser test (the web UI, the compliance
report). The ``browser`` fixture is registered once, in tests/conftest.py: a session fixture
imported into two conftest files would be two fixtures, and a second Playwright in one process
fails ("Sync API inside the asyncio loop")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

WAIT_MS = 60_000  # a hang guard for the browser: every wait is for a condition
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Chromium for the whole run (never a browser download: Debian's, from `make install-test`)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make install-test` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
