"""The native file run's own consistency: its two outputs (typed columns and JSON documents) say
the same, batches are contiguous, and how the body is cut into chunks and Batches changes nothing.

That the core gives version 1's ids, documents and problems is ``test_version1.py``'s (a stored
fixture of version 1's output) and ``bench/differential.py``'s (over a million lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from wafpipe import _native
from wafpipe.decode.reader import read_path
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.fields.arrow import record_batch
from wafpipe.imperva.container import ImpervaFile
from wafpipe.model import Problem
from wafpipe.tools.generate import generate_files

NOW = "2026-03-01T12:00:00Z"
NOW_MS = 1772366400000


def native_read(path: Path, *, batch_rows: int, chunk: int) -> list[tuple[Any, ...]]:
    """Every batch of one file, the body pushed in pieces of ``chunk`` bytes."""
    f = ImpervaFile.from_path(path)
    body = f.compressed_body()
    info = f.info
    run = _native.FileRun(
        name=info.name, path=str(path), format=_native.detect_format(info.header), header=info.header,
        identity=info.identity if info.has_header else None,
        ingest_ms=NOW_MS, user_agent=parse_user_agent,
        batch_rows=batch_rows,
    )
    batches: list[tuple[Any, ...]] = []
    for piece in body:
        for start in range(0, len(piece), chunk):
            ready = run.push(piece[start : start + chunk])
            while ready:
                assert len(ready) == 1  # the core stops at each completed batch
                batches += ready
                ready = run.push(b"")
    while not run.finished:
        batches += run.finish()
    return batches


def outputs(batches: list[tuple[Any, ...]]) -> tuple[list[str], list[bytes], list[dict[str, Any]]]:
    ids = [i for b in batches for i in pa.record_batch(b[0]).column("_id").to_pylist()]
    docs = [d for b in batches for d in b[1]]
    problems = [dict(p) for b in batches for p in b[4]]
    return ids, docs, problems


def assert_consistent(path: Path) -> int:
    whole = native_read(path, batch_rows=8192, chunk=1 << 20)
    ids, docs, problems = outputs(whole)
    # Cut into small Batches from small chunks: the same events and problems.
    assert outputs(native_read(path, batch_rows=13, chunk=977)) == (ids, docs, problems), path.name
    # The typed columns hold what the documents hold (the field table's Arrow reading of them).
    if ids:
        native_table = pa.Table.from_batches([pa.record_batch(b[0]) for b in whole])
        from_docs = pa.Table.from_batches([record_batch(ids, docs)])
        assert native_table.schema.equals(from_docs.schema)
        for name in from_docs.column_names:
            assert native_table.column(name).to_pylist() == from_docs.column(name).to_pylist(), name
    # Ordinals: batches are contiguous, each event's ordinal inside its batch's range.
    for before, after in zip(whole, whole[1:], strict=False):
        assert before[3] == after[2]
    for b in whole:
        for doc in b[1]:
            assert b[2] <= json.loads(doc)["imperva"]["waf"]["file"]["ordinal"] < b[3]
    return len(ids)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAFPIPE_NOW", NOW)


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
@pytest.mark.parametrize("compression", ["zlib", "gzip", "none"])
def test_generated_files_read_consistently(tmp_path: Path, fmt: str, compression: str) -> None:
    paths = generate_files(tmp_path, events=900, files=2, fmt=fmt, compression=compression, attack_ratio=0.4, seed=11)
    assert sum(assert_consistent(p) for p in paths) == 900


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
def test_bad_input_files_read_consistently(tmp_path: Path, fmt: str) -> None:
    paths = generate_files(tmp_path, events=300, files=1, fmt=fmt, seed=4, bad_input=True)
    compared = 0
    for path in paths:
        try:
            ImpervaFile.from_path(path).compressed_body()
        except Exception:
            continue
        assert_consistent(path)
        compared += 1
    assert compared >= 3


def test_the_reader_counts_each_problem_once(tmp_path: Path) -> None:
    paths = generate_files(tmp_path, events=300, files=1, fmt="cef", seed=4, bad_input=True)
    seen: set[str] = set()
    for path in paths:
        reader = read_path(path)
        items = list(reader.items())
        kinds = [i.kind for i in items if isinstance(i, Problem)]
        for kind in set(kinds):
            assert reader.counters[f"problem_{kind}"] == kinds.count(kind), (path.name, kind)
        assert reader.counters["events"] == len(items) - len(kinds)
        seen.update(kinds)
    assert {"decode", "cut_line"} <= seen


def test_the_batch_timeout_counts_decoding_time_not_the_consumers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``batch_timeout_s`` cuts a Batch that is slow to fill, not the Batch after one the consumer
    was slow to take (a worker blocked on a busy main process): that cut every Batch short, and
    smaller commits made a larger store. The clock moves only while the consumer holds a Batch."""
    import wafpipe.decode.reader.file as reader_file
    from wafpipe.imperva.container import CHUNK

    [path] = generate_files(tmp_path, events=1000, files=1, fmt="cef", compression="none", seed=4)
    assert path.stat().st_size > 2 * CHUNK  # chunks end inside Batches: a partial one waits for the next
    now = [1000.0]
    monkeypatch.setattr(reader_file.time, "monotonic", lambda: now[0])
    sizes = []
    for batch in read_path(path, batch_rows=100, documents=False).batches("k", batch_timeout_s=2.0):
        sizes.append(len(batch))
        now[0] += 60.0  # the consumer takes a minute over each Batch
    assert sizes == [100] * 10 + [0] or sizes == [100] * 10, sizes


