"""The hourly rollup answers exactly what counting the events answers: every count, top list and
histogram the overview, the attacks page and the search sidebar ask, over ranges that start and end
mid-hour, inside one hour, or open — after Batches of every size, after merging, after a replay,
after retention cuts an hour of each dataset, after a rebuild, and after a crash inside a Batch's
transaction. The table itself is checked against a fresh count of the events each time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.store.conftest import wafpipe
from wafpipe.decode.reader import read_path
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store import rollup
from wafpipe.store.retention import Retention
from wafpipe.store.rollup.table import aggregate
from wafpipe.store.schema import EVENTS
from wafpipe.store.service import ReadService
from wafpipe.tools.generate import generate_files

START = datetime(2024, 6, 10, 0, 17, 23, tzinfo=UTC)  # the data's span starts and ends mid-hour
END = START + timedelta(hours=100)
SECURITY = "imperva.waf.security_event:true"
QUERIES = (
    "",
    SECURITY,
    "imperva.waf.action_class:passed",
    f"not {SECURITY}",
    "imperva.waf.action_class:(blocked or challenged) or not imperva.waf.action_class:*",
    'event.dataset:"imperva.waf" and action_class:pass*',
    "source.ip:*",  # names a field that is not a dimension: counted from the events either way
)
RANGES = (
    (None, None),
    (START + timedelta(minutes=7), END - timedelta(minutes=13)),
    (datetime(2024, 6, 10, 5, tzinfo=UTC), datetime(2024, 6, 11, 5, tzinfo=UTC)),  # whole hours
    (START + timedelta(hours=3, minutes=1), START + timedelta(hours=3, minutes=30)),  # inside one hour
    (START + timedelta(hours=30, seconds=1), None),
    (None, START + timedelta(hours=50, microseconds=1)),
)
TOP_FIELDS = (*rollup.FIELDS, *rollup.DIMENSIONS, "http.response.status_code")


def answers(service: ReadService, queries: tuple[str, ...] = QUERIES, *, rollup_allowed: bool = True
            ) -> dict[tuple[Any, ...], Any]:  # fmt: skip
    """Every question, by its arguments; ``"rollup"`` says how many the rollup answered (the rest
    were counted from the events, all of them when not ``rollup_allowed``)."""
    out: dict[tuple[Any, ...], Any] = {}
    hits = 0
    real = service._plan

    def spy(*args: Any) -> Any:
        nonlocal hits
        found = real(*args) if rollup_allowed else None
        hits += found is not None
        return found

    service._plan = spy  # type: ignore[method-assign]
    try:
        for q in queries:
            for since, until in RANGES:
                out["count", q, since, until] = service.count(q, since, until)
                for field in TOP_FIELDS:
                    out["top", field, q, since, until] = service.top(field, q, since, until, limit=40)
                out["top by", q, since, until] = service.top("rule.category", q, since, until, limit=40,
                                                            by="imperva.waf.action_class")  # fmt: skip
                for interval in (3600, 86400, None):
                    for by in (None, "imperva.waf.action_class"):
                        out["histogram", q, since, until, interval, by] = service.histogram(
                            q, since, until, interval, by
                        )
    finally:
        del service._plan
    return {**out, ("rollup",): hits}


def counted(service: ReadService, queries: tuple[str, ...] = QUERIES) -> dict[tuple[Any, ...], Any]:
    """The same questions answered by counting the events only."""
    return answers(service, queries, rollup_allowed=False)


def same(a: dict[tuple[Any, ...], Any], b: dict[tuple[Any, ...], Any]) -> bool:
    """The same answers, whichever path gave them."""
    return {k: v for k, v in a.items() if k != ("rollup",)} == {k: v for k, v in b.items() if k != ("rollup",)}


def table_agrees(sink: DuckDBSink) -> None:
    """The rollup's sums equal a fresh count of the stored events, key by key."""
    con = sink.cursor()
    key = "hour, imperva, field, value"
    kept = con.execute(f"SELECT {key}, sum(n) FROM {rollup.ROLLUP} GROUP BY ALL").fetchall()  # noqa: S608
    fresh = con.execute(f"SELECT {key}, sum(n) FROM ({aggregate(EVENTS, merged=True)}) GROUP BY ALL").fetchall()  # noqa: S608
    assert sorted(map(repr, kept)) == sorted(map(repr, fresh))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("rollup-files")
    paths: list[Path] = []
    for seed, fmt in enumerate(("cef", "leef", "w3c")):
        paths += generate_files(out / fmt, events=1500, files=3, fmt=fmt, attack_ratio=0.4, start=START, end=END,
                                seed=seed + 3)  # fmt: skip
    return paths


def write(sink: DuckDBSink, files: list[Path], rows: int) -> int:
    written = 0
    for path in files:
        for batch in read_path(path, batch_rows=rows).batches(path.name):
            written += sink.write(batch).written
    return written


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[DuckDBSink]:
    s = DuckDBSink(tmp_path / "store.duckdb")
    s.open()
    yield s
    s.close()


