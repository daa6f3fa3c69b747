"""The remote sources' spool (src/wafpipe/sources/remote/spool.py): names from other servers never
choose a local path, files appear only complete, and the spool is bounded by back-pressure.

Nothing here waits for time to pass: the blocked fetcher is a thread whose state is observed, and
every wait is a hang guard that ends as soon as its condition holds."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from wafpipe.sources.remote.spool import Spool, UnsafeName, local_name

HANG_GUARD_S = 60.0

UNSAFE = [
    "", "/etc/passwd", "../escape.log", "a/../../escape.log", "a/./b.log", "a//b.log", "dir/", ".", "..",
    "a\\..\\b.log", "bad\x00name.log", "new\nline.log", "tab\there.log", "del\x7f.log", "x" * 2000,
]


@pytest.mark.parametrize("name", UNSAFE, ids=lambda n: repr(n)[:40])
def test_unsafe_remote_names_are_refused_with_the_reason(name: str) -> None:
    with pytest.raises(UnsafeName, match=r"remote name"):
        local_name(name)


def test_safe_names_stay_apart_and_inside_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20, max_files=10)
    a, b = spool.path_of("site1/2024/1_2.log"), spool.path_of("site2/2024/1_2.log")
    assert a != b and a.name.endswith("_1_2.log") and b.name.endswith("_1_2.log")
    assert a.parent == b.parent == (tmp_path / "spool").resolve()
    assert spool.path_of(".hidden.log").name.endswith("_hidden.log")  # never a dot-file in the spool
    assert spool.path_of("1_2.log") == spool.path_of("1_2.log")  # stable across calls and runs


def test_a_failed_download_leaves_nothing_and_a_good_one_is_complete(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20, max_files=10)

    def broken(fh: BinaryIO) -> None:
        fh.write(b"half of a file")
        raise ConnectionResetError("the server went away")

    with pytest.raises(ConnectionResetError):
        spool.fetch("1_1.log", broken)
    assert list((tmp_path / "spool").iterdir()) == [] and spool.files == 0
    path = spool.fetch("1_1.log", lambda fh: fh.write(b"all of it"))
    assert path.read_bytes() == b"all of it" and (path.stat().st_mode & 0o777) == 0o600
    assert (spool.files, spool.bytes) == (1, 9)


def test_a_restart_drops_partial_files_and_finds_complete_ones(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20, max_files=10)
    done = spool.fetch("1_1.log", lambda fh: fh.write(b"complete"))
    (tmp_path / "spool" / f".{local_name('1_2.log')}.part").write_bytes(b"cut short")
    again = Spool(tmp_path / "spool", max_bytes=1 << 20, max_files=10)
    assert sorted(p.name for p in (tmp_path / "spool").iterdir()) == [done.name]
    assert again.existing("1_1.log") == done and again.existing("1_2.log") is None
    assert (again.files, again.bytes) == (1, 8)


def test_a_full_spool_blocks_the_fetcher_until_a_file_is_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=100, max_files=2)
    first = spool.fetch("1_1.log", lambda fh: fh.write(b"x" * 60))
    stop, full, fetched = threading.Event(), threading.Event(), threading.Event()

    def fetch_second() -> None:
        if spool.reserve(60, stop, on_wait=full.set):
            spool.fetch("1_2.log", lambda fh: fh.write(b"y" * 60), reserved=60)
            fetched.set()

    worker = threading.Thread(target=fetch_second)
    worker.start()
    assert full.wait(HANG_GUARD_S), "the fetcher did not report a full spool"
    assert not fetched.is_set() and spool.files == 1  # held back: 60 + 60 > 100
    spool.remove(first)  # the collector stored and acknowledged the first file
    assert fetched.wait(HANG_GUARD_S)
    worker.join(HANG_GUARD_S)
    assert (spool.files, spool.bytes) == (1, 60)


def test_the_file_count_bounds_too_and_stop_ends_the_wait(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 30, max_files=1)
    spool.fetch("1_1.log", lambda fh: fh.write(b"a"))
    stop = threading.Event()
    stop.set()
    assert spool.reserve(1, stop) is False  # full by count; a stopping collector is not held


def test_one_file_bigger_than_the_spool_fits_when_the_spool_is_empty(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=10, max_files=5)
    assert spool.reserve(1000, threading.Event())
    spool.fetch("1_1.log", lambda fh: fh.write(b"z" * 1000), reserved=1000)
    assert spool.files == 1
