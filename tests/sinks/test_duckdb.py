"""The embedded store's writer on real files: rows rebuild to the core's documents, exactly once by
the ledger (and id by id where the ledger cannot vouch), the files table, durability, read-only
opens, old stores refused, settings."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from tests.filebuilder import make_file, sample_lines
from wafpipe import _native
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.errors import SinkError
from wafpipe.model import Batch, Event
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store.documents import rebuild
from wafpipe.tools.generate import generate_files

LINE = (
    "CEF:0|Incapsula|SIEMintegration|1|1|SQL Injection|0| sourceServiceName=shop.example.com siteid=61539044 "
    "suid=1843222 requestClientApplication=sqlmap/1.7 ccode=UA start={start} request=shop.example.com/login "
    "requestMethod=POST cn1=403 app=HTTPS act=REQ_BLOCKED_SESSION src=77.222.131.19 cpt=63326"
)


def make_doc(start_ms: int = 1624459989430, **waf: object) -> dict[str, Any]:
    """The core's document of one CEF line with an empty file context."""
    doc: dict[str, Any] = json.loads(_native.document("cef", LINE.format(start=start_ms), parse_user_agent))
    doc["imperva"]["waf"].update(waf)
    return doc


def batches(path: Path, rows: int = 1000, start: int = 0) -> list[Batch]:
    """The Batches of one file read, with documents (to compare with what is stored)."""
    return list(read_path(path, batch_rows=rows, start_ordinal=start, documents=True).batches(path.name))


def stored(sink: DuckDBSink) -> dict[str, dict[str, Any]]:
    """Every stored event, rebuilt: id → document."""
    rows = sink.cursor().sql("SELECT * FROM events").to_arrow_table()
    ids = rows.column("_id").to_pylist()
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1][:3]
    return dict(rebuild(rows))


def write_all(sink: DuckDBSink, path: Path, rows: int = 1000, start: int = 0) -> tuple[int, dict[str, Any]]:
    """Write a file's Batches; return what was written and the documents the core emitted."""
    written, emitted = 0, {}
    for batch in batches(path, rows, start):
        emitted.update({i: orjson.loads(d) for i, d in zip(batch.ids, batch.documents or [], strict=True)})
        written += sink.write(batch).written
    return written, emitted


