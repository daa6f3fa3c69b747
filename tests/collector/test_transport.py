"""Batches between a decode worker and the main process (issue 20 item 3, DESIGN §1): Arrow IPC,
not pickled Batches; documents only when a sink needs them; a message cut short by a dying worker
is a dead worker, not a crash of the collector. Nothing here waits for a time to pass: each pool
test reads until the event it expects, the deadline only guards against a hang."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path

import pytest

from wafpipe.collector import transport
from wafpipe.collector.fanout import needs_documents
from wafpipe.collector.pipeline import Collector
from wafpipe.collector.task import Task
from wafpipe.collector.transport import TransportError
from wafpipe.collector.workers import DecodePool, WorkerDied
from wafpipe.collector.workers.pool import _Worker
from wafpipe.collector.workers.process import NICENESS, WorkerProcess
from wafpipe.config.root import load_config
from wafpipe.decode.batch import BatchBuilder
from wafpipe.decode.reader.file import read_path
from wafpipe.model import Batch, FileRef
from wafpipe.tools.generate import generate_files

GUARD_S = 120.0  # a hang fails the test instead of blocking the suite; no result depends on it


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four files of 300 events with bad input: decode and cut-line problems, a truncated body
    (a ContainerError in the final info) and a checksum mismatch."""
    out = tmp_path_factory.mktemp("bad")
    return sorted(generate_files(out, events=300, files=1, bad_input=True, seed=3))


def read_all(path: Path, *, documents: bool) -> list[Batch]:
    return list(read_path(path, batch_rows=100, documents=documents).batches(f"key-{path.name}"))


def ref_of(path: Path) -> FileRef:
    st = path.stat()
    return FileRef("incoming", path.name, str(path), st.st_size, st.st_mtime_ns, f"key-{path.name}")


def assert_same(got: Batch, want: Batch) -> None:
    assert got.events.schema.equals(want.events.schema, check_metadata=True)
    assert got.events.equals(want.events)
    assert got.documents == want.documents
    for name in ("file_key", "first_ordinal", "next_ordinal", "problems", "final", "format", "error", "file_read",
                 "redacted"):
        assert getattr(got, name) == getattr(want, name), name
    if want.info is None:
        assert got.info is None
    else:
        assert got.info is not None and got.info.facts() == want.info.facts()
        assert repr(got.info.error) == repr(want.info.error)
        assert getattr(got.info.error, "hint", None) == getattr(want.info.error, "hint", None)


# -- the message -----------------------------------------------------------------------------------


@pytest.mark.parametrize("documents", [False, True], ids=["without documents", "with documents"])
def test_every_batch_of_bad_files_round_trips(bad_files: list[Path], documents: bool) -> None:
    kinds: set[str] = set()
    finals = 0
    for path in bad_files:
        for i, batch in enumerate(read_all(path, documents=documents)):
            assert (batch.documents is not None) is documents
            batch.redacted = {"card_number": i + 1, "parameter": 2}  # what a redacting worker counted
            task_id, got = transport.decode(transport.encode(40 + i, batch))
            assert task_id == 40 + i
            assert_same(got, batch)
            kinds |= {p.kind for p in batch.problems}
            finals += batch.final and batch.info is not None
    # the cases the header must carry: line problems with raw bytes and context, file verdicts
    assert {"decode", "cut_line", "checksum", "compression"} <= kinds
    assert finals == len(bad_files)


def test_an_empty_final_batch_with_an_error_round_trips() -> None:
    failed = BatchBuilder("key", 7, documents=False).build(final=True, error="internal error: boom")
    _, got = transport.decode(transport.encode(1, failed))
    assert_same(got, failed)
    assert len(got) == 0 and got.error == "internal error: boom" and got.next_ordinal == 7


def test_the_events_are_read_in_place_not_copied(bad_files: list[Path]) -> None:
    batch = read_all(bad_files[0], documents=False)[0]
    message = transport.encode(1, batch)
    _, got = transport.decode(message)
    start, end = message.address, message.address + message.size
    buffers = [b for column in got.events.columns for b in column.buffers() if b is not None and b.size]
    assert buffers and all(start <= b.address < end for b in buffers)


