"""The read service on a real store: every operation of DESIGN §4, checked against the store itself."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.store.conftest import HOSTILE_UA, Built
from wafpipe.errors import QueryError, WafpipeError
from wafpipe.store.connection import ReadOnlyStore
from wafpipe.store.limits import MAX_OFFSET, MAX_SEARCH
from wafpipe.store.service import ReadService

Sql = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture
def sql(opened: ReadOnlyStore) -> Sql:
    """Ask the store directly, to check the service's answers."""

    def run(query: str) -> list[tuple[Any, ...]]:
        cur = opened.cursor()
        try:
            return cur.execute(query).fetchall()
        finally:
            cur.close()

    return run


def test_count_with_query_and_time_range(service: ReadService, built: Built, sql: Sql) -> None:
    assert service.count() == {"count": built.total}
    want = sql('SELECT count(*) FROM events WHERE http.response.status_code >= 400')[0][0]
    assert service.count("http.response.status_code >= 400")["count"] == want
    half = sql("SELECT count(*) FROM events WHERE \"@timestamp\" >= '2024-06-10 06:30:00Z' "
               "AND \"@timestamp\" < '2024-06-10 07:00:00Z'")
    got = service.count(since="2024-06-10T06:30:00Z", until="2024-06-10T07:00:00+00:00")["count"]
    assert got == half[0][0] and 0 < got < built.total


def test_search_newest_first_with_documents(service: ReadService, built: Built, sql: Sql) -> None:
    page = service.search(limit=5)
    ids = [r[0] for r in sql('SELECT _id FROM events ORDER BY "@timestamp" DESC, _id DESC LIMIT 5')]
    assert [e["_id"] for e in page["events"]] == ids
    assert page["events"][0]["event"]["dataset"] == "imperva.waf"  # the whole document
    assert page["next"] is not None
    oldest = service.search(limit=1, newest_first=False)["events"][0]["_id"]
    assert oldest == sql('SELECT _id FROM events ORDER BY "@timestamp", _id LIMIT 1')[0][0]
    assert [e["_id"] for e in service.search(limit=2, offset=3)["events"]] == ids[3:5]