def ndjson_of(ids: list[str], documents: list[bytes]) -> bytes:
    """``wafpipe parse``'s lines, built here from the ids and documents: ``_id`` spliced in first."""
    return b"".join(
        b'{"_id":"' + i.encode() + (b'"}' if doc == b"{}" else b'",' + doc[1:]) + b"\n"
        for i, doc in zip(ids, documents, strict=True)
    )


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
def test_the_ndjson_read_writes_the_documents_with_their_ids(tmp_path: Path, fmt: str) -> None:
    """``wafpipe parse`` has the core write each Batch's NDJSON lines itself (``ndjson=True``, and no
    columns): the same Batches, lines and problems as the documents with their ids spliced in, good
    files and bad."""
    paths = generate_files(tmp_path / "good", events=200, files=1, fmt=fmt, compression="gzip", seed=5)
    paths += generate_files(tmp_path / "bad", events=300, files=1, fmt=fmt, seed=4, bad_input=True)
    lines = 0
    for path in paths:
        with_documents = list(read_path(path, batch_rows=13).batches())
        with_lines = list(read_path(path, batch_rows=13, ndjson=True).batches())
        assert len(with_lines) == len(with_documents), path.name
        for a, b in zip(with_documents, with_lines, strict=True):
            assert (b.first_ordinal, b.next_ordinal, b.final) == (a.first_ordinal, a.next_ordinal, a.final)
            assert [p.message() for p in b.problems] == [p.message() for p in a.problems]
            assert b.documents is None and b.lines is not None and len(b) == 0  # lines only
            assert b.lines == ndjson_of(a.ids, a.documents or []) == b.ndjson(), path.name
            # read where the core wrote them (an Arrow buffer of its own), not copied into a bytes
            assert not len(b.lines) or isinstance(b.lines.obj, pa.Buffer)
            lines += bytes(b.lines).count(b"\n")
    assert lines >= 200


def test_ndjson_batches_are_cut_by_their_text_not_only_their_rows(tmp_path: Path) -> None:
    """NDJSON Batches end once their text reaches ``NDJSON_BATCH_BYTES``, however many rows they
    may hold: ``wafpipe parse``'s buffer stays a few MiB (reused, not fresh pages per Batch).
    Cut at a line's end, with every line once and in order."""
    (path,) = generate_files(tmp_path, events=3000, files=1, fmt="cef", compression="gzip", seed=3)
    budget = _native.NDJSON_BATCH_BYTES
    reference = list(read_path(path, batch_rows=100_000).batches())
    expected = b"".join(ndjson_of(b.ids, b.documents or []) for b in reference)
    assert len(expected) > 2 * budget  # the file makes at least three NDJSON Batches
    batches = list(read_path(path, batch_rows=100_000, ndjson=True).batches())
    texts = [bytes(b.lines or b"") for b in batches]
    assert b"".join(texts) == expected
    assert len([t for t in texts if t]) >= 3
    longest = max(len(line) + 1 for line in expected.splitlines())
    for batch, text in zip(batches[:-1], texts[:-1], strict=True):
        if text:
            assert budget <= len(text) < budget + longest and text.endswith(b"\n")
        assert batch.next_ordinal == batch.first_ordinal + text.count(b"\n")
    assert [b.first_ordinal for b in batches[1:]] == [b.next_ordinal for b in batches[:-1]]
