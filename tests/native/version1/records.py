"""Version 1's output as records: the NDJSON format its worker writes and this side reads, and
the constants both sides share (the pinned commit, the ingest time)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

ROOT = Path(__file__).resolve().parents[3]
VERSION1_COMMIT = "c5e40ee"
NOW = "2026-03-01T12:00:00Z"  # the ingest time of both sides (WAFPIPE_NOW for the core)
NOW_MS = 1772366400000

Doc = dict[str, Any]

# ================================================================================ output format
# One NDJSON record a line (gzip when the file name ends in .gz), written by version 1's worker:
#   {"spec": {"fields": {key: [type, path, [ecs…]]}, "rule_types": {id: name},
#             "rule_type_by_name": {name: id}}}                     first, once: version 1's tables
#   {"file": {"source", "input", "name", "has_header", "header"}}   then per input file
#   {"event": {"id", "doc", "typed": [[key, raw]…], "severity", "crash"?}}
#   {"problem": {"kind", "line", "offset", "column", "ordinal", "reason", "hint"}}
#   {"end": {"lines": n}}                                           the file's non-empty body lines
# ``typed`` holds the record's raw text of every key version 1 converts to something other than a
# keyword (long, double, boolean, date, ip, ip_list, json) and of ``date``/``time``, in record
# order: what the transformations need to say what the core does with a value version 1 accepted.
# ``crash`` is set when version 1's mapping raised on the line (its document is then unknown); a
# problem with ``crash`` stands for a line whose decoder raised (version 1 stopped the whole file
# there; the worker makes it a problem of that line, and the file goes on). Neither can be
# compared: they are counted and listed apart.

PROBLEM_FIELDS = ("kind", "line", "offset", "column", "ordinal", "reason", "hint")
CRASHED = "version 1 crashed: "


def _dumps(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record)
    except TypeError:  # an integer beyond 64 bits (version 1 kept them): the standard module, marked
        return b"J" + json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def loads(line: bytes) -> Any:
    """One record of the output format."""
    # orjson would read an integer beyond 64 bits as a float: such lines are marked.
    return json.loads(line[1:]) if line.startswith(b"J") else orjson.loads(line)


@contextmanager
def _open(path: Path, mode: str) -> Iterator[IO[bytes]]:
    """``path`` to read (``r``) or write (``w``) bytes; gzip when its name ends in ``.gz``, written
    without a time or name in the gzip header, so that equal output is equal bytes."""
    with open(path, mode + "b") as raw:
        if not path.name.endswith(".gz"):
            yield raw
            return
        with gzip.GzipFile(filename="", mode=mode + "b", fileobj=raw, compresslevel=6, mtime=0) as gz:
            yield gz  # type: ignore[misc]


def write_record(out: IO[bytes], record: dict[str, Any]) -> None:
    out.write(_dumps(record) + b"\n")


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path, "r") as fh:
        for line in fh:
            if line.strip():
                yield loads(line)


