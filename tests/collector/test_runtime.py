"""The collector's runtime (issue 18, "Robustness of the runtime" and the exit codes of DESIGN §4):
Ctrl-C, dead decode workers, a killed main process, and each exit code with its message.

Every test drives ``wafpipe run`` in a subprocess started in its own session (process group) and
waits on what it can observe — rows in the state database, processes in ``/proc``, lines on
stderr — with deadlines, never on elapsed time.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.collector.helpers import distinct_ids, generate_mix, wafpipe, write_config

DEADLINE_S = 240.0  # generous: the suite must pass with both cores busy


# -- helpers (also used by the other test_runtime*/test_operations* modules) -----------------------


def start(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``wafpipe run -c wafpipe.toml ARGS`` in a new session; stdout/stderr to files (no pipe that
    could fill up and block the collector)."""
    out = open(root / "run.out", "w")  # noqa: SIM115 - closed by the process's exit
    err = open(root / "run.err", "w")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml", *args],
        cwd=root, stdout=out, stderr=err, text=True, start_new_session=True,
        env={**os.environ, **(env or {})},
    )


def stderr_of(root: Path) -> str:
    return (root / "run.err").read_text(errors="replace")


def wait_for(what: str, check: Callable[[], object], deadline_s: float = DEADLINE_S,
             proc: subprocess.Popen[str] | None = None, root: Path | None = None) -> object:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline (or when
    ``proc`` exits first)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            got = check()
            if got:
                return got
            pytest.fail(f"the collector exited ({proc.returncode}) before {what}:\n"
                        + (stderr_of(root)[-3000:] if root else ""))
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}" + (f":\n{stderr_of(root)[-3000:]}" if root else ""))


def state_rows(root: Path, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read the collector's state database while it runs (WAL: readers never block the writer)."""
    path = root / "data" / "state.sqlite"
    if not path.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:  # created but not migrated yet
        return []


def files_by_status(root: Path) -> dict[str, int]:
    return {str(s): int(n) for s, n in state_rows(root, "SELECT status, count(*) FROM files GROUP BY status")}


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry))
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def decode_workers(main_pid: int) -> list[int]:
    """The decode workers: the collector's children running ``python -m wafpipe.collector.workers``."""
    return [p for p in children(main_pid) if "-m wafpipe.collector.workers " in cmdline(p) and alive(p)]


