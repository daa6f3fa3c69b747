"""Directory source with real files and real watchfiles (inotify): patterns, temp names, files
written slowly, deletions, re-deliveries, permission problems (in a subprocess without the
capabilities that let root read anything), and the after-ack policies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wafpipe.sources.base import FileRef
from wafpipe.sources.directory import DirectorySource, DirectorySourceConfig, match_pattern

FAST = {"poll_interval_s": 0.1, "stable_checks": 2}


def source(path: Path, **kw: object) -> DirectorySource:
    return DirectorySource(DirectorySourceConfig(path=path, **{**FAST, **kw}))  # type: ignore[arg-type]


@contextmanager
def watching(src: DirectorySource) -> Iterator[list[tuple[float, FileRef]]]:
    """Run ``src.watch`` in a thread; yields the list it appends (monotonic time, ref) to."""
    got: list[tuple[float, FileRef]] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for ref in src.watch(stop):
                got.append((time.monotonic(), ref))
        except BaseException as exc:  # surfaced in the test thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive(), "watch() did not stop"
        assert not errors, errors


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def rels(root: Path, refs: list[FileRef]) -> list[str]:
    return sorted(Path(r.path or "").relative_to(root).as_posix() for r in refs)


# ---------------------------------------------------------------------------------------- patterns
def test_match_pattern() -> None:
    assert match_pattern("*.log", "1_1.log")
    assert match_pattern("*.log", "a/b/1_1.log")  # no "/" in the pattern: the name at any depth
    assert not match_pattern("*.log", "1_1.log.gz")
    assert match_pattern("**/*.log", "1_1.log") and match_pattern("**/*.log", "a/b/1_1.log")
    assert match_pattern("site*/**/*.log.gz", "site1/2024/01/1_1.log.gz")
    assert not match_pattern("site*/**/*.log.gz", "other/1_1.log.gz")


def test_patterns_non_recursive_recursive_and_globstar(tmp_path: Path) -> None:
    for rel in ["1_1.log", "1_2.log.gz", "notes.txt", "sub/2_1.log", "sub/deep/3_1.log.gz", "other/4_1.log"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert rels(tmp_path, source(tmp_path).snapshot_complete()) == ["1_1.log", "1_2.log.gz"]
    assert rels(tmp_path, source(tmp_path, recursive=True).snapshot_complete()) == [
        "1_1.log",
        "1_2.log.gz",
        "other/4_1.log",
        "sub/2_1.log",
        "sub/deep/3_1.log.gz",
    ]
    only_sub = source(tmp_path, patterns=["sub/**/*.log", "sub/**/*.log.gz"])
    assert only_sub.recursive
    assert rels(tmp_path, only_sub.snapshot_complete()) == ["sub/2_1.log", "sub/deep/3_1.log.gz"]


def test_temp_names_and_dot_files_are_ignored(tmp_path: Path) -> None:
    for name in ["1_1.log.filepart", "1_2.log.tmp", ".1_3.log", ".1_4.log.Xy12ab", "1_5.log"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "1_6.log").write_bytes(b"x")
    src = source(tmp_path, recursive=True)
    assert rels(tmp_path, src.snapshot_complete()) == ["1_5.log"]


def test_ref_fields_and_key(tmp_path: Path) -> None:
    (tmp_path / "1_1.log").write_bytes(b"hello")
    [ref] = source(tmp_path).scan()
    st = (tmp_path / "1_1.log").stat()
    assert (ref.name, ref.size, ref.source, ref.path) == (
        "1_1.log",
        5,
        "directory",
        str(tmp_path / "1_1.log"),
    )
    assert ref.mtime_ns == st.st_mtime_ns
    assert ref.key == f"directory:{tmp_path / '1_1.log'}:5:{st.st_mtime_ns}"
    with open(ref.path, "rb") as fh:
        assert fh.read() == b"hello"


# ------------------------------------------------------------------------------- completeness rules
def test_slow_upload_renamed_from_filepart_is_yielded_once_complete_and_stable(tmp_path: Path) -> None:
    src = source(tmp_path, poll_interval_s=0.1, stable_checks=2)
    chunks = [os.urandom(4096) for _ in range(12)]
    with watching(src) as got:
        part = tmp_path / "1234_5.log.filepart"
        with open(part, "wb") as fh:
            for chunk in chunks:  # 12 chunks over ~1.2 s, slower than the stability window
                fh.write(chunk)
                fh.flush()
                time.sleep(0.1)
        assert got == []  # nothing while uploading
        renamed_at = time.monotonic()
        part.rename(tmp_path / "1234_5.log")
        assert wait_for(lambda: len(got) == 1)
        time.sleep(0.6)  # several more polls: still only once
    assert len(got) == 1
    taken_at, ref = got[0]
    assert ref.name == "1234_5.log" and ref.size == 12 * 4096
    assert taken_at - renamed_at >= 0.2 - 0.05  # at least stable_checks polls after it appeared
    with open(ref.path, "rb") as fh:
        assert fh.read() == b"".join(chunks)


def test_file_written_in_place_is_only_taken_after_it_stops_changing(tmp_path: Path) -> None:
    src = source(tmp_path, poll_interval_s=0.2, stable_checks=2)
    with watching(src) as got:
        target = tmp_path / "1_1.log"
        with open(target, "wb") as fh:
            for _ in range(30):  # a write every 50 ms for 1.5 s
                fh.write(b"x" * 100)
                fh.flush()
                time.sleep(0.05)
                assert got == []
        finished = time.monotonic()
        assert wait_for(lambda: len(got) == 1)
    assert got[0][1].size == 3000
    assert got[0][0] - finished >= 0.2


def test_deleted_file_is_forgotten_and_a_redelivery_is_yielded_again(tmp_path: Path) -> None:
    src = source(tmp_path, poll_interval_s=0.1, stable_checks=3)
    with watching(src) as got:
        doomed = tmp_path / "1_1.log"
        doomed.write_bytes(b"short-lived")
        time.sleep(0.15)
        doomed.unlink()  # gone before it was stable
        keep = tmp_path / "1_2.log"
        keep.write_bytes(b"payload")
        assert wait_for(lambda: len(got) == 1)
        time.sleep(0.3)
        assert [r.name for _, r in got] == ["1_2.log"]
        assert str(doomed) not in src._pending and str(doomed) not in src._emitted
        first_key = got[0][1].key
        keep.unlink()
        assert wait_for(lambda: str(keep) not in src._emitted)
        keep.write_bytes(b"payload")  # the same file delivered again
        assert wait_for(lambda: len(got) == 2)
    # Yielded again; whether it is new is for the pipeline to decide by key and Imperva identity.
    assert got[1][1].name == "1_2.log" and got[1][1].size == 7
    assert got[1][1].key != first_key  # written again, so another mtime


def test_a_different_file_under_an_old_name_gets_a_new_key(tmp_path: Path) -> None:
    src = source(tmp_path)
    target = tmp_path / "1_1.log"
    with watching(src) as got:
        target.write_bytes(b"first file")
        assert wait_for(lambda: len(got) == 1)
        time.sleep(0.05)
        target.write_bytes(b"another, longer file")
        assert wait_for(lambda: len(got) == 2)
        time.sleep(0.4)
    assert len(got) == 2
    a, b = got[0][1], got[1][1]
    assert a.key != b.key and (a.size, b.size) == (10, 20)


def test_directory_created_after_start_is_picked_up(tmp_path: Path) -> None:
    root = tmp_path / "later"
    src = source(root)
    with watching(src) as got:
        time.sleep(0.3)
        assert src.problems[str(root)].kind == "missing"
        root.mkdir()
        (root / "1_1.log").write_bytes(b"x")
        assert wait_for(lambda: len(got) == 1)
        (root / "1_2.log").write_bytes(b"y")
        assert wait_for(lambda: len(got) == 2)
    assert str(root) not in src.problems


# ------------------------------------------------------------------------------------- permissions
CHILD = r"""
import json, os, sys, threading, time
from wafpipe.sources.directory import DirectorySourceConfig
from wafpipe.sources.directory import DirectorySource

