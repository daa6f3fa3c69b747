"""The DuckDB sink on real files: first write wins, durability, retention, read-only, settings."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from wafpipe import _native
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.errors import QueryError, SinkError
from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store.service import ReadService

LINE = (
    "CEF:0|Incapsula|SIEMintegration|1|1|SQL Injection|0| sourceServiceName=shop.example.com siteid=61539044 "
    "suid=1843222 requestClientApplication=sqlmap/1.7 ccode=UA start={start} request=shop.example.com/login "
    "requestMethod=POST cn1=403 app=HTTPS act=REQ_BLOCKED_SESSION src=77.222.131.19 cpt=63326"
)


def line_doc(line: str) -> dict[str, Any]:
    """The native core's ECS document of one CEF line with an empty file context, without the
    ``event.original`` the core adds: version 1's ``to_ecs(decode_cef(line), FileContext())``."""
    doc: dict[str, Any] = json.loads(_native.document("cef", line, parse_user_agent))
    assert doc["event"].pop("original") == line
    return doc


def make_doc(start_ms: int = 1624459989430, **waf: object) -> dict[str, object]:
    doc = line_doc(LINE.format(start=start_ms))
    doc["imperva"]["waf"].update(waf)  # type: ignore[index]
    return doc


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


class Reads:
    """What the store holds, asked through the read side (:mod:`wafpipe.store`) over the sink's
    own connection, as the collector does: the sink itself only writes."""

    def __init__(self, sink: DuckDBSink) -> None:
        self.service = ReadService(sink.cursor)

    def count(self, q: str = "") -> int:
        return int(self.service.count(q)["count"])

    def get(self, event_id: str) -> Event | None:
        found = self.service.event(event_id)
        return None if found is None else Event(found.pop("_id"), found)