def test_a_message_cut_anywhere_is_refused_with_a_clear_error(bad_files: list[Path]) -> None:
    batch = read_all(bad_files[0], documents=True)[-1]
    whole = transport.encode(3, batch).to_pybytes()
    for cut in (0, 3, 8, 40, len(whole) // 2, len(whole) - 1):
        with pytest.raises(TransportError) as caught:
            transport.decode(whole[:cut])
        assert "shorter than its prefix" in str(caught.value) or "truncated" in str(caught.value)
    with pytest.raises(TransportError, match="1 past the end its header announces"):
        transport.decode(whole + b"x")
    with pytest.raises(TransportError, match="not a Batch message"):
        transport.decode(b"PK\x03\x04" + whole[4:])


# -- the handover ----------------------------------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[Connection, socket.socket]]:
    """Our end as a Connection, the peer's as a raw socket (to send broken notices)."""
    ours, theirs = socket.socketpair()
    conn = Connection(ours.detach())
    try:
        yield conn, theirs
    finally:
        conn.close()
        theirs.close()


def test_send_hands_over_a_sealed_file_that_receive_maps_in_place(
    bad_files: list[Path], pair: tuple[Connection, socket.socket]
) -> None:
    """The message in the shared file is the one :func:`transport.encode` makes, whole, however
    large; the parent reads the events where they lie in the mapping."""
    conn, theirs = pair
    peer = Connection(os.dup(theirs.fileno()))
    small = read_all(bad_files[0], documents=True)[:3]
    whole = list(read_path(bad_files[0], batch_rows=1000, documents=True).batches("key"))[0]
    batches = [*small, whole]
    sent = threading.Thread(target=lambda: [transport.send(peer, i, b) for i, b in enumerate(batches)])
    sent.start()
    try:
        for i, batch in enumerate(batches):
            message = transport.read_message(conn)
            assert message.to_pybytes() == transport.encode(i, batch).to_pybytes()
            task_id, got = transport.decode(message)
            assert task_id == i
            assert_same(got, batch)
            start, end = message.address, message.address + message.size
            buffers = [b for c in got.events.columns for b in c.buffers() if b is not None and b.size]
            assert buffers and all(start <= b.address < end for b in buffers)
            conn.send_bytes(transport.ACK)
        assert message.size > 1_000_000  # the last: many times the socket's buffer
    finally:
        sent.join(GUARD_S)
        peer.close()


def test_a_worker_waits_until_its_batch_is_taken(bad_files: list[Path], pair: tuple[Connection, socket.socket]) -> None:
    """At most one Batch per worker is handed over and not yet taken: the next is not decoded (nor
    its shared file filled) before the parent says it took the last one."""
    conn, theirs = pair
    peer = Connection(os.dup(theirs.fileno()))
    first, second = read_all(bad_files[0], documents=False)[:2]
    progress: list[str] = []

    def worker() -> None:
        for i, batch in enumerate((first, second)):
            transport.send(peer, i, batch)
            progress.append(f"sent {i}")

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert transport.decode(transport.read_message(conn))[0] == 0  # taken, not yet acknowledged
        # (a worker that did not wait would send its next notice now: half a second is plenty for it
        # to show, and a worker that waits passes however long this takes)
        assert not conn.poll(0.5)
        assert progress == []
        conn.send_bytes(transport.ACK)
        assert transport.receive(conn)[0] == 1  # taken and acknowledged
        thread.join(GUARD_S)
        assert progress == ["sent 0", "sent 1"]
    finally:
        thread.join(GUARD_S)
        peer.close()


def _notice(size: int, magic: bytes = transport.MAGIC_NOTICE) -> bytes:
    return struct.pack("<4s4xQ", magic, size)


def _memfd(content: bytes, *, seal: bool = True) -> int:
    fd = os.memfd_create("test", os.MFD_ALLOW_SEALING)
    os.write(fd, content)
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
                    | fcntl.F_SEAL_WRITE)
    return fd


@pytest.mark.parametrize(
    ("notice", "content", "seal", "error"),
    [
        (_notice(64, b"PK\x03\x04"), b"x" * 64, True, "not a Batch notice"),
        (_notice(65), b"x" * 64, True, "announced as 65 bytes in a file of 64"),
        (_notice(63), b"x" * 64, True, "announced as 63 bytes in a file of 64"),
        (_notice(64), b"x" * 64, False, "not sealed"),
        (_notice(0), b"", True, "an empty Batch message"),
        (_notice(64), None, True, "without its shared file"),
    ],
    ids=["magic", "longer than its file", "shorter than its file", "unsealed", "empty", "no file"],
)
def test_a_notice_that_cannot_be_a_message_is_refused_and_its_file_closed(
    pair: tuple[Connection, socket.socket], notice: bytes, content: bytes | None, seal: bool, error: str
) -> None:
    conn, theirs = pair
    fds = [] if content is None else [_memfd(content, seal=seal)]
    try:
        socket.send_fds(theirs, [notice], fds)
        before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(TransportError, match=error) as caught:
            transport.read_message(conn)
        assert not caught.value.torn
        assert len(os.listdir("/proc/self/fd")) == before  # the received copy was closed
    finally:
        for fd in fds:
            os.close(fd)


