"""The native file run against the Python reader (the oracle until the core replaces it):
the same events — ids, documents, typed columns — and the same line problems, file by file.

The intended differences of the native core (see ``docs/ecs-mapping.md``) do not occur in the
generated files compared here; the hostile inputs that show them are tested on their own below.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from wafpipe import _native
from wafpipe.decode.detect import detect_format
from wafpipe.decode.reader import FileReader, read_path
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.fields.arrow import record_batch
from wafpipe.imperva.container import ImpervaFile
from wafpipe.model import Event, Problem
from wafpipe.tools.generate import generate_files

NOW = "2026-03-01T12:00:00Z"
NOW_MS = 1772366400000


def native_read(path: Path, *, batch_rows: int = 97, chunk: int = 65536) -> tuple[Any, list[tuple[Any, ...]]]:
    f = ImpervaFile.from_path(path)
    body = f.compressed_body()
    info = f.info
    run = _native.FileRun(
        name=info.name, path=str(path), format=detect_format(info.header, None), header=info.header,
        identity=info.identity if info.has_header else None, api_id=info.api_id, seq=info.seq,
        encrypted=info.encrypted, gzip_wrapped=info.gzip_wrapped, ingest_ms=NOW_MS, user_agent=parse_user_agent,
        batch_rows=batch_rows,
    )
    batches: list[tuple[Any, ...]] = []
    for piece in body:
        for start in range(0, len(piece), chunk):
            batches += run.push(piece[start : start + chunk])
    batches += run.finish()
    return run, batches


def python_read(path: Path) -> tuple[list[Event], list[Problem]]:
    reader = FileReader(partial(open, path, "rb"), path.name, str(path))  # version 1's reader, the oracle
    events: list[Event] = []
    problems: list[Problem] = []
    for item in reader.items():
        (events if isinstance(item, Event) else problems).append(item)
    return events, problems


def _line_problems(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {"kind": p.kind, "reason": p.reason, "hint": p.hint or None, "line": p.line, "offset": p.offset, "column": p.column,
         "ordinal": p.ordinal, "raw": p.raw, "context": p.context}
        for p in problems if p.kind in ("decode", "cut_line")
    ]


def assert_same_file(path: Path, **kw: Any) -> int:
    events, problems = python_read(path)
    run, batches = native_read(path, **kw)
    ids = [i for b in batches for i in pa.record_batch(b[0]).column("_id").to_pylist()]
    docs = [json.loads(d) for b in batches for d in b[2 - 1]]
    assert ids == [e.id for e in events], path.name
    for event, doc in zip(events, docs, strict=True):
        assert doc == json.loads(json.dumps(event.doc)), (path.name, event.doc["imperva"]["waf"]["file"]["ordinal"])
    native_problems = [dict(p, context=json.loads(p["context"])) for b in batches for p in b[4]]
    assert native_problems == _line_problems(problems), path.name
    # The typed columns equal what the Python path builds from the same documents.
    if events:
        native_table = pa.Table.from_batches([pa.record_batch(b[0]) for b in batches])
        python_table = pa.Table.from_batches([record_batch([e.id for e in events],
                                                           [json.dumps(e.doc).encode() for e in events])])
        assert native_table.schema.equals(python_table.schema)
        for name in python_table.column_names:
            assert native_table.column(name).to_pylist() == python_table.column(name).to_pylist(), name
    # Ordinals: batches are contiguous and end where the file does.
    for before, after in zip(batches, batches[1:], strict=False):
        assert before[3] == after[2]
    return len(events)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAFPIPE_NOW", NOW)


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
@pytest.mark.parametrize("compression", ["zlib", "gzip", "none"])
def test_generated_files_read_identically(tmp_path: Path, fmt: str, compression: str) -> None:
    paths = generate_files(tmp_path, events=900, files=2, fmt=fmt, compression=compression, attack_ratio=0.4, seed=11)
    assert sum(assert_same_file(p) for p in paths) == 900


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
def test_bad_input_files_read_identically(tmp_path: Path, fmt: str) -> None:
    paths = generate_files(tmp_path, events=300, files=1, fmt=fmt, seed=4, bad_input=True)
    compared = 0
    for path in paths:
        try:
            ImpervaFile.from_path(path).compressed_body()
        except Exception:
            continue
        assert_same_file(path, batch_rows=13, chunk=977)
        compared += 1
    assert compared >= 3


def test_the_native_reader_counts_each_problem_once(tmp_path: Path) -> None:
    paths = generate_files(tmp_path, events=300, files=1, fmt="cef", seed=4, bad_input=True)
    for path in paths:
        native, oracle = read_path(path), FileReader(partial(open, path, "rb"), path.name, str(path))
        native_items, oracle_items = list(native.items()), list(oracle.items())
        kinds = [i.kind for i in native_items if isinstance(i, Problem)]
        assert kinds == [i.kind for i in oracle_items if isinstance(i, Problem)], path.name
        for kind in set(kinds):
            assert native.counters[f"problem_{kind}"] == kinds.count(kind) == oracle.counters[f"problem_{kind}"]
        assert native.counters["events"] == oracle.counters["events"]
