"""The failpoint matrix (DESIGN §2 acknowledgement order, §8 failpoints): every named crash point,
with the DuckDB sink alone, with DuckDB + the Elasticsearch stand-in, DuckDB + the archive, and
DuckDB + the syslog sink forwarding to a real rsyslogd, and DuckDB + the Splunk HEC sink posting to
the HEC-shaped test server.

Each case runs ``wafpipe run --once`` in its own process group with ``WAFPIPE_FAILPOINT=<name>:<n>``,
checks that the point was reached (the process that reached it says so on stderr and exits 137),
kills what is left of the group, runs again without the failpoint and checks: every generated
event is in the store exactly once, the cluster holds each id exactly once, the state says every
file is done with its last ordinal, and the source moved each file to ``done/`` exactly once.

With the cluster (or syslog) sink, the receiver is down while the crashing run works (up again once every file
is spooled for the sender's failpoints), so every crash leaves undelivered records in the spool that
the restart must deliver — the case where a spool that lost or skipped records would show.

No timing: the kill happens at a named point; the only clocks are deadlines for a hang.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.fixtures import es_server  # noqa: F401 - the fixture, used by name
from tests.servers.rsyslog import RsyslogServer
from tests.servers.splunk_hec import HecServer
from wafpipe.decode.reader import read_path
from wafpipe.failpoints import NAMES
from wafpipe.model import Event
from wafpipe.sinks.archive.verify import verify
from wafpipe.tools.generate import generate_files

DS = "logs-imperva.waf-default"
BATCH = 100  # [pipeline] batch_size and the cluster sink's records per _bulk: many of each
# every format, two files each: 6 files, 2,400 events, about 30 Batches
PLAN = [("cef", "zlib", False, 800), ("leef", "gzip", False, 800), ("w3c", "none", True, 800)]
CONFIGS: dict[str, tuple[str, ...]] = {"duckdb": ("duckdb",), "duckdb+elasticsearch": ("duckdb", "elasticsearch"),
                                       "duckdb+archive": ("duckdb", "archive"), "duckdb+syslog": ("duckdb", "syslog"),
                                       "duckdb+splunk_hec": ("duckdb", "splunk_hec")}
CLUSTER_TYPES = {"elasticsearch", "opensearch"}
SPOOLING_TYPES = CLUSTER_TYPES | {"syslog", "splunk_hec"}  # sinks with the shared spool (its failpoints)
SYSLOG_ID = re.compile(r'\[wafpipe@32473 id="([^"]+)"\] ')
# Per-process pass on which the point fires: the 3rd Batch / append / chunk, the 2nd file acked,
# the 1st move of the spool's cursor (two sender threads: an acknowledgement moves the cursor only
# when its chunk is the oldest outstanding one, so only the first move is certain to happen early).
PASS = {"source.after_ack": 2, "sender.after_cursor": 1}
DEFAULT_PASS = 3
REACH_TIMEOUT_S = 180.0  # a run that neither reaches its failpoint nor ends by then is a failure
AFTER_HIT_TIMEOUT_S = 30.0  # a run that outlives one of its processes' death by this much hangs
HIT = re.compile(r"wafpipe: failpoint (\S+):(\d+) hit in process (\d+)")


def applies(name: str, sinks: tuple[str, ...]) -> bool:
    """Whether a run with these sinks passes ``name``. Every name must be classified here, so a new
    failpoint cannot slip out of the matrix."""
    if name.startswith("sink."):
        return name.split(".")[1] in sinks
    if name.startswith("spool."):
        return bool(SPOOLING_TYPES & set(sinks))
    if name.startswith("sender."):  # the cluster sinks' sender threads
        return bool(CLUSTER_TYPES & set(sinks))
    if name in ("decode.after_batch", "state.after_checkpoint", "source.after_ack"):
        return True
    raise AssertionError(f"failpoint {name} is not classified by the matrix: add it to applies()")


def in_worker(name: str) -> bool:
    """Failpoints passed in a decode worker process rather than the collector's main process
    (sender threads live in the main process: their exit is the run's exit)."""
    return name.startswith("decode.")


CASES = [
    pytest.param(config, name, id=f"{config}-{name}")
    for config, sinks in CONFIGS.items()
    for name in NAMES
    if applies(name, sinks)
]


@dataclass(frozen=True)
class Corpus:
    dir: Path
    names: list[str]
    ids: frozenset[str]
    resume: dict[str, int]  # file name → the state's next_ordinal once it is done: last ordinal + 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from datetime import UTC, datetime

    out = tmp_path_factory.mktemp("failpoint-input")
    start, end = datetime(2024, 6, 10, 6, tzinfo=UTC), datetime(2024, 6, 10, 7, tzinfo=UTC)
    paths: list[Path] = []
    for i, (fmt, comp, wrapped, events) in enumerate(PLAN):
        paths += generate_files(out, events=events, files=2, fmt=fmt, compression=comp, gzip_file=wrapped,
                                attack_ratio=0.3, start=start, end=end, seed=700 + i)
    resume: dict[str, int] = {}
    ids: list[str] = []
    for p in paths:
        events = [e for e in read_path(p).items() if isinstance(e, Event)]
        resume[p.name] = max(e.doc["imperva"]["waf"]["file"]["ordinal"] for e in events) + 1
        ids += [e.id for e in events]
    assert len(paths) == 6 and len(ids) == sum(e for *_, e in PLAN) == len(set(ids))
    return Corpus(out, sorted(p.name for p in paths), frozenset(ids), resume)


HEC_TOKEN = "failpoint-matrix-hec-token"  # noqa: S105 - a test token, given to the runs in WAFPIPE_TEST_HEC_TOKEN


def write_config(root: Path, sinks: tuple[str, ...], es_url: str | None, syslog_port: int | None = None,
                 hec_url: str | None = None) -> None:
    text = f"""
data_dir = "data"
[[sources]]
type = "directory"
path = "incoming"
patterns = ["*.log", "*.log.gz"]
poll_interval_s = 0.2
stable_checks = 1
after = "move"
done_dir = "done"
[[sinks]]
type = "duckdb"
[pipeline]
workers = 1
batch_size = {BATCH}
batch_timeout_s = 30
[api]
port = 0
"""
    if "elasticsearch" in sinks:
        assert es_url is not None
        text += f"""
[[sinks]]
type = "elasticsearch"
hosts = ["{es_url}"]
batch_size = {BATCH}
"""
    if "archive" in sinks:
        text += '\n[[sinks]]\ntype = "archive"\npath = "archive"\n'
    if "syslog" in sinks:
        assert syslog_port is not None
        text += f'\n[[sinks]]\ntype = "syslog"\nhost = "127.0.0.1"\nport = {syslog_port}\nbatch_size = {BATCH}\n'
    if "splunk_hec" in sinks:
        assert hec_url is not None
        text += (f'\n[[sinks]]\ntype = "splunk_hec"\nurl = "{hec_url}"\ntoken_env = "WAFPIPE_TEST_HEC_TOKEN"\n'
                 f"batch_size = {BATCH}\n")
    (root / "wafpipe.toml").write_text(text)


def command() -> list[str]:
    return [sys.executable, "-m", "wafpipe.cli", "run", "-c", "wafpipe.toml", "--once"]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "WAFPIPE_FAILPOINT"}
    return {**base, **extra}


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def hits(stderr: Path) -> list[tuple[str, int, int]]:
    return [(m[1], int(m[2]), int(m[3])) for m in HIT.finditer(stderr.read_text(errors="replace"))]


