"""The core's side: a file read by the native core, shaped for the comparison."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.native.version1.records import NOW, PROBLEM_FIELDS


# ============================================================================== the core's side
@dataclass
class CoreFile:
    """One file read by the core: its events (id, document JSON) as they come, then its problems
    (line problems in line order, then the file's verdicts) once the events are exhausted."""

    events: Iterator[tuple[str, bytes]]
    problems: list[dict[str, Any]]


def problem_record(p: Any) -> dict[str, Any]:
    out = {k: getattr(p, k) if hasattr(p, k) else p[k] for k in PROBLEM_FIELDS}
    out["hint"] = out["hint"] or ""
    return out


def _in_line_order(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = sorted((p for p in problems if p["ordinal"] is not None), key=lambda p: p["ordinal"])
    return lines + [p for p in problems if p["ordinal"] is None]


def read_core(path: str, keys_dir: Path | None = None) -> CoreFile:
    """``path`` through this checkout's core (``read_path(path).batches()``). ``WAFPIPE_NOW`` must
    be :data:`NOW`, as version 1's ingest time is."""
    if os.environ.get("WAFPIPE_NOW") != NOW:
        raise RuntimeError(f"set WAFPIPE_NOW={NOW} before reading with the core")
    from wafpipe.decode.reader import read_path

    reader = read_path(path, keys_dir=keys_dir)
    problems: list[dict[str, Any]] = []

    def events() -> Iterator[tuple[str, bytes]]:
        found: list[dict[str, Any]] = []
        for batch in reader.batches():
            yield from zip(batch.ids, batch.documents or [], strict=True)
            found += [problem_record(p) for p in batch.problems]
        problems.extend(_in_line_order(found))

    return CoreFile(events(), problems)


