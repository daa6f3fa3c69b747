"""Fixtures of the cluster tests: the real OpenSearch node, and the ``wafpipe`` command line.

These tests talk to wafpipe only through its command line (as a subprocess) and to the node only
through opensearch-py, so they hold whatever the package's inside looks like.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from tests.flatten import get_path
from tests.servers.opensearch_node import OpenSearchNode

WafpipeRunner = Callable[..., subprocess.CompletedProcess[str]]
GUARD_S = 120.0  # a hang guard only: every wait ends as soon as its condition holds


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition`` (polled every 50 ms); fail naming ``what`` only if it never holds."""
    deadline = time.monotonic() + GUARD_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


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


def source_ips(docs: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Documents per ``source.ip`` (normalised as an ``ip`` field shows it), from the documents sent."""
    counts: Counter[str] = Counter()
    for doc in docs:
        ip = get_path(doc, "source.ip")
        if ip is not None:
            counts[str(ipaddress.ip_address(ip))] += 1
    return counts


def source_ip_terms(client: OpenSearch, index: str, size: int) -> tuple[Counter[str], int]:
    """A ``terms`` aggregation on ``source.ip``: documents per address, and those left out."""
    answer = client.search(
        index=index, body={"size": 0, "aggs": {"ips": {"terms": {"field": "source.ip", "size": size}}}}
    )
    ips = answer["aggregations"]["ips"]
    return Counter({str(ipaddress.ip_address(b["key"])): b["doc_count"] for b in ips["buckets"]}), ips["sum_other_doc_count"]


def write_config(path: Path, node: OpenSearchNode, namespace: str, source: Path, data_dir: Path) -> Path:
    """A collector config: one directory source (every set below ``source``), one ``opensearch``
    sink in data-stream mode, the API on a free port. Written when used: the shared node may have
    been restarted on another port by an earlier test."""
    path.write_text(
        f'data_dir = "{data_dir}"\n\n'
        f'[[sources]]\ntype = "directory"\npath = "{source}"\nrecursive = true\n'
        'patterns = ["*.log", "*.log.gz"]\npoll_interval_s = 0.2\nstable_checks = 1\n\n'
        f'[[sinks]]\ntype = "opensearch"\nhosts = ["{node.url}"]\nnamespace = "{namespace}"\n'
        "use_data_stream = true\n\n"
        "[api]\nport = 0\n"
    )
    path.chmod(0o600)  # the CLI warns about configs others can read
    return path


def parsed(wafpipe: WafpipeRunner, directories: list[Path], *, bad: bool) -> list[dict[str, Any]]:
    """The documents ``wafpipe parse`` prints for every file of ``directories``."""
    proc = wafpipe("parse", *directories, ok_codes=(0, 1) if bad else (0,))
    if bad:
        assert proc.returncode == 1, "the --bad-input sets decoded without a problem"
    # NDJSON lines end at "\n" only: str.splitlines() would also cut at U+2028, U+0085, ...
    return [json.loads(line) for line in proc.stdout.split("\n") if line.strip()]