@dataclass
class Crash:
    pid: int  # the collector's main process
    returncode: int | None  # None: still running when the group was killed
    hit_pid: int | None  # the process that reached the failpoint
    hung: bool
    stderr: str


def crash_run(root: Path, name: str, n: int, on_poll: Callable[[], None] | None = None) -> Crash:
    """``run --once`` with the failpoint armed, until the main process exits or, after a process
    reached the failpoint, stops making an end; then SIGKILL to the whole group. ``on_poll`` runs
    at every poll (to act on the state's progress)."""
    err = root / f"crash-{name}.err"
    with open(err, "wb") as fh:
        proc = subprocess.Popen(command(), cwd=root, stdout=subprocess.DEVNULL, stderr=fh, start_new_session=True,
                                env=env(WAFPIPE_FAILPOINT=f"{name}:{n}"))
    try:
        deadline = time.monotonic() + REACH_TIMEOUT_S
        hit_at: float | None = None
        while proc.poll() is None:
            now = time.monotonic()
            if hit_at is None and hits(err):
                hit_at = now
            if on_poll is not None:
                on_poll()
            if now > deadline or (hit_at is not None and now - hit_at > AFTER_HIT_TIMEOUT_S):
                break
            time.sleep(0.05)
        returncode = proc.poll()
    finally:
        kill_group(proc)  # workers, whatever outlived the main process
    found = [h for h in hits(err) if h[0] == name]
    assert all(h[1] == n for h in found)
    return Crash(proc.pid, returncode, found[0][2] if found else None, returncode is None and bool(found),
                 err.read_text(errors="replace"))