@pytest.fixture
def sink(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = DuckDBSink(tmp_path / "store" / "events.duckdb")
    s.open()
    yield s
    s.close()


def test_write_stores_typed_columns_and_the_document(sink: DuckDBSink) -> None:
    doc = make_doc()
    res = sink.write(batch_of([Event("a", doc)]))
    assert (res.written, res.duplicates) == (1, 0)
    sink.close()
    con = duckdb.connect(str(sink.path), read_only=True)
    row = con.execute(
        "SELECT id, ts, site, site_id, account_id, source_ip, country, action, action_class, outcome, kind, "
        "attack_type, status, method, host, path, rule, security_event, user_agent, doc FROM events"
    ).fetchone()
    con.close()
    assert row is not None
    assert row[:19] == (
        "a",
        datetime(2021, 6, 23, 14, 53, 9, 430000),
        "shop.example.com",
        "61539044",
        "1843222",
        "77.222.131.19",
        "UA",
        "REQ_BLOCKED_SESSION",
        "blocked",
        "failure",
        "alert",
        "SQL Injection",
        403,
        "POST",
        "shop.example.com",
        "/login",
        None,
        True,
        "sqlmap/1.7",
    )
    import orjson

    assert orjson.loads(row[19]) == doc


def test_duplicates_across_batches_keep_the_first_document(sink: DuckDBSink) -> None:
    first = make_doc()
    second = copy.deepcopy(first)
    second["imperva"]["waf"]["site"]["name"] = "changed.example.com"  # type: ignore[index]
    assert sink.write(batch_of([Event("x", first)])).written == 1
    res = sink.write(batch_of([Event("x", second), Event("y", make_doc(1624459989431))]))
    assert (res.written, res.duplicates) == (1, 1)
    assert Reads(sink).count() == 2
    got = Reads(sink).get("x")
    assert got is not None and got.doc == first
    assert Reads(sink).count('site:"changed.example.com"') == 0


def test_duplicates_inside_one_batch_collapse_to_the_first(sink: DuckDBSink) -> None:
    first, second = make_doc(), make_doc()
    second["message"] = "second"
    res = sink.write(batch_of([Event("x", first), Event("x", second), Event("x", second)]))
    assert (res.written, res.duplicates) == (1, 2)
    got = Reads(sink).get("x")
    assert got is not None and "message" not in got.doc


def test_replay_of_a_real_file_is_harmless(tmp_path: Path, sink: DuckDBSink) -> None:
    """Ids from the real reader: the same file under another name collapses onto the stored events."""
    lines = [LINE.format(start=1624459989430 + i) for i in range(50)] + [LINE.format(start=1624459989430)]
    body = "".join(line + "\n" for line in lines).encode()
    header = f"configId:1\nchecksum:{hashlib.md5(body).hexdigest()}\nformat:CEF\nstartTime:1\n|==|\n".encode()
    (tmp_path / "1_1.log").write_bytes(header + body)
    (tmp_path / "copy.log").write_bytes(header + body)
    events = [i for i in read_path(tmp_path / "1_1.log").items() if isinstance(i, Event)]
    assert len(events) == 51 and len({e.id for e in events}) == 51  # identical lines stay two events
    assert sink.write(batch_of(events)).written == 51
    again = [i for i in read_path(tmp_path / "copy.log").items() if isinstance(i, Event)]
    res = sink.write(batch_of(again[10:30]))
    assert (res.written, res.duplicates) == (0, 20)
    assert Reads(sink).count() == 51


def test_ingest_time_documents_are_deduplicated_over_the_whole_table(sink: DuckDBSink) -> None:
    """A replay re-stamps a document that had no time of its own; the id still wins."""
    old = make_doc(timestamp_source="ingest_time")
    old["@timestamp"] = "2024-01-01T00:00:00.000Z"
    replay = copy.deepcopy(old)
    replay["@timestamp"] = "2024-03-01T00:00:00.000Z"
    assert sink.write(batch_of([Event("i", old), Event("other", make_doc())])).written == 2
    res = sink.write(batch_of([Event("i", replay), Event("new", make_doc(1624459989999))]))
    assert (res.written, res.duplicates) == (1, 1)
    got = Reads(sink).get("i")
    assert got is not None and got.doc["@timestamp"] == "2024-01-01T00:00:00.000Z"


def test_batch_is_stored_in_time_order(sink: DuckDBSink) -> None:
    base = 1718000000000
    events = [Event(f"e{i}", make_doc(base + (100 - i) * 1000)) for i in range(100)]
    sink.write(batch_of(events))
    sink.close()
    con = duckdb.connect(str(sink.path), read_only=True)
    stamps = [r[0] for r in con.execute("SELECT ts FROM events ORDER BY rowid").fetchall()]
    con.close()
    assert stamps == sorted(stamps) and len(stamps) == 100


def test_odd_values_do_not_lose_the_event(sink: DuckDBSink) -> None:
    doc = make_doc()
    doc["http"] = {"response": {"status_code": "not a number"}}
    doc["@timestamp"] = "garbage"
    doc["source"] = {"ip": ["1.2.3.4", "5.6.7.8"]}
    assert sink.write(batch_of([Event("odd", doc)])).written == 1
    assert Reads(sink).count("status:*") == 0
    assert sink.write(batch_of([])).written == 0


def test_durable_on_return_without_close(tmp_path: Path) -> None:
    """A writer that dies right after ``write`` returned loses nothing (the WAL is synced)."""
    path = tmp_path / "crash.duckdb"
    script = textwrap.dedent(
        f"""
        import os
        from wafpipe.decode.batch import batch_of
        from wafpipe.model import Event
        from wafpipe.sinks.duckdb.sink import DuckDBSink
        from tests_helper_doc import make_doc
        s = DuckDBSink({str(path)!r})
        s.open()
        s.write(batch_of([Event(f"c{{i}}", make_doc(1624459989430 + i)) for i in range(500)]))
        os._exit(0)
        """
    )
    helper = tmp_path / "tests_helper_doc.py"
    helper.write_text(
        "import json\nfrom wafpipe import _native\nfrom wafpipe.enrich.useragent import parse_user_agent\n"
        f"LINE = {LINE!r}\n"
        "def make_doc(start):\n"
        "    doc = json.loads(_native.document('cef', LINE.format(start=start), parse_user_agent))\n"
        "    del doc['event']['original']\n"
        "    return doc\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    with DuckDBSink(path, read_only=True) as ro:
        assert Reads(ro).count() == 500


def test_retention_deletes_by_age(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    path = tmp_path / "r.duckdb"
    with DuckDBSink(path) as s:
        s.write(batch_of(
            [
                Event("old", make_doc(ms(now - timedelta(days=40)))),
                Event("new", make_doc(ms(now - timedelta(days=1)))),
            ]
        ))
        assert s.delete_older_than(30) == 1
        assert Reads(s).get("old") is None and Reads(s).get("new") is not None
        s.write(batch_of([Event("old2", make_doc(ms(now - timedelta(days=10))))]))
    with DuckDBSink(path, retention_days=5) as s:  # applied on open
        assert Reads(s).count() == 1 and Reads(s).get("new") is not None


def test_read_only_open(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    with DuckDBSink(path) as s:
        s.write(batch_of([Event("a", make_doc())]))
    with DuckDBSink(path, read_only=True) as ro:
        assert Reads(ro).count() == 1
        assert Reads(ro).service.health()["store"]["events"] == 1 and ro.read_only is True
        with pytest.raises(SinkError, match="read-only"):
            ro.write(batch_of([Event("b", make_doc())]))
        with pytest.raises(SinkError, match="read-only"):
            ro.delete_older_than(1)
    with pytest.raises(SinkError, match="no DuckDB store"):
        DuckDBSink(tmp_path / "missing.duckdb", read_only=True).open()
    duckdb.connect(str(tmp_path / "other.duckdb")).close()
    with pytest.raises(SinkError, match="no wafpipe events table"):
        DuckDBSink(tmp_path / "other.duckdb", read_only=True).open()


def test_second_process_is_refused_while_the_writer_holds_the_store(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    DuckDBSink(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from wafpipe.sinks.duckdb.sink import DuckDBSink\nimport time\n"
            f"s = DuckDBSink({str(path)!r}); s.open(); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
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
        assert Reads(ro).count() == 0


def test_memory_limit_and_threads_are_applied(tmp_path: Path) -> None:
    with DuckDBSink(tmp_path / "m.duckdb", memory_limit="300MiB", threads=1) as s:
        assert s.setting("memory_limit") == "300.0 MiB"
        assert int(s.setting("threads")) == 1
    ref = duckdb.connect()
    ref.execute("SET memory_limit = '256MB'")
    default = ref.execute("SELECT current_setting('memory_limit')").fetchone()
    with DuckDBSink(tmp_path / "m.duckdb", read_only=True) as ro:
        assert default is not None and ro.setting("memory_limit") == default[0]


def test_stats_and_close_twice(sink: DuckDBSink) -> None:
    sink.write(batch_of(
        [Event("a", make_doc(1624459989430)), Event("b", make_doc(1718000000123, security_event=False))]
    ))
    reads = Reads(sink).service
    st = reads.health()["store"]
    assert st["events"] == 2 and st["security_events"] == 1
    assert st["first"] == "2021-06-23T14:53:09.430Z" and st["last"] == "2024-06-10T06:13:20.123Z"
    assert reads.top("event.kind")["values"] == [{"value": "alert", "count": 2}]
    with pytest.raises(QueryError):
        reads.top("doc; DROP TABLE events")
    sink.close()
    sink.close()


def test_write_speed_smoke(sink: DuckDBSink) -> None:
    """Not a benchmark (see bench/duckdb_insert.py): 10 000 events must not take seconds."""
    doc = make_doc()
    events = [Event(f"s{i}", doc) for i in range(10_000)]
    t0 = time.perf_counter()
    assert sink.write(batch_of(events)).written == 10_000
    assert time.perf_counter() - t0 < 5