root = sys.argv[1]
bad = os.path.join(root, "1_2.log")
src = DirectorySource(DirectorySourceConfig(path=root, poll_interval_s=0.1, stable_checks=1))
out = {"can_open_bad": os.access(bad, os.R_OK)}
out["snapshot"] = [r.name for r in src.snapshot_complete()]
out["problems"] = {p: [v.kind, v.reason] for p, v in src.problems.items()}
stop, later = threading.Event(), []
def run():
    for ref in src.watch(stop):
        later.append(ref.name)
t = threading.Thread(target=run)
t.start()
time.sleep(0.6)  # several polls retry the unreadable file
out["count_after_retries"] = src.counters["problem_permission"]
out["retries"] = src.repeats[bad]
os.chmod(bad, 0o644)  # owner may chmod without DAC override
deadline = time.monotonic() + 5
while "1_2.log" not in later and time.monotonic() < deadline:
    time.sleep(0.05)
stop.set()
t.join()
out["later"] = later
out["problems_after_fix"] = list(src.problems)
print(json.dumps(out))
"""


def test_permission_error_names_path_owner_mode_and_fix_and_other_files_go_on(tmp_path: Path) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is needed to drop the capabilities that let root read any file")
    root = tmp_path / "landing"
    root.mkdir()
    (root / "1_1.log").write_bytes(b"readable")
    bad = root / "1_2.log"
    bad.write_bytes(b"secret")
    bad.chmod(0o000)
    caps = "-dac_override,-dac_read_search"
    cmd = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", sys.executable, "-c", CHILD, str(root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["can_open_bad"] is False  # the capabilities really were dropped
    assert out["snapshot"] == ["1_1.log"]  # the readable file is not held up
    kind, message = out["problems"][str(bad)]
    assert kind == "permission"
    assert str(bad) in message
    assert "mode 0000" in message and "----------" in message
    assert "owner root:" in message and "uid 0" in message
    assert "wafpipe runs as root" in message
    assert f"chmod u+r {bad}" in message
    assert out["count_after_retries"] == 1  # counted once, retried at every poll
    assert out["retries"] >= 3
    assert out["later"] == ["1_2.log"]  # once fixed, taken at a later poll
    assert out["problems_after_fix"] == []


# ------------------------------------------------------------------------------------ after policy
def _take_one(src: DirectorySource) -> FileRef:
    [ref] = src.snapshot_complete()
    return ref


def test_after_keep_leaves_the_file_and_does_not_yield_it_again(tmp_path: Path) -> None:
    (tmp_path / "1_1.log").write_bytes(b"x")
    src = source(tmp_path, after="keep")
    ref = _take_one(src)
    src.ack(ref)
    assert (tmp_path / "1_1.log").exists()
    assert src.snapshot_complete() == []


def test_after_delete_removes_the_file(tmp_path: Path) -> None:
    (tmp_path / "1_1.log").write_bytes(b"x")
    src = source(tmp_path, after="delete")
    src.ack(_take_one(src))
    assert not (tmp_path / "1_1.log").exists()
    assert src.counters["acked_delete"] == 1


def test_after_move_keeps_subdirectories_and_never_overwrites(tmp_path: Path) -> None:
    landing, done = tmp_path / "landing", tmp_path / "done"
    (landing / "site1").mkdir(parents=True)
    (done / "site1").mkdir(parents=True)
    (done / "site1" / "1_1.log.gz").write_bytes(b"older file with the same name")
    (landing / "site1" / "1_1.log.gz").write_bytes(b"new")
    src = source(landing, after="move", done_dir=done, recursive=True)
    src.ack(_take_one(src))
    assert not (landing / "site1" / "1_1.log.gz").exists()
    assert (done / "site1" / "1_1.log.gz").read_bytes() == b"older file with the same name"
    assert (done / "site1" / "1_1~2.log.gz").read_bytes() == b"new"


def test_after_does_not_touch_a_file_that_changed_since_it_was_read(tmp_path: Path) -> None:
    target = tmp_path / "1_1.log"
    target.write_bytes(b"x")
    src = source(tmp_path, after="delete")
    ref = _take_one(src)
    target.write_bytes(b"a different file arrived meanwhile")
    src.ack(ref)
    assert target.read_bytes() == b"a different file arrived meanwhile"
    assert src.counters["ack_skipped_changed"] == 1


def test_once_snapshot_skips_a_file_still_growing(tmp_path: Path) -> None:
    (tmp_path / "1_1.log").write_bytes(b"done")
    growing = tmp_path / "1_2.log"
    stop = threading.Event()

    def grow() -> None:
        with open(growing, "ab") as fh:
            while not stop.is_set():
                fh.write(b"y")
                fh.flush()
                time.sleep(0.01)

    growing.write_bytes(b"")
    t = threading.Thread(target=grow)
    t.start()
    try:
        src = source(tmp_path, poll_interval_s=0.2)
        assert [r.name for r in src.snapshot_complete()] == ["1_1.log"]
        assert src.counters["skipped_incomplete"] == 1
    finally:
        stop.set()
        t.join()


# ------------------------------------------------------------------- --once without waiting (settled)
class _Slept(Exception):
    """Raised instead of sleeping: the snapshot waited."""


def _no_sleep(monkeypatch: pytest.MonkeyPatch, calls: list[float] | None = None) -> None:
    """``time.sleep`` in the source records its argument (``calls``) or, without a list, fails."""
    import wafpipe.sources.directory.source as module

    def sleep(seconds: float) -> None:
        if calls is None:
            raise _Slept(seconds)
        calls.append(seconds)

    monkeypatch.setattr(module.time, "sleep", sleep)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_once_takes_files_settled_for_an_interval_without_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("1_1.log", "1_2.log"):
        (tmp_path / name).write_bytes(b"x")
        _age(tmp_path / name, 7200)
    _no_sleep(monkeypatch)
    src = source(tmp_path, poll_interval_s=3600.0)  # waiting would fail the test (_Slept), not stall it
    assert rels(tmp_path, src.snapshot_complete()) == ["1_1.log", "1_2.log"]
    assert source(tmp_path / "nothing-here", poll_interval_s=3600.0).snapshot_complete() == []


@pytest.mark.parametrize(
    ("age_s", "fs_type"),
    [(10.0, "ext4"), (-7200.0, "ext4"), (7200.0, "nfs4"), (7200.0, None)],
    ids=["changed within the interval", "stamped in the future", "network filesystem", "unknown filesystem"],
)
def test_once_waits_an_interval_unless_every_file_is_settled_on_a_local_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, age_s: float, fs_type: str | None
) -> None:
    import wafpipe.sources.directory.source as module

    (tmp_path / "1_1.log").write_bytes(b"x")
    _age(tmp_path / "1_1.log", 7200)
    (tmp_path / "1_2.log").write_bytes(b"x")
    _age(tmp_path / "1_2.log", age_s)
    monkeypatch.setattr(module, "is_local", lambda path: fs_type in {"ext4"})
    calls: list[float] = []
    _no_sleep(monkeypatch, calls)
    src = source(tmp_path, poll_interval_s=60.0)
    assert rels(tmp_path, src.snapshot_complete()) == ["1_1.log", "1_2.log"]  # unchanged at the second look
    assert calls == [60.0]


def test_once_leaves_a_file_that_changed_while_it_waited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wafpipe.sources.directory.source as module

    settled, growing = tmp_path / "1_1.log", tmp_path / "1_2.log"
    settled.write_bytes(b"x")
    _age(settled, 7200)
    growing.write_bytes(b"x")

    def sleep(seconds: float) -> None:  # the writer goes on during the interval
        with open(growing, "ab") as fh:
            fh.write(b"more")

    monkeypatch.setattr(module.time, "sleep", sleep)
    src = source(tmp_path, poll_interval_s=60.0)
    assert rels(tmp_path, src.snapshot_complete()) == ["1_1.log"]
    assert src.counters["skipped_incomplete"] == 1


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /srv/landing rw,relatime - nfs4 server:/export rw
41 40 0:51 / /srv/landing/local rw,relatime - xfs /dev/vdb rw
42 27 0:52 / /srv/my\\040drop rw,relatime - cifs //host/share rw
43 27 0:53 / /srv/stacked rw,relatime - nfs server:/a rw
44 27 0:54 / /srv/stacked rw,relatime - tmpfs tmpfs rw
45 27 0:55 / /srv/landingzone rw,relatime - fuse.sshfs host: rw
"""


@pytest.mark.parametrize(
    ("path", "fs_type"),
    [
        ("/var/spool/imperva", "ext4"),
        ("/srv/landing", "nfs4"),
        ("/srv/landing/incoming", "nfs4"),
        ("/srv/landing/local/incoming", "xfs"),
        ("/srv/my drop/in", "cifs"),
        ("/srv/stacked/in", "tmpfs"),  # the mount on top
        ("/srv/landingzone/in", "fuse.sshfs"),  # a prefix of the name is not a parent directory
    ],
)
def test_the_filesystem_of_a_path_is_its_innermost_mount(path: str, fs_type: str) -> None:
    from wafpipe.sources.directory.settled import LOCAL_FILESYSTEMS, filesystem_type

    assert filesystem_type(Path(path), MOUNTINFO) == fs_type
    assert ("fuse.sshfs" in LOCAL_FILESYSTEMS, "nfs4" in LOCAL_FILESYSTEMS) == (False, False)