def test_search_pages_through_everything_once_with_next(service: ReadService, built: Built) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = service.search(limit=97, after=after, fields=["_id"])
        seen += [e["_id"] for e in page["events"]]
        after = page["next"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == built.total


def test_search_fields_are_chosen_flat_and_by_the_names_asked(service: ReadService) -> None:
    page = service.search("status:*", limit=3, fields=["@timestamp", "status", "source.ip", "related.ip", "_id"])
    for e in page["events"]:
        assert set(e) == {"_id", "@timestamp", "status", "source.ip", "related.ip"}
        assert isinstance(e["status"], int) and isinstance(e["related.ip"], list)
    with pytest.raises(QueryError, match="unknown field 'doc'"):
        service.search(fields=["doc"])
    with pytest.raises(QueryError, match="unknown field"):
        service.search(fields=["source.ip'); DROP TABLE events;--"])


def test_top_counts_values_of_allowed_fields(service: ReadService, built: Built, sql: Sql) -> None:
    got = service.top("source.geo.country_iso_code", limit=3)
    want = sql("SELECT source.geo.country_iso_code c, count(*) n FROM events WHERE c IS NOT NULL "
               "GROUP BY 1 ORDER BY n DESC, 1 LIMIT 3")
    assert got == {"field": "source.geo.country_iso_code", "values": [{"value": v, "count": n} for v, n in want]}
    statuses = service.top("status", "status >= 400", limit=50)["values"]
    assert statuses and all(v["value"] >= 400 for v in statuses)
    related = service.top("related.ip", limit=5)["values"]  # a list field: every element counts
    assert related and related[0]["count"] >= related[-1]["count"]
    assert service.top("event.dataset")["values"] == [{"value": "imperva.waf", "count": built.total}]
    for bad in ("doc", "events; DROP TABLE events", "imperva.waf.request_headers"):  # a flattened object
        with pytest.raises(QueryError):
            service.top(bad)


def test_histogram_buckets_cover_the_range_and_add_up(service: ReadService, built: Built, sql: Sql) -> None:
    h = service.histogram(since="2024-06-10T06:00:00Z", until="2024-06-10T07:00:00Z", interval="10m")
    assert h["interval_seconds"] == 600 and len(h["buckets"]) == 6
    assert h["buckets"][0]["time"] == "2024-06-10T06:00:00.000Z"
    assert sum(b["count"] for b in h["buckets"]) == built.total - 1  # the hostile event is from 2021
    auto = service.histogram("status >= 500")
    want = sql("SELECT count(*) FROM events WHERE http.response.status_code >= 500")[0][0]
    assert sum(b["count"] for b in auto["buckets"]) == want and len(auto["buckets"]) <= 120
    with pytest.raises(QueryError, match="buckets"):
        service.histogram(since="2024-01-01T00:00:00Z", until="2024-12-31T00:00:00Z", interval="1m")
    with pytest.raises(QueryError, match="interval"):
        service.histogram(interval="5 parsecs")


def test_a_histogram_by_a_field_splits_each_bucket_as_one_histogram_per_value_would(service: ReadService) -> None:
    window = {"since": "2024-06-10T06:00:00Z", "until": "2024-06-10T07:00:00Z", "interval": "10m"}
    split = service.histogram(**window, by="imperva.waf.action_class")
    values = {v for b in split["buckets"] for v in b["by"]}
    assert len(values) >= 3 and split["by"] == "imperva.waf.action_class"
    for value in values:
        alone = service.histogram(f'imperva.waf.action_class:"{value}"', **window)
        assert [b["count"] for b in alone["buckets"]] == [b["by"].get(value, 0) for b in split["buckets"]]
    assert [b["count"] for b in split["buckets"]] == [b["count"] for b in service.histogram(**window)["buckets"]]
    with pytest.raises(QueryError, match="one value per event"):
        service.histogram(by="related.ip")
    with pytest.raises(QueryError, match="unknown field"):
        service.histogram(by="x'); DROP TABLE events; --")


def test_event_by_id(service: ReadService) -> None:
    first = service.search(limit=1)["events"][0]
    assert service.event(first["_id"]) == first
    assert service.event("no-such-event") is None
    with pytest.raises(QueryError):
        service.event("x' OR '1'='1")


def test_control_characters_are_stored_as_data(service: ReadService) -> None:
    [hit] = service.search("url.path:*red*", limit=5, fields=["user_agent.original", "url.path"])["events"]
    assert hit["user_agent.original"] == HOSTILE_UA


def test_files_and_dead_letters_come_from_the_state(service: ReadService) -> None:
    files = service.files(limit=100)["files"]
    assert len(files) == 4 and {f["status"] for f in files} == {"done"}
    assert service.files(status="failed")["files"] == []
    assert service.dead_letters() == {"dead_letters": []}


def test_health_reports_the_store_and_outstanding_problems(service: ReadService, built: Built) -> None:
    h = service.health()
    assert h["store"]["events"] == built.total
    assert h["files"]["done"] == 4 and h["dead_letters"] == 0
    # the sample files are from 2024: their configurations are silent since, which is a gap to report
    assert h["status"] == "degraded" and any("gap" in p for p in h["problems"])


@pytest.mark.parametrize("limit", [-1, 0, 2**64, 100_000_000, MAX_SEARCH + 1, "abc", True, 1.5])
def test_limits_out_of_range_say_the_range(service: ReadService, limit: object) -> None:
    with pytest.raises(QueryError, match=f"from 1 to {MAX_SEARCH}"):
        service.search(limit=limit)  # type: ignore[arg-type]
    assert service.count()["count"] > 0  # and the service goes on


def test_other_bounds(service: ReadService) -> None:
    with pytest.raises(QueryError, match=f"from 0 to {MAX_OFFSET}"):
        service.search(offset=MAX_OFFSET + 1)
    with pytest.raises(QueryError, match="from 1 to 1000"):
        service.top("status", limit=1001)
    with pytest.raises(QueryError, match="characters"):
        service.count("a" * 20_000)
    with pytest.raises(QueryError, match="ISO 8601"):
        service.count(since="yesterday")
    with pytest.raises(QueryError, match="later"):
        service.count(since="2024-06-10T07:00:00Z", until="2024-06-10T06:00:00Z")
    with pytest.raises(QueryError, match="next"):
        service.search(after="1:x' OR 1=1")


def test_a_service_without_store_or_state_says_so() -> None:
    svc = ReadService(None)
    with pytest.raises(WafpipeError, match="no embedded store"):
        svc.count()
    with pytest.raises(WafpipeError, match="state"):
        svc.files()
    assert svc.health() == {"status": "ok", "problems": []}


def test_health_lists_each_problem_once_a_running_collectors_list_is_the_authority(tmp_path: Path) -> None:
    """One quarantined file in the state: without a collector the state's view lists it; with one,
    the collector's own line is the only one (not the state's beside it, not again under
    ``collector``)."""
    from wafpipe.collector.state import State

    with State(tmp_path) as state:
        state.register_file("k", source="dir", name="1_1.log", path="/in/1_1.log", size=1, mtime=1.0)
        state.mark_quarantined("k", "corrupt compression")
        alone = ReadService(None, state=state).health()
        assert alone["status"] == "degraded" and alone["problems"] == ["1 file(s) quarantined"], alone
        line = f"1 file(s) quarantined (see {state.quarantine_dir})"
        live = {"status": "degraded", "problems": [line], "files_pending": 0}
        h = ReadService(None, state=state, live=lambda: dict(live)).health()
        assert h["problems"] == [line], h["problems"]
        assert h["collector"] == {"status": "degraded", "files_pending": 0}
        assert h["files"]["quarantined"] == 1  # the counts stay: data, not a second problem line
        # A collector with nothing outstanding: ok, although the state's view would have a line.
        ok = ReadService(None, state=state, live=lambda: {"status": "ok", "problems": []}).health()
        assert ok["status"] == "ok" and ok["problems"] == [], ok


def test_top_by_counts_pairs(service: ReadService, built: Built, sql: Sql) -> None:
    got = service.top("source.ip", by="rule.category", q="imperva.waf.security_event:true", limit=5)
    want = sql("SELECT source.ip, rule.category, count(*) n FROM events WHERE imperva.waf.security_event "
               "AND source.ip IS NOT NULL AND rule.category IS NOT NULL GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT 5")
    assert got == {"field": "source.ip", "by": "rule.category",
                   "values": [{"value": v, "by": b, "count": n} for v, b, n in want]}
    assert got["values"] and got["values"][0]["count"] > 1


def test_top_by_of_two_lists_counts_every_pair_of_elements(service: ReadService, built: Built) -> None:
    """Lists on both sides: each element of one with each element of the other (not by position)."""
    docs = [e for page in [service.search(limit=5000)] for e in page["events"]]
    assert len(docs) == built.total
    pairs: Counter[tuple[str, str]] = Counter()
    for d in docs:
        for v in d.get("event", {}).get("type", []):
            for b in d.get("related", {}).get("ip", []):
                pairs[(v, b)] += 1
    got = service.top("event.type", by="related.ip", limit=1000)["values"]
    assert {(r["value"], r["by"]): r["count"] for r in got} == dict(pairs)
    scalar_by_list = service.top("http.request.method", by="event.category", limit=1000)["values"]
    assert sum(r["count"] for r in scalar_by_list) == sum(
        len(d["event"]["category"]) for d in docs if d.get("http", {}).get("request", {}).get("method"))


def test_top_by_refuses_objects_and_unknown_names(service: ReadService) -> None:
    with pytest.raises(QueryError, match="unknown field 'nope' for by"):
        service.top("source.ip", by="nope")
    with pytest.raises(QueryError, match="is an object"):
        service.top("source.ip", by="imperva.waf.request_headers")
    with pytest.raises(QueryError, match="is an object"):
        service.top("source.geo.location")


def test_since_and_until_take_a_duration_before_now(service: ReadService, built: Built,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``15m``, ``24h``, ``7d``: that long before now, by the one clock (``WAFPIPE_NOW``)."""
    monkeypatch.setenv("WAFPIPE_NOW", "2024-06-10T07:00:00Z")
    half = service.count(since="2024-06-10T06:30:00Z")["count"]
    assert service.count(since="30m") == {"count": half}
    assert service.count(since="1h")["count"] == built.total - 1  # the hostile event is from 2021
    assert service.count(until="30m")["count"] == built.total - half
    assert service.count(since="1d", until="30m")["count"] == built.total - half - 1
    assert service.count(since="7d")["count"] == service.count(since="now-7d")["count"] == built.total - 1
    assert service.histogram(since="1h", interval="30m")["buckets"] == [
        {"time": "2024-06-10T06:00:00.000Z", "count": built.total - 1 - half},
        {"time": "2024-06-10T06:30:00.000Z", "count": half},
    ]
    for bad in ("5 parsecs", "-1h", "1y", "99999999d"):
        with pytest.raises(QueryError, match="duration before now"):
            service.count(since=bad)
    with pytest.raises(QueryError, match="later"):
        service.count(since="1h", until="2h")


def test_search_documents_are_rebuilt_whole(service: ReadService) -> None:
    """Search and event return the document as stored, ``event.original`` back in ``event``."""
    [e] = service.search("url.path:*red*", limit=1)["events"]
    assert e["user_agent"]["original"] == HOSTILE_UA and "event_original" not in e
    assert e["event"]["original"].startswith("CEF:0|") and e["event"]["dataset"] == "imperva.waf"
    assert service.event(e["_id"]) == e
    picked = service.search("url.path:*red*", fields=["event.original", "event.dataset", "@timestamp", "id"])
    [p] = picked["events"]
    assert p == {"_id": e["_id"], "event.original": e["event"]["original"], "event.dataset": "imperva.waf",
                 "@timestamp": e["@timestamp"], "id": e["_id"]}


@pytest.mark.parametrize("newest_first", [True, False])
def test_pages_reach_events_without_a_time(tmp_path: Path, newest_first: bool) -> None:
    """Keyset paging holds when some events have no ``@timestamp`` (sorted last either way)."""
    import duckdb

    from wafpipe.store.schema import ddl

    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    for statement in ddl():
        con.execute(statement)
    con.execute("INSERT INTO events (_id, \"@timestamp\") SELECT 'a' || i, TIMESTAMPTZ '2024-06-10 00:00:00+00' "
                "+ to_minutes(i % 3) FROM range(7) t(i)")
    con.execute("INSERT INTO events (_id) SELECT 'n' || i FROM range(5) t(i)")
    svc = ReadService(con.cursor)
    seen, after = [], None
    while True:
        page = svc.search(limit=2, after=after, newest_first=newest_first, fields=["@timestamp"])
        seen += [(e["@timestamp"], e["_id"]) for e in page["events"]]
        after = page["next"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 12
    dated = [s for s in seen if s[0] is not None]
    assert dated == sorted(dated, reverse=newest_first) and all(s[0] is None for s in seen[7:])
    con.close()