def test_a_notice_with_a_descriptor_that_is_no_file_is_refused(pair: tuple[Connection, socket.socket]) -> None:
    conn, theirs = pair
    read_end, write_end = os.pipe()
    try:
        socket.send_fds(theirs, [_notice(64)], [read_end])
        with pytest.raises(TransportError, match="cannot be inspected|announced as 64 bytes"):
            transport.read_message(conn)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_notice_torn_by_a_dying_worker_is_torn(pair: tuple[Connection, socket.socket]) -> None:
    conn, theirs = pair
    theirs.sendall(_notice(1000)[:5])
    theirs.close()
    with pytest.raises(TransportError, match="cut short: 5 of 16 bytes") as caught:
        transport.read_message(conn)
    assert caught.value.torn


def test_a_socket_closed_between_notices_is_end_of_file(pair: tuple[Connection, socket.socket]) -> None:
    conn, theirs = pair
    theirs.close()
    with pytest.raises(EOFError):
        transport.read_message(conn)


# -- the pool ------------------------------------------------------------------------------------


# Misbehaving workers, run as `python -c SCRIPT FD`: the same process and socket as a real one.
_SEND_TORN_AND_DIE = """
import os, sys
from multiprocessing.connection import Connection, wait
conn = Connection(int(sys.argv[1]))
conn.recv()  # the task
os.write(conn.fileno(), b"WPM1" + bytes(2))  # a notice cut short, then gone
os._exit(137)
"""
_SEND_GARBAGE_AND_WAIT = """
import sys
from multiprocessing.connection import Connection, wait
conn = Connection(int(sys.argv[1]))
conn.recv()
conn.send_bytes(b"not a batch message at all")  # a complete frame that is no Batch
conn.recv()  # blocks until the pool stops it
"""


def _pool_with(script: str, task: Task) -> DecodePool:
    """A pool of one worker whose process runs ``script`` with ``task`` in hand."""
    pool = DecodePool(1, 100, 1.0)
    assert pool._workers == []  # a worker starts with its first task
    proc = WorkerProcess([], python_args=("-c", script))
    proc.conn.send(task)
    pool._workers.append(_Worker(0, proc, task=task))
    return pool


def _until_died(pool: DecodePool) -> WorkerDied:
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        for _, item in pool.results(1.0):
            assert isinstance(item, WorkerDied), f"expected a dead worker, got {item!r}"
            return item
    raise AssertionError("the pool never reported the dead worker")


@pytest.mark.parametrize(
    ("script", "exitcode"), [(_SEND_TORN_AND_DIE, 137), (_SEND_GARBAGE_AND_WAIT, -9)], ids=["torn", "garbage"]
)
def test_a_worker_whose_message_cannot_be_read_is_a_dead_worker_and_replaced(
    bad_files: list[Path], script: str, exitcode: int
) -> None:
    task = Task(9, ref_of(bad_files[0]), None, documents=False)
    pool = _pool_with(script, task)
    try:
        died = _until_died(pool)
        assert died.exitcode == exitcode and pool.deaths == 1
        # the replacement decodes the file again, as the collector would ask it to
        pool.submit(Task(10, task.ref, None, documents=False))
        batches = collect(pool, 10)
        assert sum(len(b) for b in batches) == sum(len(b) for b in read_all(bad_files[0], documents=False))
    finally:
        pool.close()


def collect(pool: DecodePool, task_id: int) -> list[Batch]:
    out: list[Batch] = []
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        for got_id, item in pool.results(1.0):
            assert got_id == task_id and isinstance(item, Batch), item
            out.append(item)
            if item.final:
                return out
    raise AssertionError("the pool never finished the task")


def test_workers_start_only_when_a_task_needs_one(bad_files: list[Path]) -> None:
    """One file never pays for an idle second process; an idle worker is reused before a new one."""
    pool = DecodePool(2, 100, 60.0)
    try:
        assert pool.pids() == []
        pool.submit(Task(1, ref_of(bad_files[0]), None, documents=False))
        first = pool.pids()
        assert len(first) == 1
        collect(pool, 1)
        pool.submit(Task(2, ref_of(bad_files[0]), None, documents=False))
        assert pool.pids() == first  # the idle worker took it
        collect(pool, 2)
        pool.submit(Task(3, ref_of(bad_files[0]), None, documents=False))
        pool.submit(Task(4, ref_of(bad_files[1]), None, documents=False))
        assert len(pool.pids()) == 2 and first[0] in pool.pids()
        pool.submit(Task(5, ref_of(bad_files[0]), None, documents=False))
        assert len(pool.pids()) == 2 and pool.depth() == 1  # never more than asked for
    finally:
        pool.close()