def test_answers_equal_counting_through_every_change(files: list[Path], sink: DuckDBSink,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    service = ReadService(sink.cursor)
    monkeypatch.setattr(rollup, "COMPACT_ROWS", 10**9)
    assert write(sink, files, rows=97) == 4500
    assert rollup.unmerged(sink.cursor()) > 0
    table_agrees(sink)
    before = answers(service)
    assert same(before, counted(service))
    assert before["count", "", None, None] == {"count": 4500}
    # the rollup answered most of them: all but the one-hour range and the non-dimension query
    # (of those, the questions about fields it does not count are counted from the events)
    assert before["rollup",] == len(QUERIES[:-1]) * (len(RANGES) - 1) * (1 + len(TOP_FIELDS) + 1 + 6)

    merged_away = rollup.compact(sink.cursor())
    assert merged_away > 0 and rollup.unmerged(sink.cursor()) == 0
    table_agrees(sink)
    assert answers(service) == before

    assert write(sink, files, rows=500) == 0  # a replay adds nothing, to the events or the counts
    table_agrees(sink)
    assert answers(service) == before

    # retention cuts one hour of each dataset (the cutoffs fall mid-hour, inside the data)
    monkeypatch.setenv("WAFPIPE_NOW", END.isoformat())
    sink.retention = Retention(security=1, access=3)
    done = {p.dataset: p.deleted for p in sink.prune(reason="test")}
    assert done["security"] > 0 and done["access"] > 0
    table_agrees(sink)
    after = answers(service)
    assert same(after, counted(service))
    assert after["count", "", None, None]["count"] == 4500 - done["security"] - done["access"]


def test_merging_as_it_goes_keeps_the_table_small_and_exact(files: list[Path], sink: DuckDBSink,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(rollup, "COMPACT_ROWS", 2000)
    write(sink, files, rows=50)
    assert rollup.unmerged(sink.cursor()) < 2000 + 5000  # merged every few Batches
    table_agrees(sink)
    service = ReadService(sink.cursor)
    assert same(answers(service, QUERIES[:3]), counted(service, QUERIES[:3]))


def test_a_store_without_a_current_rollup_is_counted_then_rebuilt_at_the_writers_open(
    files: list[Path], tmp_path: Path
) -> None:
    path = tmp_path / "store.duckdb"
    with DuckDBSink(path) as sink:
        write(sink, files[:3], rows=1000)
        con = sink.cursor()
        con.execute(f"DROP TABLE {rollup.ROLLUP}")  # as a store written before the rollup existed
        service = ReadService(sink.cursor)
        expected = answers(service, QUERIES[:3])
        assert expected["rollup",] == 0  # nothing to read: every question is counted from the events
    with DuckDBSink(path) as sink:  # the collector's open rebuilds it
        table_agrees(sink)
        service = ReadService(sink.cursor)
        rebuilt = answers(service, QUERIES[:3])
        assert rebuilt["rollup",] > 0
        assert same(rebuilt, expected)


def test_the_rollup_is_what_is_read(files: list[Path], sink: DuckDBSink) -> None:
    """Doubling the stored counts doubles the answers that qualify, and only those."""
    write(sink, files[:3], rows=1000)
    service = ReadService(sink.cursor)
    whole = service.count("", None, None)["count"]
    sink.cursor().execute(f"UPDATE {rollup.ROLLUP} SET n = n * 2")  # noqa: S608
    assert service.count("", None, None)["count"] == 2 * whole
    assert service.count("source.ip:*", None, None)["count"] == whole


def test_a_crash_inside_a_batchs_transaction_leaves_counts_and_events_agreeing(tmp_path: Path) -> None:
    (tmp_path / "wafpipe.toml").write_text(
        'data_dir = "data"\n[[sources]]\ntype = "directory"\npath = "incoming"\npatterns = ["*.log"]\n'
        '[[sinks]]\ntype = "duckdb"\n[pipeline]\nworkers = 1\nbatch_size = 100\n[api]\nport = 0\n'
    )
    generate_files(tmp_path / "incoming", events=900, files=3, start=START, end=END, seed=5)
    crashed = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path,
                      env={"WAFPIPE_FAILPOINT": "sink.duckdb.after_write:4"})  # fmt: skip
    assert crashed.returncode == 137, crashed.stderr
    done = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with DuckDBSink(tmp_path / "data" / "wafpipe.duckdb") as sink:
        table_agrees(sink)
        service = ReadService(sink.cursor)
        assert service.count("", None, None) == {"count": 900}


def test_the_overview_asks_only_what_the_rollup_counts() -> None:
    """A top list added to the overview without its field here would quietly count 10 M rows."""
    from wafpipe.web.pages import SECURITY as OVERVIEW_SECURITY
    from wafpipe.web.pages import SIDEBAR_FIELDS, TOP_LISTS

    assert {field for _, field, _ in TOP_LISTS} <= set(rollup.FIELDS)
    assert set(SIDEBAR_FIELDS) - set(rollup.FIELDS) <= {*rollup.DIMENSIONS, "http.response.status_code"}
    for _, _, narrow in TOP_LISTS:
        assert rollup.plan(narrow, None, None) is not None
    assert rollup.plan(f"{OVERVIEW_SECURITY} and imperva.waf.action_class:passed", None, None) is not None
