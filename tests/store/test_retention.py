"""Retention of the embedded store: per dataset (security, access), applied by the collector and on
demand, each deletion recorded with its cutoff in the store's ``prunes`` table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wafpipe import _native
from wafpipe.config.root import config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.errors import ConfigError
from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store.retention import Retention, history

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LINE = (
    "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| sourceServiceName=shop.example.com siteid=61539044 "
    "suid=1843222 requestClientApplication=curl/8.0 ccode=DE start={start} request=shop.example.com/ "
    "requestMethod=GET cn1=200 app=HTTPS act=REQ_PASSED src=10.0.0.{n} cpt=443"
)


def event(days_old: float, security: bool, n: int) -> Event:
    """One event ``days_old`` days before NOW; a security event when ``security``."""
    start_ms = int((NOW - timedelta(days=days_old)).timestamp() * 1000)
    doc: dict[str, Any] = json.loads(_native.document("cef", LINE.format(start=start_ms, n=n), parse_user_agent))
    doc["imperva"]["waf"]["security_event"] = security
    return Event(f"{days_old}-{security}-{n}", doc)


AGES = (0.5, 10, 40, 100, 400)  # days


def fill(sink: DuckDBSink) -> None:
    """Three events of each age in each dataset."""
    sink.write(batch_of([event(age, sec, n) for age in AGES for sec in (True, False) for n in range(3)]))


def counts(sink: DuckDBSink) -> dict[tuple[bool, int], int]:
    """(security_event, age in whole days) → events stored."""
    rows = sink.cursor().execute(
        'SELECT imperva.waf.security_event, "@timestamp" FROM events'
    ).fetchall()
    out: dict[tuple[bool, int], int] = {}
    for security, ts in rows:
        key = (security, round((NOW - ts).total_seconds() / 86400))
        out[key] = out.get(key, 0) + 1
    return out


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAFPIPE_NOW", NOW.isoformat())


def test_each_dataset_keeps_its_own_days_and_each_deletion_is_recorded(tmp_path: Path) -> None:
    with DuckDBSink(tmp_path / "s.duckdb", retention=Retention(security=365, access=30)) as sink:
        fill(sink)
        done = {p.dataset: p for p in sink.prune(reason="test")}
        assert done["security"].deleted == 3  # only the 400-day-old ones
        assert done["access"].deleted == 9  # 40, 100 and 400 days old
        assert done["security"].cutoff == NOW - timedelta(days=365)
        kept = counts(sink)
        assert kept == {
            **{(True, round(a)): 3 for a in AGES if a < 365},
            **{(False, round(a)): 3 for a in AGES if a < 30},
        }
        records = history(sink.cursor())
        assert {(r["dataset"], r["deleted"], r["reason"]) for r in records} == {
            ("security", 3, "test"), ("access", 9, "test"),
        }
        assert all(r["pruned_at"] == NOW for r in records)
        # a second run finds nothing more, and says so in its own records
        assert [p.deleted for p in sink.prune(reason="again")] == [0, 0]
        assert len(history(sink.cursor())) == 4


def test_a_compliance_profile_keeps_what_its_standard_asks_and_no_more(tmp_path: Path) -> None:
    """HIPAA keeps six years, PCI DSS one: the events just past each limit go, those just inside stay."""
    retention = Retention(security="hipaa", access="pci-dss")
    assert retention.describe() == "security 2190 days (hipaa), access 365 days (pci-dss)"
    ages = (100, 364, 366, 2189, 2191)
    with DuckDBSink(tmp_path / "s.duckdb", retention=retention) as sink:
        sink.write(batch_of([event(age, sec, n) for age in ages for sec in (True, False) for n in range(3)]))
        done = {p.dataset: p for p in sink.prune(reason="test")}
        assert (done["security"].deleted, done["access"].deleted) == (3, 9)
        assert done["security"].cutoff == NOW - timedelta(days=2190)
        assert counts(sink) == {**{(True, a): 3 for a in ages if a < 2190}, **{(False, a): 3 for a in ages if a < 365}}


def test_the_shorter_limit_may_be_either_dataset(tmp_path: Path) -> None:
    """What is older than both limits goes by time alone, the span between them by dataset: both
    orders of the two limits delete exactly the rows past each one's own limit."""
    with DuckDBSink(tmp_path / "s.duckdb", retention=Retention(security=30, access=365)) as sink:
        fill(sink)
        assert {p.dataset: p.deleted for p in sink.prune()} == {"security": 9, "access": 3}
        assert set(counts(sink)) == {(True, 0), (True, 10), (False, 0), (False, 10), (False, 40), (False, 100)}