def group_gone(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return False
    return True


@contextmanager
def running(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Whatever happens in the test, the whole process group is gone afterwards."""
    try:
        yield proc
    finally:
        if proc.poll() is None or not group_gone(proc.pid):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


def assert_no_traceback(err: str) -> None:
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-4000:]


# -- Ctrl-C ----------------------------------------------------------------------------------------


def test_ctrl_c_during_once_stops_every_process_exits_130_and_loses_nothing(tmp_path: Path) -> None:
    write_config(tmp_path, workers=2, batch_size=200)
    total = generate_mix(tmp_path, scale=30)
    with running(start(tmp_path, "--once")) as proc:
        # Progress seen in the state: at least one file done, work left (16 files of ~2,600 events).
        wait_for("a first file done", lambda: files_by_status(tmp_path).get("done", 0) >= 1, proc=proc, root=tmp_path)
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=DEADLINE_S)
        wait_for("every process of the group to exit", lambda: group_gone(proc.pid))
    err = stderr_of(tmp_path)
    assert_no_traceback(err)
    if rc == 0:  # the machine finished the backlog before the signal landed: nothing to interrupt
        pytest.skip("the backlog was finished before Ctrl-C arrived")
    assert rc == 130, err[-3000:]
    assert "interrupted:" in err and "not finished" in err and "run again" in err
    rows, ids = distinct_ids(tmp_path)
    assert 0 < rows < total and rows == ids
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 0, res.stderr[-3000:]
    assert distinct_ids(tmp_path) == (total, total)


def test_ctrl_c_in_watch_mode_is_clean(tmp_path: Path) -> None:
    write_config(tmp_path, workers=2)
    total = generate_mix(tmp_path)
    with running(start(tmp_path)) as proc:
        wait_for("every file done", lambda: files_by_status(tmp_path).get("done", 0) == 16, proc=proc, root=tmp_path)
        assert decode_workers(proc.pid), "the decode workers should be running"
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_S) == 0, stderr_of(tmp_path)[-3000:]
        wait_for("every process of the group to exit", lambda: group_gone(proc.pid))
    assert_no_traceback(stderr_of(tmp_path))
    assert distinct_ids(tmp_path) == (total, total)


# -- dead workers ------------------------------------------------------------------------------------


def batches_by_count_only(root: Path) -> None:
    """``batch_timeout_s`` far beyond any run: Batches end at ``batch_size`` events only, so where
    a worker passes ``decode.after_batch`` does not depend on how busy the machine is."""
    cfg = root / "wafpipe.toml"
    cfg.write_text(cfg.read_text().replace("batch_timeout_s = 0.5", "batch_timeout_s = 600"))


def test_each_worker_dying_after_its_second_batch_is_replaced_and_its_file_resumed(tmp_path: Path) -> None:
    """The ``decode.after_batch`` failpoint makes every worker process exit (137) right after it sent
    its second Batch (counted per process, over the files it read), so files lose their worker
    mid-way: each death is logged, a new worker resumes the file from its last acknowledged ordinal,
    and the run ends with everything stored exactly once — no hang. No file here has more than one
    Batch before its last (at most 150 events, 100 a Batch), so none can lose the 3 workers that
    would mark it failed."""
    write_config(tmp_path, workers=2, batch_size=100)
    batches_by_count_only(tmp_path)
    total = generate_mix(tmp_path, scale=1)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S,
                  env={"WAFPIPE_FAILPOINT": "decode.after_batch:2"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert_no_traceback(res.stderr)
    assert "exited with status 137 while reading" in res.stderr
    assert "a new worker reads it again from line ordinal 100 (1 of 3 workers lost" in res.stderr  # after its acknowledged batch
    assert distinct_ids(tmp_path) == (total, total)


def test_a_file_that_kills_its_worker_three_times_ends_failed_and_run_once_exits_1(tmp_path: Path) -> None:
    """``decode.after_batch:1``: every worker process exits (137) right after its first Batch, so
    each worker that reads the big file dies after one Batch of it (progress each time, which does
    not reset the count). The third death marks it failed with a line and a state row that say what
    happened and how it is retried; the small file (one Batch, no pass of the failpoint) is done;
    ``run --once`` ends by itself with exit 1; a run without the failpoint finishes the big file."""
    write_config(tmp_path, workers=1, batch_size=50)
    batches_by_count_only(tmp_path)
    big = _one_file(tmp_path, "1_1.log", n=400, start_time="1")
    small = _one_file(tmp_path, "1_2.log", n=20, start_time="2")
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S,
                  env={"WAFPIPE_FAILPOINT": "decode.after_batch:1"})
    err = res.stderr
    assert res.returncode == 1, err[-3000:]
    assert_no_traceback(err)
    assert err.count("wafpipe: failpoint decode.after_batch:1 hit") == 3, err[-3000:]
    for n, resume in ((1, 50), (2, 100)):
        assert f"a new worker reads it again from line ordinal {resume} ({n} of 3 workers lost" in err, err[-3000:]
    [line] = [x for x in err.splitlines() if " ERROR " in x]
    assert f"{big}: decode worker " in line and "exited with status 137 while reading it" in line, line
    assert "3 decode workers died on this file, so it is marked failed" in line, line
    assert "lines before ordinal 150 are stored" in line and "read again when it changes, or at the next start" in line
    assert err.splitlines()[-1].startswith("files done 1, failed 1, quarantined 0; events 170;"), err.splitlines()[-1]
    assert "problems worker_died 1" in err.splitlines()[-1]
    rows = dict(state_rows(tmp_path, "SELECT name, status FROM files"))
    assert rows == {big.name: "failed", small.name: "done"}
    [(error, resume)] = state_rows(tmp_path, "SELECT error, next_ordinal FROM files WHERE status='failed'")
    assert resume == 150 and "3 decode workers died on this file" in str(error), error
    assert distinct_ids(tmp_path) == (170, 170)
    # Without the failpoint the next start reads it on from line ordinal 150.
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 0, res.stderr[-3000:]
    assert files_by_status(tmp_path) == {"done": 2}
    assert distinct_ids(tmp_path) == (420, 420)


def test_watch_reads_a_failed_file_again_when_it_changes(tmp_path: Path) -> None:
    """A watching collector reads a failed file again as soon as it changes (another size or mtime:
    a new delivery of that path), without a restart; the failure it overtakes is no longer listed. The file fails as above (3 workers lost,
    the failpoint armed for the whole run); its new content fits in one Batch, which passes no
    failpoint."""
    write_config(tmp_path, workers=1, batch_size=50)
    batches_by_count_only(tmp_path)
    path = _one_file(tmp_path, "1_1.log", n=400, start_time="1")
    with running(start(tmp_path, env={"WAFPIPE_FAILPOINT": "decode.after_batch:1"})) as proc:
        wait_for("the file failed", lambda: files_by_status(tmp_path) == {"failed": 1}, proc=proc, root=tmp_path)
        wait_for("the API", lambda: (tmp_path / "data" / "api.json").exists(), proc=proc, root=tmp_path)
        from tests.collector.test_operations import health

        h = health(tmp_path)
        assert [p for p in h["problems"] if "failed" in p] == [
            "1 file(s) failed (each is read again when it changes, or at the next start)"], h["problems"]
        [(old_key,)] = state_rows(tmp_path, "SELECT key FROM files")
        _one_file(tmp_path, "1_1.log", n=30, start_time="3")  # changed: another size and mtime
        wait_for("the changed file done", lambda: files_by_status(tmp_path) == {"done": 1}, proc=proc, root=tmp_path)
        [(new_key,)] = state_rows(tmp_path, "SELECT key FROM files")
        assert new_key != old_key
        assert not any("failed" in p for p in health(tmp_path)["problems"]), health(tmp_path)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_S) == 0
    err = stderr_of(tmp_path)
    assert_no_traceback(err)
    assert f"{path} changed since it failed" in err and f"done {path}: cef, 30 events" in err, err[-3000:]
    assert distinct_ids(tmp_path) == (180, 180)  # 150 stored before it failed, then the 30 of the new file


def test_sigkill_of_a_decode_worker_is_detected_and_the_run_completes(tmp_path: Path) -> None:
    write_config(tmp_path, workers=2, batch_size=200)
    total = generate_mix(tmp_path, scale=20)
    with running(start(tmp_path, "--once")) as proc:
        # A worker is busy: a file is in progress with batches acknowledged.
        wait_for("a file in progress", lambda: state_rows(
            tmp_path, "SELECT 1 FROM files WHERE status='in_progress' AND next_ordinal > 0"), proc=proc, root=tmp_path)
        workers = wait_for("the decode workers", lambda: decode_workers(proc.pid), proc=proc, root=tmp_path)
        victim = workers[0]  # type: ignore[index]
        os.kill(victim, signal.SIGKILL)
        rc = proc.wait(timeout=DEADLINE_S)  # never hangs
    err = stderr_of(tmp_path)
    assert rc == 0, err[-3000:]
    assert f"decode worker {victim} was killed by SIGKILL" in err
    assert distinct_ids(tmp_path) == (total, total)


def test_workers_die_with_a_killed_main_process(tmp_path: Path) -> None:
    write_config(tmp_path, workers=2)
    generate_mix(tmp_path)
    with running(start(tmp_path)) as proc:
        wait_for("a first file done", lambda: files_by_status(tmp_path).get("done", 0) >= 1, proc=proc, root=tmp_path)
        workers = wait_for("the decode workers", lambda: decode_workers(proc.pid), proc=proc, root=tmp_path)
        assert workers and set(workers) <= set(children(proc.pid))  # no process in between
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
        proc.wait(timeout=60)
        wait_for("the workers to exit", lambda: not any(alive(p) for p in workers))  # type: ignore[misc]


# -- exit codes --------------------------------------------------------------------------------------


def _setpriv(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run without the capabilities that bypass file permissions (DESIGN §8), so root sees 0000."""
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is required for the permission tests")
    cmd = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search",
           sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml", *args]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=DEADLINE_S)


def _one_file(root: Path, name: str = "1_1.log", n: int = 10, start_time: str = "1") -> Path:
    from tests.filebuilder import make_file, sample_lines

    path = root / "incoming" / name
    path.write_bytes(make_file(sample_lines(n), header={"startTime": start_time}))
    return path


def test_unreadable_file_exits_1_with_the_fix(tmp_path: Path) -> None:
    write_config(tmp_path)
    _one_file(tmp_path)
    locked = _one_file(tmp_path, "1_2.log", 5, "2")
    locked.chmod(0)
    res = _setpriv(tmp_path, "--once")
    assert res.returncode == 1, res.stderr
    assert f"cannot read {locked}: permission denied" in res.stderr and "chmod" in res.stderr
    assert "files done 1" in res.stderr.splitlines()[-1]


def test_unreadable_directory_exits_1_with_the_fix(tmp_path: Path) -> None:
    write_config(tmp_path)
    _one_file(tmp_path)
    incoming = tmp_path / "incoming"
    incoming.chmod(0)
    try:
        res = _setpriv(tmp_path, "--once")
    finally:
        incoming.chmod(0o755)
    assert res.returncode == 1, res.stderr
    assert f"cannot list directory {incoming}" in res.stderr and "chmod" in res.stderr
    assert_no_traceback(res.stderr)


def test_source_path_that_does_not_exist_is_a_usage_error_with_once(tmp_path: Path) -> None:
    write_config(tmp_path)
    shutil.rmtree(tmp_path / "incoming")
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 2, res.stderr
    assert str(tmp_path / "incoming") in res.stderr.splitlines()[-1] and "does not exist" in res.stderr
    assert_no_traceback(res.stderr)
    assert not (tmp_path / "data" / "wafpipe.duckdb").exists() or distinct_ids(tmp_path) == (0, 0)


def test_empty_and_separator_only_files_are_reported(tmp_path: Path) -> None:
    write_config(tmp_path)
    _one_file(tmp_path)
    (tmp_path / "incoming" / "2_1.log").write_bytes(b"")
    (tmp_path / "incoming" / "2_2.log").write_bytes(b"|==|\n")
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 1, res.stderr
    err = res.stderr
    # One line each, with the kind (the wording is the reader's: decode/reader/).
    assert sum(1 for line in err.splitlines() if "2_1.log: empty: " in line) == 1, err
    assert sum(1 for line in err.splitlines() if "2_2.log: empty: " in line) == 1, err
    assert "problems empty 2" in err.splitlines()[-1]
    assert distinct_ids(tmp_path) == (10, 10)
    # Reported once: the next run does not read them again.
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 0 and ": empty:" not in res.stderr, res.stderr
