"""The native core gives version 1's ids, documents and problems, intended differences aside.

Version 1 (wafpipe ``c5e40ee``, pure Python) is not run here: its output for small stored inputs
is in ``fixtures/version1/`` (written once by ``fixtures/version1/make_fixture.py``, which says how
to run it). Each input is read with this checkout's core (``read_path(...).batches()``, the same
relative path, the same ingest time), version 1's output goes through the intended differences
(``tests/native/version1/transformations.py``, ``TRANSFORMATIONS``), and every event (id, every document field) and
every problem (kind, line, offset, column, ordinal, reason, hint) must be equal. A failure shows the
first difference in full. The bigger comparison is ``bench/differential.py`` (a million lines).

Lines version 1 crashed on (a LEEF decoder ``IndexError``, ``int('²')`` of a severity slot) have no
version-1 output to compare: they are left out, as ``compare_records`` reports.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.native import version1 as v1

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "version1"
MANIFEST: dict[str, Any] = json.loads((FIXTURE / "manifest.json").read_text())
KEYS = Path(MANIFEST["keys_dir"])
# Compared with version 1 below, but for two: the peer vectors (read from ../shared, their own test)
# and the damaged body, where the core keeps what version 1 lost (its own test, at the end).
SOURCES = sorted(s for s in MANIFEST["sources"] if s not in ("peer", "damaged-body"))


@functools.cache
def _expected_lines() -> dict[str, list[bytes]]:
    """Version 1's records (NDJSON lines) by source, each list starting with version 1's tables."""
    spec = b""
    by_source: dict[str, list[bytes]] = {}
    lines: list[bytes] = []
    with gzip.open(FIXTURE / "expected.ndjson.gz", "rb") as fh:
        for line in fh:
            if line.startswith(b'{"spec"'):
                spec = line
                continue
            if line.startswith(b'{"file"'):
                lines = by_source.setdefault(json.loads(line)["file"]["source"], [spec])
            lines.append(line)
    return by_source


def expected(source: str) -> Iterator[dict[str, Any]]:
    """Version 1's records for ``source``, parsed afresh (the transformations change them)."""
    for line in _expected_lines()[source]:
        yield v1.loads(line)


