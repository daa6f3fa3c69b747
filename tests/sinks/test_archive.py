"""The archive sink (issue 25 item 2): every event once as Parquet by day and site, readable by
DuckDB; a replayed Batch adds nothing; and ``archive verify`` catches each kind of tampering — a
changed byte, a deleted, inserted or swapped object, a changed, removed or reordered manifest line —
naming the object or line, while an untouched archive verifies. Crashes at the sink's own failpoint
are in tests/collector/test_failpoints.py (``duckdb+archive``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from tests.cli.helpers import wafpipe
from wafpipe.decode.reader import read_path
from wafpipe.model import Batch
from wafpipe.sinks.archive import ArchiveSink
from wafpipe.sinks.archive.manifest import MANIFEST
from wafpipe.sinks.archive.sink import PENDING, site_component
from wafpipe.sinks.archive.verify import verify
from wafpipe.tools.generate import generate_files


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two files of two days' events (one encrypted: kept as received)."""
    root = tmp_path_factory.mktemp("archive-input")
    return generate_files(root, events=1500, files=2, attack_ratio=0.3, start=datetime(2026, 10, 30, 20, tzinfo=UTC),
                          end=datetime(2026, 10, 31, 4, tzinfo=UTC), seed=251)  # fmt: skip


@pytest.fixture(scope="module")
def batches(inputs: list[Path]) -> list[Batch]:
    """The files' events in Batches of 300 (a Batch spans days and sites)."""
    return [b for p in inputs for b in read_path(p, batch_rows=300).batches(p.name)]


def archived_ids(root: Path) -> list[str]:
    return [r[0] for r in duckdb.execute("SELECT _id FROM read_parquet(?, hive_partitioning = true)",
                                         [f"{root}/events/*/*/*.parquet"]).fetchall()]  # fmt: skip


@pytest.fixture
def archive(tmp_path: Path, batches: list[Batch]) -> Path:
    sink = ArchiveSink(tmp_path / "archive")
    sink.open()
    for batch in batches:
        sink.write(batch)
    sink.close()
    return tmp_path / "archive"


def test_every_event_once_by_day_and_site_and_a_replay_adds_nothing(archive: Path, batches: list[Batch]) -> None:
    ids = [i for b in batches for i in b.ids]
    assert sorted(archived_ids(archive)) == sorted(ids) and len(set(ids)) == len(ids)
    days = {p.name for p in (archive / "events").iterdir()}
    assert days == {"date=2026-10-30", "date=2026-10-31"}
    rows = duckdb.execute("SELECT date, site, count(*) FROM read_parquet(?, hive_partitioning = true) GROUP BY ALL",
                          [f"{archive}/events/*/*/*.parquet"]).fetchall()  # fmt: skip
    assert len(rows) > 2 and all(str(site) != "_none" for _, site, _ in rows)
    # nested ECS columns, queried by their paths; the raw line kept
    originals = duckdb.execute("SELECT count(*) FROM read_parquet(?) WHERE url.domain IS NOT NULL "
                               "AND event.original IS NOT NULL", [f"{archive}/events/*/*/*.parquet"]).fetchone()  # fmt: skip
    assert originals == (len(ids),)
    lines = (archive / MANIFEST).read_text().splitlines()
    again = ArchiveSink(archive)
    again.open()
    results = [again.write(b) for b in batches]  # the collector replays after a crash
    assert sum(r.written for r in results) == 0 and sum(r.duplicates for r in results) == len(ids)
    assert (archive / MANIFEST).read_text().splitlines() == lines
    verdict = verify(archive)
    assert verdict.ok and verdict.rows == len(ids) and verdict.objects == len(lines)


def test_the_original_files_are_kept_byte_for_byte_once(archive: Path, inputs: list[Path]) -> None:
    kept = sorted(p for p in (archive / "originals").rglob("*") if p.is_file())
    # dated by the header's endTime: the first file ends before midnight, the second after
    assert [p.parent.name for p in kept] == ["date=2026-10-30", "date=2026-10-31"]
    assert sorted(p.read_bytes() for p in kept) == sorted(p.read_bytes() for p in inputs)
    assert sorted(p.name.split("~")[0] for p in kept) == sorted(p.name for p in inputs)
    entries = [json.loads(line) for line in (archive / MANIFEST).read_text().splitlines()]
    assert sum(1 for e in entries if e.get("original")) == 2

def first_object(root: Path) -> Path:
    return sorted((root / "events").rglob("*.parquet"))[0]


def change_an_original(root: Path) -> str:
    path = sorted(p for p in (root / "originals").rglob("*") if p.is_file())[-1]
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    return path.relative_to(root).as_posix()


def flip_a_byte(root: Path) -> str:
    path = first_object(root)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return path.relative_to(root).as_posix()


def delete_one(root: Path) -> str:
    path = first_object(root)
    path.unlink()
    return path.relative_to(root).as_posix()


def insert_one(root: Path) -> str:
    path = first_object(root)
    extra = path.with_name("extra.parquet")
    shutil.copyfile(path, extra)
    return extra.relative_to(root).as_posix()


