"""A read that blows a bound (time, memory) gets an error, and the service answers the next read.

No test waits for time to pass: the slow query is one that would run for hours (10^12 rows) unless
the bound stops it, and the store is switched between "endless" and "ten rows" by a one-row table,
so the outcome does not depend on how fast the machine is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from wafpipe.errors import WafpipeError
from wafpipe.store.runner import ReadLimitError, StoreReadError
from wafpipe.store.schema import STORED_SCHEMA, quote, sql_type
from wafpipe.store.service import ReadService

ENDLESS = 10**12
# What the generated rows hold (everything else is NULL), by column path.
FILL = {
    ("_id",): "md5(i::VARCHAR)",
    ("@timestamp",): "TIMESTAMPTZ '2024-06-10 00:00:00+00' + to_microseconds(i)",
    ("http", "response", "status_code"): "i % 600",
    ("user_agent", "original"): "'agent-' || md5(i::VARCHAR)",
    ("imperva", "waf", "security_event"): "i % 2 = 0",
    ("event_original",): "'line ' || i",
}


def _expr(path: tuple[str, ...], arrow_type: pa.DataType) -> str:
    """One column of the ``events`` table (its real type, nested structs and all) for row ``i``."""
    if path in FILL:
        return f"({FILL[path]})::{sql_type(arrow_type)}"
    if pa.types.is_struct(arrow_type):
        return "struct_pack(" + ", ".join(f"{quote(f.name)} := {_expr((*path, f.name), f.type)}" for f in arrow_type) + ")"
    return f"NULL::{sql_type(arrow_type)}"


def _select(rows: str, *, rowid: bool = False) -> str:
    """Rows shaped as the store's ``events`` (:data:`STORED_SCHEMA`); a view also needs the
    ``rowid`` a table has, which a search page is read by."""
    cols = [f"{_expr((f.name,), f.type)} AS {quote(f.name)}" for f in STORED_SCHEMA]
    if rowid:
        cols.append("i AS rowid")
    return f"SELECT {', '.join(cols)} FROM range({ENDLESS}) t(i) LIMIT {rows}"  # noqa: S608 - test data


@pytest.fixture
def endless() -> Iterator[duckdb.DuckDBPyConnection]:
    """``events`` is a view whose size a one-row table sets: ten rows, or practically endless."""
    con = duckdb.connect()
    con.execute("CREATE TABLE size (n BIGINT)")
    con.execute("INSERT INTO size VALUES (10)")
    con.execute("CREATE VIEW events AS " + _select("(SELECT n FROM size)", rowid=True))  # noqa: S608 - test data
    yield con
    con.close()


def test_a_query_over_its_time_is_stopped_and_the_next_one_answers(endless: duckdb.DuckDBPyConnection) -> None:
    svc = ReadService(endless.cursor, timeout_s=0.5)
    assert svc.count()["count"] == 10
    endless.execute("UPDATE size SET n = ?", [ENDLESS])
    with pytest.raises(ReadLimitError) as info:
        svc.count("status >= 500")
    assert info.value.kind == "timeout" and "0.5 s" in str(info.value)
    with pytest.raises(ReadLimitError):
        svc.top("user_agent.original")
    with pytest.raises(ReadLimitError) as info:  # a page of documents is streamed as Arrow: same bound
        svc.search(limit=5)
    assert info.value.kind == "timeout" and "took longer than" in str(info.value)
    endless.execute("UPDATE size SET n = 10")
    assert svc.count()["count"] == 10
    assert len(svc.search(limit=5)["events"]) == 5


def test_close_interrupts_running_reads_at_once(endless: duckdb.DuckDBPyConnection) -> None:
    """Shutdown must not wait for a scan: ``close`` stops a read that has no deadline in sight."""
    svc = ReadService(endless.cursor, timeout_s=3600)
    endless.execute("UPDATE size SET n = ?", [ENDLESS])
    errors: list[BaseException] = []

    def read() -> None:
        try:
            svc.count("status >= 500")
        except WafpipeError as exc:
            errors.append(exc)

    t = threading.Thread(target=read)
    t.start()
    deadline = time.monotonic() + 60
    while not svc._runner._active and time.monotonic() < deadline:  # type: ignore[union-attr]  # noqa: SLF001
        t.join(0.01)  # wait (bounded) until the read is running, observed, not guessed
    svc.close()
    t.join(60)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], StoreReadError)
    with pytest.raises(StoreReadError, match="closing"):
        svc.count()


def test_a_query_over_its_memory_gets_an_error_and_the_next_one_answers(tmp_path: Path) -> None:
    """A tiny memory limit with spilling off: the GROUP BY of ``top`` over 300 000 distinct values
    cannot fit; the service says so and answers the next, small read."""
    path = tmp_path / "m.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE events AS " + _select("300000"))
    con.close()
    ro = duckdb.connect(str(path), read_only=True, config={"memory_limit": "16MB", "temp_directory": ""})
    try:
        svc = ReadService(ro.cursor, operator_memory="4MB")
        with pytest.raises(ReadLimitError) as info:
            svc.top("user_agent.original", limit=5)
        assert info.value.kind == "memory"
        assert svc.count()["count"] == 300_000
        assert [e["_id"] for e in svc.search(limit=2, fields=["_id"])["events"]]
    finally:
        ro.close()