@pytest.fixture
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder where ``inputs/`` is the fixture's: the core reads the relative paths
    version 1 read (they are in ``log.file.path``), at version 1's ingest time."""
    monkeypatch.setenv("WAFPIPE_NOW", v1.NOW)
    (tmp_path / "inputs").symlink_to(FIXTURE / "inputs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_same(source: str) -> None:
    """The core's reading of ``source``'s inputs equals version 1's output, transformed."""
    result = v1.Comparison(keep=3)
    v1.compare_records(expected(source), result, KEYS)
    total = result.total
    assert total.files == len(MANIFEST["sources"][source])
    assert total.events + total.problems > 0
    found = total.differences + total.inexact_differing
    if found:
        first = (result.differences or result.inexact)[0]
        kinds = "\n".join(f"  {n:>5}  {kind}" for kind, n in result.kinds.most_common())
        others = [d.render() for d in list(result.first_of_kind.values())[1:5]]
        pytest.fail(
            f"{found} difference(s) from version 1, intended differences aside ({total.events} events, "
            f"{total.problems} problems compared); by kind:\n{kinds}\n\nthe first difference:\n{first.render()}"
            + ("\n\nthe first of the other kinds:\n" + "\n".join(others) if others else ""),
            pytrace=False,
        )


@pytest.mark.parametrize("source", SOURCES)
def test_core_gives_version1_output(stage: Path, source: str) -> None:
    assert_same(source)


def test_core_gives_version1_output_for_the_peer_vectors(stage: Path, conformance: Path) -> None:
    """The peer vectors are read from ``../shared/conformance`` (its README asks so), built into the
    files version 1 read; their digests tell a changed vector from a changed core."""
    files = v1.peer_files(conformance, Path("peer"))
    built = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert built == MANIFEST["peer"], (
        "the peer vectors in ../shared/conformance changed since the fixture was written: "
        "run tests/native/fixtures/version1/make_fixture.py again"
    )
    assert_same("peer")


def test_ids_equal_version1_on_a_bigger_corpus(stage: Path) -> None:
    """Only the ids (the documents are not stored): every id of a few thousand generated events."""
    want: dict[str, list[str]] = {}
    with gzip.open(FIXTURE / "ids.txt.gz", "rt") as fh:
        for line in fh:
            if line.startswith("# "):
                ids = want.setdefault(line[2:].strip(), [])
            else:
                ids.append(line.strip())
    assert sum(map(len, want.values())) >= 1000
    for path, ids in want.items():
        got = [event_id for event_id, _ in v1.read_core(path).events]
        first = next((i for i, (a, b) in enumerate(zip(ids, got, strict=False)) if a != b), None)
        assert first is None and len(got) == len(ids), (
            f"{path}: {len(got)} ids, version 1 gave {len(ids)}"
            + (
                f"; the first that differs is event {first}: version 1 {ids[first]}, core {got[first]}"
                if first is not None
                else ""
            )
        )


# Transformations no stored input can meet, with the reason.
UNREACHABLE = {"no_null_values": "no decoder gives a record without a vendor or product (mod.rs)"}


def test_the_fixture_meets_every_intended_difference(stage: Path) -> None:
    """Each transformation changes at least one stored item of version 1, so none is untested.
    The core is not read here (an empty reading stands for it); the inputs are (for their identity)."""
    result = v1.Comparison(keep=0)
    for source in _expected_lines():
        if source == "peer":  # its inputs are written from ../shared by its own test
            continue
        v1.compare_records(expected(source), result, core=lambda path, keys: v1.CoreFile(iter(()), []))
    applied = result.total.applied
    names = [t.__name__ for t in [*v1.TRANSFORMATIONS, *v1.PROBLEM_TRANSFORMATIONS]]
    missing = [name for name in names if not applied[name] and name not in UNREACHABLE]
    assert not missing, f"no stored input meets these intended differences: {missing}"


def test_a_damaged_body_keeps_the_events_before_the_fault(stage: Path) -> None:
    """Intended difference: a body corrupt part-way keeps every event decoded before the fault.

    Version 1 inflated 256 KiB at a time and lost the chunk the fault was in (for this small file:
    every event, as its stored output shows). The core keeps each line decoded before the fault,
    flags the line the fault cut, and names the fault. The events kept are those of the intact file
    (the flipped byte put back) at the same ordinals: same ids, same documents, bar the file's
    verdict on its checksum."""
    from wafpipe.decode.reader import read_path
    from wafpipe.model import Event, Problem

    (damaged,) = MANIFEST["sources"]["damaged-body"]
    v1_kinds = [next(iter(r)) for r in expected("damaged-body")]
    assert v1_kinds == ["spec", "file", "problem", "end"]  # version 1: the fault, no event
    items = list(read_path(damaged).items())
    events = [i for i in items if isinstance(i, Event)]
    problems = [i for i in items if isinstance(i, Problem)]
    assert len(events) == 64
    cut, fault = problems
    assert (cut.kind, cut.ordinal) == ("cut_line", 64)
    assert fault.kind == "compression" and fault.fatal_to_file
    assert "corrupt after 6163 decoded bytes: invalid compressed data" in fault.reason
    assert "64 event(s) decoded before the fault were kept" in fault.reason
    data = bytearray(Path(damaged).read_bytes())
    data[len(data) * 2 // 3] ^= 0xFF  # the byte make_fixture flipped, put back
    intact = stage / "intact" / Path(damaged).name
    intact.parent.mkdir()
    intact.write_bytes(bytes(data))
    whole = [i for i in read_path(intact).items() if isinstance(i, Event)]
    assert len(whole) > 64
    for got, want in zip(events, whole[:64], strict=True):
        assert got.id == want.id
        assert got.doc["imperva"]["waf"]["file"]["checksum_status"] == "incomplete"  # known from the first
        assert got.doc["imperva"]["waf"]["file"]["partial"] is True  # pass, so on every event kept
        assert want.doc["imperva"]["waf"]["file"]["checksum_status"] == "ok"
        got.doc["log"]["file"]["path"] = want.doc["log"]["file"]["path"]
        got.doc["imperva"]["waf"]["file"] = want.doc["imperva"]["waf"]["file"]
        assert got.doc == want.doc