def swap_two(root: Path) -> str:
    a, b = sorted((root / "events").rglob("*.parquet"))[:2]
    tmp = a.with_suffix(".tmp")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    return a.relative_to(root).as_posix()


def manifest_lines(root: Path) -> list[str]:
    return (root / MANIFEST).read_text().splitlines(keepends=True)


def reorder_lines(root: Path) -> str:
    lines = manifest_lines(root)
    lines[1], lines[2] = lines[2], lines[1]
    (root / MANIFEST).write_text("".join(lines))
    return f"{MANIFEST} line 2"


def remove_a_line(root: Path) -> str:
    lines = manifest_lines(root)
    del lines[3]
    (root / MANIFEST).write_text("".join(lines))
    return f"{MANIFEST} line 4"


def change_a_line(root: Path) -> str:
    lines = manifest_lines(root)
    entry = json.loads(lines[0])
    entry["rows"] += 1  # claim one event more
    lines[0] = json.dumps(entry) + "\n"
    (root / MANIFEST).write_text("".join(lines))
    return f"{MANIFEST} line 1"


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (flip_a_byte, "content differs"),
        (change_an_original, "content differs"),
        (delete_one, "missing"),
        (insert_one, "not in the manifest"),
        (swap_two, "content differs"),
        (reorder_lines, "a line was removed, inserted or moved"),
        (remove_a_line, "a line was removed, inserted or moved"),
        (change_a_line, "the line was changed"),
    ],
)
def test_verify_names_each_kind_of_tampering(archive: Path, tamper: Callable[[Path], str], says: str) -> None:
    assert verify(archive).ok
    named = tamper(archive)
    verdict = verify(archive)
    assert not verdict.ok
    assert any(named in problem and says in problem for problem in verdict.broken), verdict.broken


def test_the_command_says_intact_or_names_the_broken_object(archive: Path, tmp_path: Path) -> None:
    (tmp_path / "wafpipe.toml").write_text('data_dir = "data"\n[[sinks]]\ntype = "archive"\npath = "archive"\n')
    ok = wafpipe("archive", "verify", "-c", "wafpipe.toml", cwd=tmp_path)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stdout + ok.stderr
    named = flip_a_byte(archive)
    bad = wafpipe("archive", "verify", "--path", str(archive), cwd=tmp_path)
    assert bad.returncode == 1 and f"BROKEN  {archive}: {named}" in bad.stdout, bad.stdout
    # a range that leaves out that object's day checks the rest only (the chain is always checked)
    day = date.fromisoformat(named.split("date=")[1][:10])
    other = "2026-10-31" if day.isoformat() == "2026-10-30" else "2026-10-30"
    scoped = wafpipe("archive", "verify", "--path", str(archive), "--from", other, "--to", other, cwd=tmp_path)
    assert scoped.returncode == 0, scoped.stdout
    assert wafpipe("archive", "verify", "--path", str(archive), "--from", "yesterday", cwd=tmp_path).returncode == 2


def test_a_crash_between_objects_and_manifest_leaves_nothing_behind(tmp_path: Path, batches: list[Batch]) -> None:
    """What a kill leaves — objects in ``.pending/``, a manifest line cut half way — is cleared on
    open, the Batch is written again, and the archive verifies with every event once."""
    root = tmp_path / "archive"
    sink = ArchiveSink(root)
    sink.open()
    for batch in batches[:2]:
        sink.write(batch)
    (root / PENDING / "orphan-0.parquet").write_bytes(b"PAR1 half written")
    with (root / MANIFEST).open("a") as fh:
        fh.write('{"seq": 99, "object": "events/x')  # cut by the crash: no newline, no commit
    sink = ArchiveSink(root)
    sink.open()
    assert not any((root / PENDING).iterdir()) and verify(root).ok
    for batch in batches:
        sink.write(batch)
    assert sorted(archived_ids(root)) == sorted(i for b in batches for i in b.ids)
    assert verify(root).ok


def test_an_original_without_a_usable_header_time_is_dated_unknown(tmp_path: Path, inputs: list[Path]) -> None:
    """A header time no calendar holds (hostile or broken) does not stop the sink; the original is
    kept under ``date=unknown``, the same name on a replay."""
    final = [b for b in read_path(inputs[0], batch_rows=300).batches(inputs[0].name) if b.final][0]
    assert final.info is not None
    final.info.header["endtime"] = "9" * 30
    sink = ArchiveSink(tmp_path / "archive")
    sink.write(final)
    sink.write(final)
    kept = [p for p in (tmp_path / "archive" / "originals").rglob("*") if p.is_file()]
    assert [p.parent.name for p in kept] == ["date=unknown"] and verify(tmp_path / "archive").ok


@pytest.mark.parametrize("site", ["../../etc", "a/b", "..", ".", "_none", "x" * 500, "shop.example.com"])
def test_a_site_name_never_leaves_its_directory(site: str) -> None:
    part = site_component(site)
    assert "/" not in part and part.startswith("site=") and part not in ("site=.", "site=..") and len(part) < 160
    assert part != site_component(None) and part != site_component(site + "y")
