"""The collector end to end (issue "Collector runtime" must-shows), through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.collector.helpers import api_info, count, distinct_ids, generate_mix, wafpipe, write_config
from wafpipe.collector.state.store import State


def test_every_format_once_then_nothing_more(tmp_path: Path) -> None:
    write_config(tmp_path, workers=2)
    total = generate_mix(tmp_path)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert count(tmp_path) == total
    # a second run adds nothing
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert count(tmp_path) == total
    # the same file copied in under another name adds nothing (ids come from the Imperva header)
    some = sorted((tmp_path / "incoming").glob("*.log"))[0]
    shutil.copy(some, tmp_path / "incoming" / "9999_1.log")
    shutil.copy(some, tmp_path / "incoming" / "copy-of-it.log")
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert count(tmp_path) == total
    assert distinct_ids(tmp_path) == (total, total)
    assert count(tmp_path, "imperva.waf.security_event:true") > 0
    assert count(tmp_path, 'event.dataset:"imperva.waf"') == total
    assert_file_facts_once(tmp_path)


def assert_file_facts_once(root: Path) -> None:
    """Each file's facts are in the state once (files.facts); its events carry only the per-event
    file fields, and its identity leads from an event to those facts (DESIGN §1)."""
    state = State(root / "data")
    try:
        done = [r for r in state.list_files(status="done") if r.facts.get("identity")]
    finally:
        state.close()
    by_identity = {r.facts["identity"]: r.facts for r in done}
    assert {f["format"] for f in by_identity.values()} == {"cef", "leef", "w3c"}
    assert {f["compression"] for f in by_identity.values()} >= {"zlib", "gzip", "none"}
    assert any(f["encrypted"] for f in by_identity.values()) and any(f["gzip_wrapped"] for f in by_identity.values())
    for facts in by_identity.values():
        assert facts["header"]["configid"] and "key" not in facts["header"]  # the wrapped key is never kept
        assert facts["checksum_status"] == "ok" and not facts["partial"] and facts["md5"]
    w3c = next(f for f in by_identity.values() if f["format"] == "w3c")
    assert w3c["directives"]["Software"] and w3c["w3c_fields"][:2] == ["date", "time"]
    res = wafpipe("query", "-c", "wafpipe.toml", "--format", "ndjson", "--limit", "50", cwd=root)
    assert res.returncode == 0, res.stderr
    for line in res.stdout.splitlines():
        file = json.loads(line)["imperva"]["waf"]["file"]
        assert set(file) <= {"name", "identity", "line", "ordinal", "checksum_status", "partial"}
        assert file["identity"] in by_identity and file["checksum_status"] == "ok"


def test_config_error_exits_2_with_key_path(tmp_path: Path) -> None:
    (tmp_path / "wafpipe.toml").write_text('[[sinks]]\ntype = "duckdb"\nmemory_limt = "1GB"\n')
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 2
    assert "sinks[0]" in res.stderr and "memory_limt" in res.stderr
    (tmp_path / "wafpipe.toml").write_text("[pipeline]\nbatch_size = \"many\"\n")
    res = wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=tmp_path)
    assert res.returncode == 2 and "pipeline.batch_size" in res.stderr


def test_bad_inputs_each_get_message_counter_and_dead_letter(tmp_path: Path) -> None:
    """An unreadable file (permission-bypass capabilities dropped, DESIGN §8), a corrupt file and a
    bad line: each is reported and dead-lettered/quarantined, and the others are ingested."""
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is required for the permission test")
    write_config(tmp_path)
    from tests.filebuilder import make_file, sample_lines

    inc = tmp_path / "incoming"
    (inc / "1_1.log").write_bytes(make_file(sample_lines(10)))
    (inc / "1_2.log").write_bytes(make_file(sample_lines(6)[:3] + ["CEF:0|Incapsula|broken"] + sample_lines(6)[3:],
                                            header={"startTime": "2"}))
    corrupt = make_file(sample_lines(400), header={"startTime": "3"})
    (inc / "1_3.log").write_bytes(corrupt[: len(corrupt) // 2])
    locked = inc / "1_4.log"
    locked.write_bytes(make_file(sample_lines(5), header={"startTime": "4"}))
    locked.chmod(0)
    cmd = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
           "--bounding-set=-dac_override,-dac_read_search",
           sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml", "--once"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    err = res.stderr
    assert str(locked) in err and "chmod" in err  # the permission message says how to fix it
    assert "1_2.log:4" in err  # file:line of the bad line
    assert "truncated" in err  # the corrupt file
    stored = count(tmp_path)
    assert 10 + 5 < stored < 10 + 5 + 400  # good files whole, corrupt file up to its fault
    dl = wafpipe("deadletters", "list", "-c", "wafpipe.toml", cwd=tmp_path)
    assert "CEF:0|Incapsula|broken" in dl.stdout
    quarantine = list((tmp_path / "data" / "quarantine").glob("*1_3.log*"))
    assert quarantine, "the corrupt file is copied to quarantine with its reason"
    # once readable, the locked file is ingested by the next run
    locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert count(tmp_path) == stored + 5


def test_query_through_local_api_while_running(tmp_path: Path) -> None:
    write_config(tmp_path)
    total = generate_mix(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        got = -1
        while time.time() < deadline:
            if (tmp_path / "data" / "api.json").exists():
                res = wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=tmp_path)
                if res.returncode == 0:
                    got = int(res.stdout)
                    if got == total:
                        break
            time.sleep(0.5)
        assert got == total
        info = api_info(tmp_path)
        assert oct((tmp_path / "data" / "api.json").stat().st_mode & 0o777) == "0o600"
        assert httpx.get(f"{info['url']}/api/health").status_code == 401  # the token is required
        token = (tmp_path / "data" / "api.token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{info['url']}/api/health", headers=headers).json()["collector"]["files_pending"] == 0
        metrics = httpx.get(f"{info['url']}/metrics", headers=headers).text
        assert f"wafpipe_events_total {float(total)}" in metrics
        # SQL in field names is refused; SQL in values is data
        res = wafpipe("query", "-c", "wafpipe.toml", "--count", "x'); DROP TABLE events;--:1", cwd=tmp_path)
        assert res.returncode == 2
        res = wafpipe("query", "-c", "wafpipe.toml", "--count", "source.ip:\"1' OR '1'='1\"", cwd=tmp_path)
        assert res.returncode == 2 and "^" in res.stderr  # not an address: refused, column shown
        res = wafpipe("query", "-c", "wafpipe.toml", "--count", "url.path:\"/' OR '1'='1\"", cwd=tmp_path)
        assert res.returncode == 0 and res.stdout.strip() == "0"
        res = wafpipe("query", "-c", "wafpipe.toml", "--count", "user_agent.original:\"x'; DROP TABLE events;--\"",
                      cwd=tmp_path)
        assert res.returncode == 0 and res.stdout.strip() == "0"
        res = wafpipe("query", "-c", "wafpipe.toml", "--format", "ndjson", "--limit", "3",
                      "imperva.waf.security_event:true", cwd=tmp_path)
        assert res.returncode == 0 and len(res.stdout.splitlines()) == 3
        assert wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=tmp_path).stdout.strip() == str(total)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert not (tmp_path / "data" / "api.json").exists()
    assert count(tmp_path) == total  # read-only open when no collector runs


def test_slow_sftp_upload_is_ingested_once_complete(tmp_path: Path) -> None:
    write_config(tmp_path)
    from tests.filebuilder import make_file, sample_lines

    data = make_file(sample_lines(300))
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        part = tmp_path / "incoming" / "55_1.log.filepart"
        with open(part, "wb") as fh:
            for i in range(0, len(data), 512):
                fh.write(data[i : i + 512])
                fh.flush()
                time.sleep(0.02)
        part.rename(tmp_path / "incoming" / "55_1.log")
        deadline = time.time() + 60
        while time.time() < deadline:
            res = wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=tmp_path)
            if res.returncode == 0 and res.stdout.strip() == "300":
                break
            time.sleep(0.5)
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert distinct_ids(tmp_path) == (300, 300)
    err = proc.stderr.read() if proc.stderr else ""
    assert "decode" not in err, err


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """SIGKILL to the whole process group, ten times, each time only once the state database shows
    that this run made progress (DESIGN §8: no test depends on timing — a busy machine that takes
    seconds to start the collector only makes the test slower). How much progress to wait for is
    random (one to three Batches), so the kills land at varied points of the acknowledgement order.
    After every kill the store holds no id twice; at the end a clean run completes the backlog."""
    import contextlib
    import random
    import sqlite3

    write_config(tmp_path, workers=2, batch_size=200)
    total = generate_mix(tmp_path, scale=20)
    inputs = len([p for p in (tmp_path / "incoming").iterdir() if p.is_file()])
    state_db = tmp_path / "data" / "state.sqlite"

    def progress() -> tuple[int, int]:
        """(files done, sum of the files' resume ordinals): both only grow."""
        if not state_db.exists():
            return 0, 0
        con = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute("SELECT count(*) FILTER (WHERE status = 'done'), coalesce(sum(next_ordinal), 0) "
                              "FROM files").fetchone()
        except sqlite3.OperationalError:  # the collector is creating the schema
            return 0, 0
        finally:
            con.close()
        return int(row[0]), int(row[1])

    rng = random.Random(20261125)
    kills = stored = 0
    landed: list[tuple[int, int]] = []
    while kills < 10:
        before = progress()
        assert before[0] < inputs, f"the backlog ran out after {kills} kills: make the input bigger"
        want = rng.randint(1, 600)  # ordinals of progress to see before the kill: up to three Batches
        err = tmp_path / f"run-{kills + 1}.err"
        with open(err, "wb") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml", "--once"],
                                    cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=fh, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            now = before
            while proc.poll() is None and time.monotonic() < deadline:
                now = progress()
                if now[0] > before[0] or now[1] - before[1] >= want:
                    break
                time.sleep(0.02)  # polling interval, not synchronisation: the loop waits on the state
            alive = proc.poll() is None
            assert alive or proc.returncode == 0, err.read_text(errors="replace")
            assert now != before or not alive, "no progress within 300 s"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the collector and its workers
            proc.wait()
        assert alive, f"run {kills + 1} finished before it was killed: the backlog is too small for ten kills"
        after = progress()
        assert after[0] < inputs, "the kill landed after every file was done, not mid-work"
        kills += 1
        landed.append(after)
        rows, ids = distinct_ids(tmp_path)
        assert rows == ids, f"kill {kills}: {rows - ids} duplicate rows in the store"
        assert rows >= max(stored, 1), f"kill {kills}: the store went from {stored} rows to {rows}"
        stored = rows
    # The kills interrupted real work: part of the backlog is stored, none of it twice.
    rows, ids = distinct_ids(tmp_path)
    assert 0 < rows < total and rows == ids, (rows, ids, total, landed)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert distinct_ids(tmp_path) == (total, total)
    assert progress()[0] == inputs, "every input file is done in the state"


def test_what_the_collector_loaded_at_start_is_out_of_the_garbage_collectors_sight_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gc.freeze()`` once the sinks and rules are open: a full collection in the main process no
    longer walks the ~100 000 objects of the modules and configuration (0.52 → 0.08 s on a 1 M-event
    backlog); they are collectable again once the run ends (a process that goes on, like this one)."""
    import gc

    from wafpipe.collector.pipeline import Collector
    from wafpipe.config.root import load_config
    from wafpipe.sinks.duckdb.sink import DuckDBSink
    from wafpipe.tools.generate import generate_files

    generate_files(tmp_path / "incoming", events=300, files=1, fmt="cef", compression="gzip", seed=4)
    (tmp_path / "wafpipe.toml").write_text(
        'data_dir = "data"\n[[sources]]\ntype = "directory"\npath = "incoming"\n[[sinks]]\ntype = "duckdb"\n'
    )
    frozen_while_writing: list[int] = []
    write = DuckDBSink.write

    def watched(self: DuckDBSink, batch: object) -> object:
        frozen_while_writing.append(gc.get_freeze_count())
        return write(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(DuckDBSink, "write", watched)
    monkeypatch.chdir(tmp_path)
    report = Collector(load_config(tmp_path / "wafpipe.toml"), workers=0, serve_api=False).run(once=True)
    assert report.exit_code == 0 and frozen_while_writing
    assert min(frozen_while_writing) > 10_000 and gc.get_freeze_count() == 0


def test_a_backlogs_first_files_are_decoding_before_the_api_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``run --once`` hands the first files to the workers before the API loads and starts (FastAPI:
    ~0.2 s of the main process), so that the first file's first pass runs meanwhile; the first
    worker is started by ``wafpipe run`` before the collector's own modules load."""
    from wafpipe.collector.api import LocalApi
    from wafpipe.collector.pipeline import Collector
    from wafpipe.collector.workers import DecodePool
    from wafpipe.config.root import load_config
    from wafpipe.tools.generate import generate_files

    generate_files(tmp_path / "incoming", events=300, files=6, fmt="cef", compression="gzip", seed=5)
    write_config(tmp_path)
    config = load_config(tmp_path / "wafpipe.toml")
    pool = DecodePool.configured(config.pipeline, 1)
    pool.prestart(1)
    assert len(pool.pids()) == 1  # started before any collector exists
    at_api_start: list[int] = []
    start = LocalApi.start

    def watched(self: LocalApi) -> None:
        at_api_start.append(pool.busy())
        start(self)

    monkeypatch.setattr(LocalApi, "start", watched)
    monkeypatch.chdir(tmp_path)
    collector = Collector(config, pool=pool)
    report = collector.run(once=True, progress=False)
    assert report.exit_code == 0 and report.files_done == 6 and report.events == 300
    # two files in flight per worker: one in the worker's hands, one waiting for it; the API after
    assert at_api_start == [2]
    assert count(tmp_path) == 300
