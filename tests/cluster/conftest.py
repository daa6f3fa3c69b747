"""Fixtures of the cluster tests: the real OpenSearch node, and the ``wafpipe`` command line.

These tests talk to wafpipe only through its command line (as a subprocess) and to the node only
through opensearch-py, so they hold whatever the package's inside looks like.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.servers.opensearch_fixture import opensearch_node  # noqa: F401

WafpipeRunner = Callable[..., subprocess.CompletedProcess[str]]


def wafpipe_executable() -> Path:
    """The ``wafpipe`` script next to this interpreter (the project venv's), or ``WAFPIPE_CLI``."""
    override = os.environ.get("WAFPIPE_CLI")
    return Path(override) if override else Path(sys.executable).with_name("wafpipe")


@pytest.fixture(scope="session")
def wafpipe() -> WafpipeRunner:
    """Run ``wafpipe ARGS...`` and return the completed process (stdout/stderr as text).
    ``ok_codes`` lists the exit codes that are not a failure (default: 0 only)."""
    exe = wafpipe_executable()
    if not exe.is_file():
        pytest.fail(f"wafpipe command line not found at {exe} (run `make install-test`)", pytrace=False)

    def run(
        *args: str | Path, ok_codes: tuple[int, ...] = (0,), timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(exe), *map(str, args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode not in ok_codes:
            pytest.fail(
                f"{' '.join(cmd)} exited {proc.returncode}\n--- stderr ---\n{proc.stderr[-4000:]}",
                pytrace=False,
            )
        return proc

    return run