def test_the_oldest_tasks_batches_are_read_first_when_several_workers_have_one_ready(bad_files: list[Path]) -> None:
    """Files are read through one at a time, not a Batch from each worker in turn (which made equal
    files end together, and the next files' first passes leave the main process idle at once).
    The older task is on the second worker, which a turn-taking pool would read second."""
    pool = DecodePool(2, 100, 60.0)
    try:
        pool.submit(Task(2, ref_of(bad_files[0]), None, documents=False))  # the first worker
        pool.submit(Task(1, ref_of(bad_files[0]), None, documents=False))  # the second worker
        order: list[int] = []
        deadline = time.monotonic() + GUARD_S
        done = False
        while not done:
            busy = [w.conn for w in pool._workers if w.task is not None]
            while len(wait(busy, timeout=1.0)) < len(busy):  # every busy worker has a Batch ready
                assert time.monotonic() < deadline, "the workers never had a Batch ready together"
            task_id, item = next(pool.results(0))
            assert isinstance(item, Batch)
            order.append(task_id)
            done = item.final and task_id == 2
        first_of_two = order.index(2)
        assert first_of_two >= 2 and set(order[:first_of_two]) == {1} and set(order[first_of_two:]) == {2}
    finally:
        pool.close()


def test_workers_run_at_a_lower_priority_than_the_collector(bad_files: list[Path]) -> None:
    """The main process stores every Batch and is the narrow part: a worker yields the CPU to it."""
    pool = DecodePool(1, 100, 60.0)
    try:
        pool.submit(Task(1, ref_of(bad_files[0]), None, documents=False))
        collect(pool, 1)  # the worker is past its start-up
        [pid] = pool.pids()
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, ours + NICENESS)  # 19: the lowest there is
    finally:
        pool.close()


@pytest.mark.parametrize("documents", [False, True], ids=["without documents", "with documents"])
def test_a_worker_process_renders_documents_only_when_asked(bad_files: list[Path], documents: bool) -> None:
    path = bad_files[-1]
    pool = DecodePool(1, 100, 60.0)
    try:
        pool.submit(Task(1, ref_of(path), None, documents=documents))
        got = collect(pool, 1)
    finally:
        pool.close()
    want = read_all(path, documents=documents)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for b in (g, w):  # without the time each read happened (event.ingested, a problem's ingest_ms)
            b.events = b.events.drop_columns(["event"])
            for p in b.problems:
                (p.context or {}).pop("ingest_ms", None)
        assert_same(g, w)


# -- who asks for documents ------------------------------------------------------------------------


SOURCE = """
data_dir = "data"
[[sources]]
type = "directory"
path = "incoming"
"""
ELASTIC = """
[[sinks]]
type = "elasticsearch"
hosts = ["http://127.0.0.1:9"]
"""


@pytest.mark.parametrize(
    ("sinks", "documents"),
    [
        ('[[sinks]]\ntype = "duckdb"\n', False),
        (ELASTIC, True),
        ('[[sinks]]\ntype = "duckdb"\n' + ELASTIC, True),
    ],
    ids=["duckdb", "elasticsearch", "both"],
)
def test_tasks_ask_for_documents_only_when_a_sink_needs_them(
    tmp_path: Path, bad_files: list[Path], sinks: str, documents: bool
) -> None:
    (tmp_path / "incoming").mkdir()
    (tmp_path / "wafpipe.toml").write_text(SOURCE + sinks)
    collector = Collector(load_config(tmp_path / "wafpipe.toml"), workers=0, serve_api=False)
    submitted: list[Task] = []
    collector.pool.submit = submitted.append  # type: ignore[method-assign]
    try:
        assert needs_documents(collector.sinks) is documents
        collector.offer(ref_of(bad_files[0]))
    finally:
        collector.pool.close()
        collector.state.close()
    assert [t.documents for t in submitted] == [documents]


def test_a_sink_needs_documents_unless_it_says_otherwise() -> None:
    from wafpipe.sinks.base import Sink, WriteResult
    from wafpipe.sinks.duckdb.sink import DuckDBSink

    class Plain(Sink):
        def write(self, batch: Batch) -> WriteResult:
            return WriteResult()

    assert Plain().needs_documents and not DuckDBSink(":memory:").needs_documents
    assert needs_documents([]) is False
