"""A real store for the read side: files from ``wafpipe generate`` plus one hostile file, ingested
by ``wafpipe run --once`` (the DuckDB sink writes it exactly as in production), built once per
session. Through the CLI on purpose: these tests pin the read side, not the write path's internals."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.filebuilder import SAMPLE_CEF, make_file
from wafpipe.collector.state import State
from wafpipe.store.connection import ReadOnlyStore
from wafpipe.store.service import ReadService

GENERATED = 1200
# A user agent and a path that try to drive the terminal: OSC 52 (write the clipboard), clear
# screen, a C1 CSI, a carriage return, a right-to-left override.
HOSTILE_UA = "evil\x1b]52;c;SGVsbG8=\x07agent\x1b[2J\rX\u202eZ"
HOSTILE_LINE = SAMPLE_CEF.replace(
    "requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    f"requestClientApplication={HOSTILE_UA}",
).replace("request=shop.example.com/index.html", "request=shop.example.com/x\x9b31mred")
CONFIG = """
data_dir = "data"
[[sources]]
type = "directory"
path = "incoming"
patterns = ["*.log", "*.log.gz"]
[[sinks]]
type = "duckdb"
[pipeline]
workers = 1
[api]
port = 0
"""


def wafpipe(*args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wafpipe.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@dataclass(frozen=True)
class Built:
    root: Path
    total: int

    @property
    def store(self) -> Path:
        return self.root / "data" / "wafpipe.duckdb"


def build(root: Path, *, events: int = GENERATED) -> Built:
    """Generate, add the hostile file, ingest with ``run --once``."""
    (root / "wafpipe.toml").write_text(CONFIG)
    (root / "wafpipe.toml").chmod(0o600)
    res = wafpipe("generate", "--out", "incoming", "--events", str(events), "--files", "3", "--seed", "7",
                  "--attack-ratio", "0.3", "--start", "2024-06-10T06:00:00Z", "--end", "2024-06-10T07:00:00Z",
                  cwd=root)
    assert res.returncode == 0, res.stderr
    (root / "incoming" / "999_1.log").write_bytes(make_file([HOSTILE_LINE], header={"configId": "999"}))
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=root)
    assert res.returncode == 0, res.stderr
    return Built(root, events + 1)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("readside"))


@pytest.fixture(scope="session")
def opened(built: Built) -> Iterator[ReadOnlyStore]:
    with ReadOnlyStore(built.store) as store:
        yield store


@pytest.fixture(scope="session")
def service(built: Built, opened: ReadOnlyStore) -> Iterator[ReadService]:
    """The read service over the store opened read-only, with the collector's state."""
    state = State(built.root / "data")
    svc = ReadService(opened.cursor, state=state)
    yield svc
    svc.close()
    state.close()
