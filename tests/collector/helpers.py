"""Helpers for collector tests: a config in a temp dir, the CLI in a subprocess, store counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from wafpipe.tools.generate import generate_files, keygen

START = datetime(2024, 6, 10, 6, 0, tzinfo=UTC)
END = datetime(2024, 6, 10, 7, 0, tzinfo=UTC)


def write_config(root: Path, *, workers: int = 1, extra: str = "", batch_size: int = 500) -> Path:
    cfg = root / "wafpipe.toml"
    cfg.write_text(
        f"""
data_dir = "data"
[keys]
dir = "keys"
[[sources]]
type = "directory"
path = "incoming"
patterns = ["*.log", "*.log.gz"]
poll_interval_s = 0.2
stable_checks = 1
[[sinks]]
type = "duckdb"
[pipeline]
workers = {workers}
batch_size = {batch_size}
batch_timeout_s = 0.5
[api]
port = 0
{extra}
"""
    )
    (root / "incoming").mkdir(exist_ok=True)
    return cfg


def generate_mix(root: Path, *, scale: int = 1) -> int:
    """Every format and compression, one encrypted (key in keys/), one gzip-wrapped. Returns the
    number of events written."""
    incoming = root / "incoming"
    pub = keygen(root / "keys", "1")
    total = 0
    plan = [
        ("cef", "zlib", False, None, 300, 1),
        ("cef", "gzip", True, None, 200, 2),
        ("cef", "none", False, None, 150, 3),
        ("leef", "zlib", False, None, 200, 4),
        ("leef", "gzip", False, None, 100, 5),
        ("w3c", "none", False, None, 200, 6),
        ("w3c", "zlib", False, None, 100, 7),
        ("cef", "zlib", False, pub, 150, 8),
    ]
    for fmt, comp, wrapped, enc, events, seed in plan:
        n = events * scale
        generate_files(incoming, events=n, files=2, fmt=fmt, compression=comp, gzip_file=wrapped,
                       encrypt=enc, public_key_id="1", attack_ratio=0.3, start=START, end=END,
                       seed=seed * 1000 + scale, bad_input=False)
        total += n
    return total


def wafpipe(*args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wafpipe.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def count(root: Path, expr: str = "") -> int:
    res = wafpipe("query", *( [expr] if expr else []), "-c", "wafpipe.toml", "--count", cwd=root)
    assert res.returncode == 0, res.stderr
    return int(res.stdout.strip())


def distinct_ids(root: Path) -> tuple[int, int]:
    """(rows, distinct ids) straight from the store file (no collector may be running)."""
    import duckdb

    con = duckdb.connect(str(root / "data" / "wafpipe.duckdb"), read_only=True)
    try:
        rows, ids = con.execute("SELECT count(*), count(DISTINCT _id) FROM events").fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return int(rows), int(ids)


def api_info(root: Path) -> dict[str, object]:
    return json.loads((root / "data" / "api.json").read_text())