def state_files(root: Path) -> dict[str, tuple[str, int]]:
    """{file name: (status, next_ordinal)} from the state database (readable while a collector runs)."""
    files: dict[str, tuple[str, int]] = {}
    db = root / "data" / "state.sqlite"
    if db.exists():
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for name, status, ordinal in con.execute("SELECT name, status, next_ordinal FROM files"):
                assert name not in files, f"{name} has two rows in the state"
                files[name] = (status, int(ordinal))
        except sqlite3.OperationalError:  # being created by the collector
            return {}
        finally:
            con.close()
    return files


def undelivered(spool: Path) -> int:
    """Bytes of the spool's segments after its cursor."""
    sizes = {int(p.stem): p.stat().st_size for p in spool.glob("*.ndjson")}
    cursor = json.loads((spool / "cursor.json").read_text()) if (spool / "cursor.json").exists() else {}
    seg, off = int(cursor.get("segment", 0)), int(cursor.get("offset", 0))
    return sum(size - (off if s == seg else 0) for s, size in sizes.items() if s >= seg)


def store_ids(root: Path) -> list[str]:
    con = duckdb.connect(str(root / "data" / "wafpipe.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT _id FROM events").fetchall()]
    finally:
        con.close()


def ledger_disagreements(root: Path) -> list[tuple[str, int, int | None]]:
    """Files whose stored events reach past the store's ledger: (identity, next ordinal stored,
    the ledger's). The ledger commits with its events, so a crash anywhere leaves none."""
    con = duckdb.connect(str(root / "data" / "wafpipe.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT s.identity, s.reach, l.next_ordinal FROM (SELECT imperva.waf.file.identity AS identity, "
            "max(imperva.waf.file.ordinal) + 1 AS reach FROM events GROUP BY 1) s "
            "LEFT JOIN ledger l USING (identity) WHERE l.next_ordinal IS NULL OR l.next_ordinal < s.reach"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(("config", "name"), CASES)
def test_crash_at_failpoint_then_restart_loses_and_duplicates_nothing(
    config: str, name: str, tmp_path: Path, corpus: Corpus, request: pytest.FixtureRequest
) -> None:
    sinks = CONFIGS[config]
    es: ElasticsearchServer | None = request.getfixturevalue("es_server") if "elasticsearch" in sinks else None
    rs = RsyslogServer(tmp_path / "rsyslog").start() if "syslog" in sinks else None
    if rs is not None:
        request.addfinalizer(rs.stop)
    hec = HecServer(HEC_TOKEN).start() if "splunk_hec" in sinks else None
    if hec is not None:
        request.addfinalizer(hec.stop)
        request.getfixturevalue("monkeypatch").setenv("WAFPIPE_TEST_HEC_TOKEN", HEC_TOKEN)
    write_config(tmp_path, sinks, es.url if es else None, rs.port if rs else None, hec.url if hec else None)
    shutil.copytree(corpus.dir, tmp_path / "incoming")
    n = PASS.get(name, DEFAULT_PASS)
    on_poll = None
    if es is not None and not in_worker(name):
        # The cluster is down while the pipeline works, so the crash leaves undelivered records in
        # the spool that the restart must deliver. The sender's failpoints need answers: the cluster
        # comes back once every file is spooled, so the sender dies with a backlog behind it. (A
        # worker's death does not end the run, which would then wait for the cluster to drain.)
        es.down()
        if name.startswith("sender."):
            def on_poll() -> None:
                if not es.is_up and all(s == "done" for s, _ in state_files(tmp_path).values()) and (
                        len(state_files(tmp_path)) == len(corpus.names)):
                    es.up()

    if rs is not None and not in_worker(name):
        rs.stop()  # the syslog receiver is down likewise: the crash leaves the spool undelivered
    if hec is not None and not in_worker(name):
        hec.busy_first = 1 << 30  # HEC answers 503 (busy) to every post until the restart

    crash = crash_run(tmp_path, name, n, on_poll)
    if es is not None and not es.is_up:
        es.up()
    if rs is not None and not rs.is_up:
        rs.restart()
    if hec is not None:
        hec.busy_first = 0
    where = f"{name}:{n} with sinks {'+'.join(sinks)}"
    assert crash.hit_pid is not None, (
        f"failpoint {where} was never reached (exit {crash.returncode}): misplaced, or the run is too "
        f"small to pass it {n} times\n{crash.stderr[-3000:]}")
    if crash.hung:
        raise TimeoutError(
            f"{where}: the collector kept running {AFTER_HIT_TIMEOUT_S:g} s after process {crash.hit_pid} "
            f"died at the failpoint, without ending\n{crash.stderr[-3000:]}")
    if in_worker(name):
        # The worker died, not the collector: it notices, says so, reads the file again with a new
        # worker and ends on its own (1 only if a file lost too many workers).
        assert crash.hit_pid != crash.pid, f"{where}: passed in the main process, not in a worker"
        assert crash.returncode in (0, 1), f"{where}: exit {crash.returncode}\n{crash.stderr[-3000:]}"
        assert f"decode worker {crash.hit_pid}" in crash.stderr, f"{where}: the worker's death was not reported"
    else:
        assert crash.hit_pid == crash.pid, f"{where}: passed in process {crash.hit_pid}, not the collector's"
        assert crash.returncode == 137, (
            f"{where}: the collector did not exit 137 at its failpoint (exit {crash.returncode})\n"
            f"{crash.stderr[-3000:]}")
        if name.startswith("sender."):
            assert es is not None and len(es.document_ids(DS)) < len(corpus.ids), f"{where}: nothing left to send"
        else:
            done = sum(s == "done" for s, _ in state_files(tmp_path).values())
            assert done < len(corpus.names), f"{where} fired after every file was done: choose a smaller pass"

    if "archive" in sinks:  # at every failpoint, the archive verifies
        verdict = verify(tmp_path / "archive")
        assert verdict.ok or verdict.lines == 0, f"{where}: after the crash: {verdict.broken[:5]}"
    if (tmp_path / "data" / "wafpipe.duckdb").exists():  # at every failpoint, store and ledger agree
        assert not ledger_disagreements(tmp_path), f"{where}: after the crash, the ledger disagrees with the store"

    # Restart without the failpoint: it finishes, and everything is there exactly once.
    res = subprocess.run(command(), cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env())
    assert res.returncode == 0, f"restart after {where}: exit {res.returncode}\n{res.stderr[-3000:]}"
    ids = store_ids(tmp_path)
    dup = [i for i, c in Counter(ids).items() if c > 1]
    assert not dup, f"{where}: {len(dup)} ids twice in the store, e.g. {dup[:3]}"
    missing = corpus.ids - set(ids)
    assert not missing, f"{where}: {len(missing)} of {len(corpus.ids)} events lost from the store"
    assert len(ids) == len(corpus.ids), f"{where}: {len(ids) - len(corpus.ids)} foreign rows in the store"
    assert not ledger_disagreements(tmp_path), f"{where}: the store's ledger disagrees with its events"
    if es is not None:
        docs = es.document_ids(DS)
        dup = [i for i, c in Counter(docs).items() if c > 1]
        assert not dup, f"{where}: {len(dup)} ids twice in the cluster, e.g. {dup[:3]}"
        assert set(docs) == corpus.ids, (
            f"{where}: {len(corpus.ids - set(docs))} events lost from the cluster, {len(set(docs) - corpus.ids)} foreign")
        assert undelivered(tmp_path / "data" / "spool" / "elasticsearch") == 0, f"{where}: the spool is not empty"
    if rs is not None:
        received = [m[1] for m in map(SYSLOG_ID.search, rs.wait_for(len(corpus.ids))) if m]
        dup = [i for i, c in Counter(received).items() if c > 1]
        assert not dup, f"{where}: {len(dup)} events received twice by the syslog receiver, e.g. {dup[:3]}"
        assert set(received) == corpus.ids, (
            f"{where}: {len(corpus.ids - set(received))} events never reached the syslog receiver, "
            f"{len(set(received) - corpus.ids)} foreign")
        assert undelivered(tmp_path / "data" / "spool" / "syslog") == 0, f"{where}: the syslog spool is not empty"
    if hec is not None:
        posted = hec.ids()
        dup = [i for i, c in Counter(posted).items() if c > 1]
        assert not dup, f"{where}: {len(dup)} events posted to HEC twice, e.g. {dup[:3]}"
        assert set(posted) == corpus.ids, f"{where}: {len(corpus.ids - set(posted))} events never reached HEC"
        assert undelivered(tmp_path / "data" / "spool" / "splunk_hec") == 0, f"{where}: the HEC spool is not empty"
    if "archive" in sinks:
        verdict = verify(tmp_path / "archive")
        assert verdict.ok, f"{where}: the archive does not verify: {verdict.broken[:5]}"
        archived = duckdb.execute("SELECT _id FROM read_parquet(?)",
                                  [f"{tmp_path}/archive/events/*/*/*.parquet"]).fetchall()  # fmt: skip
        dup = [i for i, c in Counter(r[0] for r in archived).items() if c > 1]
        assert not dup, f"{where}: {len(dup)} ids twice in the archive, e.g. {dup[:3]}"
        assert {r[0] for r in archived} == corpus.ids, f"{where}: the archive lost or gained events"
        originals = sorted(p.read_bytes() for p in (tmp_path / "archive" / "originals").rglob("*") if p.is_file())
        assert originals == sorted(p.read_bytes() for p in (tmp_path / "done").iterdir()), (
            f"{where}: the archive does not hold each original file once, as received")
    files = state_files(tmp_path)
    expected = {f: ("done", k) for f, k in corpus.resume.items()}
    assert files == expected, f"{where}: the state disagrees with the input: {files} != {expected}"
    assert sorted(p.name for p in (tmp_path / "incoming").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == corpus.names, f"{where}: a file moved twice"


def test_every_failpoint_is_in_the_matrix() -> None:
    """Each name is exercised by at least one configuration, except ``sink.opensearch.*`` which needs
    an OpenSearch sink (the same ClusterSink code, named by engine)."""
    covered = {name for config, sinks in CONFIGS.items() for name in NAMES if applies(name, sinks)}
    assert set(NAMES) - covered == {n for n in NAMES if n.startswith("sink.opensearch.")}