@pytest.fixture
def sink(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = DuckDBSink(tmp_path / "store" / "events.duckdb")
    s.open()
    yield s
    s.close()


@pytest.mark.parametrize(
    ("fmt", "compression", "bad"),
    [("cef", "gzip", False), ("leef", "zlib", False), ("w3c", "none", False), ("cef", "zlib", True),
     ("leef", "gzip", True), ("w3c", "zlib", True)],
)
def test_rows_rebuild_to_the_documents_the_core_emitted(
    tmp_path: Path, sink: DuckDBSink, fmt: str, compression: str, bad: bool
) -> None:
    """Every field, typed, of every event of generated files (their quirks, and with --bad-input the
    survivors of broken files) comes back from the store as the Elasticsearch sink sends it."""
    paths = generate_files(tmp_path / "in", events=600, files=2, fmt=fmt, compression=compression, seed=7,
                           bad_input=bad)
    emitted: dict[str, Any] = {}
    for path in sorted(paths):
        emitted.update(write_all(sink, path, rows=128)[1])
    assert emitted
    got = stored(sink)
    assert got.keys() == emitted.keys()
    for event_id, doc in emitted.items():
        assert got[event_id] == doc, event_id


def test_a_replayed_batch_is_recognised_by_the_ledger(tmp_path: Path, sink: DuckDBSink) -> None:
    """After a crash the collector reads a file again from the state's ordinal, which may lag the
    store's: Batches cut anywhere, overlapping what is stored, add only the lines past it."""
    path = tmp_path / "1_1.log"
    path.write_bytes(make_file(sample_lines(100)))
    first = batches(path, rows=7)
    assert sum(sink.write(b).written for b in first[:5]) == 35  # ordinals 0..34 stored, then "a crash"
    resumed = batches(path, rows=10, start=20)  # the state had only 20 lines
    results = [sink.write(b) for b in resumed]
    assert sum(r.written for r in results) == 65 and sum(r.duplicates for r in results) == 15
    assert len(stored(sink)) == 100
    ledger = sink.cursor().execute("SELECT next_ordinal, trusted FROM ledger").fetchall()
    assert ledger == [(100, True)]
    assert sum(sink.write(b).written for b in batches(path, rows=33)) == 0  # the whole file again


def test_the_ledger_path_does_not_look_up_ids(tmp_path: Path, sink: DuckDBSink) -> None:
    """A trusted file read is inserted by ordinal: rows whose ids are already stored by another
    route are not consulted (proof that no per-row existence check runs on this path)."""
    path = tmp_path / "1_1.log"
    path.write_bytes(make_file(sample_lines(10)))
    (only,) = batches(path)
    sink.write(batch_of([Event(only.ids[0], make_doc())]))  # a dead-letter replay stored one id
    assert sink.write(only).written == 10  # the ledger knew nothing of it
    assert sink.write(only).written == 0


def test_a_file_redelivered_under_another_name_adds_nothing(tmp_path: Path, sink: DuckDBSink) -> None:
    body = make_file(sample_lines(40))
    (tmp_path / "1_1.log").write_bytes(body)
    (tmp_path / "copy-of-1_1.log").write_bytes(body)
    assert write_all(sink, tmp_path / "1_1.log", rows=16)[0] == 40
    assert write_all(sink, tmp_path / "copy-of-1_1.log", rows=9)[0] == 0
    assert len(stored(sink)) == 40


def test_a_damaged_read_and_its_complete_copy_are_checked_id_by_id(tmp_path: Path, sink: DuckDBSink) -> None:
    """A body whose checksum does not match may hold other bytes than the file's own: its identity
    leaves the ledger's trust, and the complete copy's lines are stored where their ids differ."""
    lines = sample_lines(30)
    good = make_file(lines)
    damaged_lines = list(lines)
    damaged_lines[12] = damaged_lines[12].replace("shop.example.com", "shop.examp1e.com")
    plain = ("\n".join(lines) + "\n").encode()
    (tmp_path / "bad.log").write_bytes(make_file(damaged_lines, checksum=hashlib.md5(plain).hexdigest()))
    (tmp_path / "good.log").write_bytes(good)
    written, emitted = write_all(sink, tmp_path / "bad.log", rows=8)
    assert written == 30 and {d["imperva"]["waf"]["file"]["checksum_status"] for d in emitted.values()} == {"mismatch"}
    assert sink.cursor().execute("SELECT trusted FROM ledger").fetchall() == [(False,)]
    written, emitted = write_all(sink, tmp_path / "good.log", rows=8)
    assert written == 1  # the one line whose bytes differ; the other 29 ids are stored already
    assert len(stored(sink)) == 31


def test_events_gathered_otherwise_are_checked_id_by_id(sink: DuckDBSink) -> None:
    """Dead-letter replay and tools build Batches that are no file read: first write wins by id,
    also inside one Batch; an event stamped at ingest time is checked against the whole table."""
    first, second = make_doc(), make_doc(message="other")
    res = sink.write(batch_of([Event("x", first), Event("x", second), Event("y", second)]))
    assert (res.written, res.duplicates) == (2, 1)
    assert stored(sink)["x"] == first
    old = make_doc(timestamp_source="ingest_time")
    old["@timestamp"] = "2024-01-01T00:00:00.000Z"
    assert sink.write(batch_of([Event("i", old)])).written == 1
    replay = dict(old, **{"@timestamp": "2024-03-01T00:00:00.000Z"})
    res = sink.write(batch_of([Event("i", replay), Event("z", make_doc(1624459989999))]))
    assert (res.written, res.duplicates) == (1, 1)
    assert stored(sink)["i"]["@timestamp"] == "2024-01-01T00:00:00.000Z"
    assert sink.write(batch_of([])).written == 0


def test_each_file_has_its_facts_once(tmp_path: Path, sink: DuckDBSink) -> None:
    path = tmp_path / "7_9.log"
    path.write_bytes(make_file(sample_lines(25), header={"configId": "618"}))
    write_all(sink, path, rows=10)
    write_all(sink, path, rows=10)
    rows = sink.cursor().execute("SELECT identity, name, format, checksum_status, partial, facts FROM files").fetchall()
    assert len(rows) == 1
    identity, name, fmt, status, partial, facts = rows[0]
    assert (name, fmt, status, partial) == ("7_9.log", "cef", "ok", False)
    facts = json.loads(facts)
    assert facts["identity"] == identity and facts["header"]["configid"] == "618" and facts["lines"] == 25
    event_identity = sink.cursor().execute("SELECT DISTINCT imperva.waf.file.identity FROM events").fetchall()
    assert event_identity == [(identity,)]


def test_durable_on_return_without_close(tmp_path: Path) -> None:
    """A writer that dies right after ``write`` returned loses nothing (the WAL is synced)."""
    src = tmp_path / "1_1.log"
    src.write_bytes(make_file(sample_lines(500)))
    path = tmp_path / "crash.duckdb"
    script = textwrap.dedent(
        f"""
        import os
        from wafpipe.decode.reader import read_path
        from wafpipe.sinks.duckdb.sink import DuckDBSink
        s = DuckDBSink({str(path)!r})
        s.open()
        for batch in read_path({str(src)!r}, batch_rows=200).batches():
            s.write(batch)
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    with DuckDBSink(path, read_only=True) as ro:
        assert ro.cursor().execute("SELECT count(*) FROM events").fetchone() == (500,)
        assert ro.cursor().execute("SELECT next_ordinal FROM ledger").fetchone() == (500,)


def test_read_only_open(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    with DuckDBSink(path) as s:
        s.write(batch_of([Event("a", make_doc())]))
    with DuckDBSink(path, read_only=True) as ro:
        assert ro.cursor().execute("SELECT count(*) FROM events").fetchone() == (1,)
        with pytest.raises(SinkError, match="read-only"):
            ro.write(batch_of([Event("b", make_doc())]))
        with pytest.raises(SinkError, match="read-only"):
            ro.prune()
    with pytest.raises(SinkError, match="no DuckDB store"):
        DuckDBSink(tmp_path / "missing.duckdb", read_only=True).open()
    duckdb.connect(str(tmp_path / "other.duckdb")).close()
    with pytest.raises(SinkError, match="no wafpipe events table"):
        DuckDBSink(tmp_path / "other.duckdb", read_only=True).open()


def test_a_version_1_store_is_refused_with_the_command_that_migrates_it(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE events (id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)")
    con.execute("CREATE TABLE wafpipe_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO wafpipe_meta VALUES ('schema_version', '1')")
    con.close()
    for read_only in (False, True):
        with pytest.raises(SinkError, match="version 1 store") as info:
            DuckDBSink(path, read_only=read_only).open()
        assert "wafpipe store migrate" in str(info.value)


def test_second_process_is_refused_while_the_writer_holds_the_store(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    DuckDBSink(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from wafpipe.sinks.duckdb.sink import DuckDBSink\nimport sys\n"
            f"s = DuckDBSink({str(path)!r}); s.open(); print('ready', flush=True); sys.stdin.read()",
        ],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(SinkError) as info:
            DuckDBSink(path, read_only=True).open()
        assert "collector" in info.value.hint
    finally:
        holder.kill()
        holder.wait()
    with DuckDBSink(path, read_only=True) as ro:  # free again
        assert ro.cursor().execute("SELECT count(*) FROM events").fetchone() == (0,)


def test_memory_limit_and_threads_are_applied(tmp_path: Path) -> None:
    with DuckDBSink(tmp_path / "m.duckdb", memory_limit="300MiB", threads=1) as s:
        assert s.setting("memory_limit") == "300.0 MiB"
        assert int(s.setting("threads")) == 1
    ref = duckdb.connect()
    ref.execute("SET memory_limit = '128MB'")
    default = ref.execute("SELECT current_setting('memory_limit')").fetchone()
    with DuckDBSink(tmp_path / "m.duckdb", read_only=True) as ro:
        assert default is not None and ro.setting("memory_limit") == default[0]


def test_close_twice(sink: DuckDBSink) -> None:
    sink.close()
    sink.close()


def test_the_store_is_checkpointed_every_few_batches_in_small_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: rows committed but not checkpointed wait in memory, so the writer checkpoints
    after every CHECKPOINT_ROWS events it stores (the WAL is then empty), into row groups of
    ROW_GROUP_ROWS rows instead of DuckDB's 122 880."""
    from wafpipe.sinks.duckdb import connection

    monkeypatch.setattr(connection, "ROW_GROUP_ROWS", 2048)
    monkeypatch.setattr(connection, "CHECKPOINT_ROWS", 3000)
    [path] = generate_files(tmp_path / "in", events=5000, files=1, fmt="cef", compression="zlib", seed=3)
    store = tmp_path / "rg.duckdb"
    wal = Path(f"{store}.wal")
    with DuckDBSink(store) as s:
        sizes = []
        for batch in read_path(path, batch_rows=1000, documents=False).batches(path.name):
            s.write(batch)
            sizes.append(wal.stat().st_size if wal.exists() else 0)
        # the WAL grows for two Batches and is emptied by the checkpoint after the third
        assert sizes[0] < sizes[1] and sizes[2] == 0 and sizes[3] > 0, sizes
        groups = s.cursor().execute(
            "SELECT row_group_id, sum(count) FROM pragma_storage_info('events') WHERE column_name = '_id' AND segment_type <> 'VALIDITY' GROUP BY ALL ORDER BY 1"
        ).fetchall()
    counts = [int(n) for _, n in groups]
    assert counts[0] == max(counts) == 2048 and sum(counts) == 5000, groups  # DuckDB's would be one group
