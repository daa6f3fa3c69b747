"""Helpers for CLI tests: the ``wafpipe`` command in a subprocess (umask chosen by the test), a
watch-mode collector started and stopped around a block, and a state read-only peek."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.collector.helpers import write_config

__all__ = ["broken", "collector", "fix_dead_letter", "state_rows", "wafpipe", "wait_for", "write_config"]

DEADLINE_S = 120.0  # generous: the tests wait for a condition, never for a duration


def _env(env: dict[str, str] | None) -> dict[str, str]:
    out = {**os.environ, **(env or {})}
    out.pop("WAFPIPE_CONFIG", None)
    return out


def wafpipe(
    *args: str, cwd: Path, env: dict[str, str] | None = None, umask: int = 0o022, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m wafpipe.cli ARGS`` started with ``umask`` (a permissive 022 by default, so a
    private file proves wafpipe made it so)."""
    return subprocess.run(
        [sys.executable, "-m", "wafpipe.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(env),
        preexec_fn=lambda: os.umask(umask),  # noqa: PLW1509 - no threads in the child before exec
    )


def wait_for(what: str, predicate: Callable[[], bool], proc: subprocess.Popen[str] | None = None) -> None:
    """Poll ``predicate`` until true; fail (with the process output) if the process ends first."""
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the collector exited ({proc.returncode}) before {what}:\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def state_rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` from ``data/state.sqlite``, opened read-only ([] when it does not exist yet)."""
    path = root / "data" / "state.sqlite"
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


@contextlib.contextmanager
def collector(root: Path, *, done_files: int = 0) -> Iterator[subprocess.Popen[str]]:
    """``wafpipe run`` (watch mode) in ``root``: yields once its API is published (``api.json``) and
    ``done_files`` files are done; stops it with SIGINT after the block."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(None),
        start_new_session=True,
        preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509
    )
    try:
        wait_for("the collector's api.json", (root / "data" / "api.json").exists, proc)
        if done_files:
            wait_for(
                f"{done_files} file(s) done",
                lambda: bool(state_rows(root, "SELECT count(*) FROM files WHERE status='done'"))
                and state_rows(root, "SELECT count(*) FROM files WHERE status='done'")[0][0] >= done_files,
                proc,
            )
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.communicate(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


BAD_CEF = "CEF:0|Incapsula|SIEMintegration|1|1|BROKEN"


def broken(good: str) -> str:
    """A CEF line that does not decode (too few header fields), exactly as long as ``good``."""
    return (BAD_CEF + "x" * len(good))[: len(good)]


def fix_dead_letter(root: Path, ordinal: int, decodable: bytes) -> None:
    """The live dead letter of line ``ordinal`` now holds ``decodable``: the simulated decoder fix."""
    con = sqlite3.connect(root / "data" / "state.sqlite")
    try:
        rows = con.execute("SELECT id, record FROM dead_letters WHERE replayed_at IS NULL").fetchall()
        hits = [(i, json.loads(r)) for i, r in rows if json.loads(r).get("ordinal") == ordinal]
        assert len(hits) == 1, hits
        row_id, record = hits[0]
        record["raw"] = decodable.decode("utf-8", "replace")
        record["raw_base64"] = base64.b64encode(decodable).decode() if record.get("raw_base64") else None
        con.execute("UPDATE dead_letters SET record = ? WHERE id = ?", (json.dumps(record), row_id))
        con.commit()
    finally:
        con.close()