def test_one_number_keeps_both_datasets_alike_and_unset_keeps_everything(tmp_path: Path) -> None:
    with DuckDBSink(tmp_path / "a.duckdb", retention=Retention.of(50)) as sink:
        fill(sink)
        assert {p.dataset: p.deleted for p in sink.prune()} == {"security": 6, "access": 6}
        assert set(counts(sink)) == {(s, round(a)) for s in (True, False) for a in AGES if a < 50}
    with DuckDBSink(tmp_path / "b.duckdb") as sink:
        fill(sink)
        assert sink.prune() == [] and sink.maintain() == []
        assert sum(counts(sink).values()) == 30
        assert history(sink.cursor()) == []


def test_the_collector_applies_retention_once_per_period(tmp_path: Path) -> None:
    with DuckDBSink(tmp_path / "m.duckdb", retention=Retention(access=7)) as sink:
        fill(sink)
        first = sink.maintain()
        assert [(p.dataset, p.deleted) for p in first] == [("access", 12)]
        fill(sink)  # old events again (the same ids already stored are not added twice)
        assert sink.maintain() == []  # not due yet: the period has not passed
        assert [(p.dataset, p.deleted) for p in sink.prune()] == [("access", 12)]


def test_a_read_only_store_does_not_prune(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    with DuckDBSink(path) as sink:
        fill(sink)
    with DuckDBSink(path, read_only=True, retention=Retention(access=1)) as ro:
        assert ro.maintain() == []


def test_retention_in_the_configuration(tmp_path: Path) -> None:
    def sink_of(value: Any) -> Any:
        cfg = config_from_dict({"sinks": [{"type": "duckdb", "retention_days": value}]}, file=None, base_dir=tmp_path)
        return Retention.of(cfg.store_sink.retention_days).model_dump(exclude={"namespaces"})  # type: ignore[union-attr]

    assert sink_of(90) == {"security": 90, "access": 90}
    assert sink_of({"security": 400, "access": 30}) == {"security": 400, "access": 30}
    assert sink_of({"access": 30}) == {"security": None, "access": 30}
    assert sink_of("pci-dss") == {"security": "pci-dss", "access": "pci-dss"}
    assert sink_of({"security": "soc2", "access": 30}) == {"security": "soc2", "access": 30}
    for bad in (0, {"acess": 30}, {"security": 0}, "90", "pci", {"security": "HIPAA"}):
        with pytest.raises(ConfigError):
            sink_of(bad)


def test_wafpipe_run_applies_the_configured_retention(tmp_path: Path) -> None:
    """A backfill of events 10 days old with access kept 5 days: the run stores them all, then its
    retention deletes the access events and keeps every security event, and records it."""
    import duckdb

    from tests.collector.helpers import wafpipe
    from wafpipe.tools.generate import generate_files

    start = datetime(2024, 6, 10, tzinfo=UTC)
    (tmp_path / "incoming").mkdir()
    generate_files(tmp_path / "incoming", events=400, files=2, fmt="cef", compression="zlib", attack_ratio=0.3,
                   start=start, end=start + timedelta(hours=6), seed=5, bad_input=False)
    (tmp_path / "wafpipe.toml").write_text(
        '[[sources]]\ntype = "directory"\npath = "incoming"\n'
        '[[sinks]]\ntype = "duckdb"\nretention_days = {access = 5}\n'
        "[pipeline]\nworkers = 1\n[api]\nport = 0\n"
    )
    now = (start + timedelta(days=10)).isoformat()
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env={"WAFPIPE_NOW": now})
    assert res.returncode == 0, res.stderr
    assert "retention: deleted" in res.stderr
    con = duckdb.connect(str(tmp_path / "data" / "wafpipe.duckdb"), read_only=True)
    try:
        left = con.execute("SELECT imperva.waf.security_event, count(*) FROM events GROUP BY 1").fetchall()
        pruned = con.execute("SELECT dataset, deleted, reason FROM prunes").fetchall()
    finally:
        con.close()
    security = dict(left).get(True, 0)
    assert dict(left) == {True: security} and 0 < security < 400
    assert pruned == [("access", 400 - security, "schedule")]


def test_a_store_made_before_the_prunes_table_gets_it_at_the_next_writable_open(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    with DuckDBSink(path) as sink:
        fill(sink)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE prunes")
    with DuckDBSink(path, read_only=True) as ro:
        assert history(ro.cursor()) == []  # read-only: nothing to create, nothing pruned
    with DuckDBSink(path, retention=Retention(access=30)) as sink:
        assert [(p.dataset, p.deleted) for p in sink.prune()] == [("access", 9)]
        assert [r["deleted"] for r in history(sink.cursor())] == [9]
