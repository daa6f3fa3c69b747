"""Retention per namespace in the embedded store (``retention_days.namespaces``): each namespace,
as the sink's ``namespace_rules`` tell it, loses exactly what its own retention no longer keeps,
the others what the default no longer keeps; one DELETE per (dataset, distinct cutoff), values as
parameters; each deletion recorded with its namespace; the rollup still agrees with the events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.store.test_retention import NOW, event
from tests.store.test_rollup import table_agrees
from wafpipe.config.root import config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.errors import ConfigError
from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store.retention import Retention, Routing, expired, history, prune

PAYMENTS, MARKETING, SHOP = "111", "222", "333"  # site ids; SHOP has no rule: the default namespace
HOSTILE = "9'); DELETE FROM events; --"  # a rule value is data, never SQL
ROUTING = Routing("default", (("site_id", PAYMENTS, "payments"), ("site_id", MARKETING, "marketing"),
                              ("account_id", HOSTILE, "payments")))  # fmt: skip
# payments: PCI DSS (365 days), marketing: 30 days, the rest: 100 days
RETENTION = Retention(security=100, access=100, namespaces={"payments": "pci-dss", "marketing": 30})
# days old, around each limit: one second inside it stays, one second past it goes
AGES = (1, 30 - 1e-5, 30 + 1e-5, 100 - 1e-5, 100 + 1e-5, 365 - 1e-5, 365 + 1e-5, 500)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAFPIPE_NOW", NOW.isoformat())


def site_event(site: str, days_old: float, security: bool) -> Event:
    ev = event(days_old, security, 1)
    ev.doc["imperva"]["waf"]["site"]["id"] = site
    return Event(f"{site}-{days_old}-{security}", ev.doc)


def fill(sink: DuckDBSink) -> None:
    sink.write(batch_of([site_event(site, age, sec) for site in (PAYMENTS, MARKETING, SHOP) for age in AGES
                         for sec in (True, False)]))  # fmt: skip


def kept(sink: DuckDBSink) -> set[tuple[str, bool, float]]:
    """(site id, security event, days old rounded to 5 places) of every stored event."""
    rows = sink.cursor().execute('SELECT imperva.waf.site.id, imperva.waf.security_event, "@timestamp" FROM events')
    return {(site, sec, round((NOW - ts).total_seconds() / 86400, 5)) for site, sec, ts in rows.fetchall()}


def expected(limits: dict[str, float | None]) -> set[tuple[str, bool, float]]:
    return {(site, sec, round(age, 5)) for site, limit in limits.items() for age in AGES for sec in (True, False)
            if limit is None or age < limit}  # fmt: skip


class Recording:
    """A DuckDB connection that remembers every statement it ran."""

    def __init__(self, con: Any) -> None:
        self.con, self.sql = con, []  # type: ignore[var-annotated]

    def execute(self, sql: str, params: Any = None) -> Any:
        self.sql.append(sql)
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)


def test_each_namespace_loses_exactly_what_its_own_retention_no_longer_keeps(tmp_path: Path) -> None:
    with DuckDBSink(tmp_path / "s.duckdb", retention=RETENTION, routing=ROUTING) as sink:
        fill(sink)
        dry = expired(sink.cursor(), RETENTION, NOW, ROUTING)
        done = sink.prune(reason="test")
        assert [(p.dataset, p.namespace, p.deleted, (NOW - p.cutoff).days) for p in done] == [
            (dataset, ns, n, days) for dataset in ("security", "access")
            for ns, n, days in ((None, 4, 100), ("marketing", 6, 30), ("payments", 2, 365))]  # fmt: skip
        assert [p.deleted for p in dry] == [p.deleted for p in done]  # the dry run counted the same
        assert kept(sink) == expected({PAYMENTS: 365, MARKETING: 30, SHOP: 100})
        records = history(sink.cursor())
        assert {(r["dataset"], r["namespace"], r["deleted"], r["reason"]) for r in records} == {
            (p.dataset, p.namespace, p.deleted, "test") for p in done}
        table_agrees(sink)  # the hours it touched were counted again from the events left
        assert [p.deleted for p in sink.prune()] == [0] * 6  # nothing more is past its limit


def test_one_delete_per_dataset_and_distinct_cutoff_and_values_only_as_parameters(tmp_path: Path) -> None:
    """payments and cards share pci-dss's 365 days, so one DELETE takes both; the rule value that
    looks like SQL and the namespace names never enter a statement's text."""
    routing = Routing("default", (*ROUTING.rules, ("site_id", SHOP, "cards")))
    retention = Retention(security=100, access=100, namespaces={"payments": "pci-dss", "marketing": 30, "cards": 365})
    with DuckDBSink(tmp_path / "s.duckdb") as sink:
        fill(sink)
        hostile = site_event("444", 500, True)
        hostile.doc["imperva"]["waf"]["account"]["id"] = HOSTILE
        sink.write(batch_of([hostile]))
        con = Recording(sink._conn())
        done = prune(con, retention, NOW, reason="test", routing=routing)
    deletes = [sql for sql in con.sql if sql.startswith("DELETE FROM events")]
    # (security, access) × (30, 365 days); the 100 days of the rest found nothing past them: no DELETE
    assert len(deletes) == 2 * 2 and len([sql for sql in con.sql if sql.startswith("SELECT coalesce")]) == 2 * 3
    assert not any(text in sql for sql in con.sql for text in (HOSTILE, "payments", "marketing", "cards", "111"))
    shared = {p.namespace: p.deleted for p in done if p.dataset == "security" and (NOW - p.cutoff).days == 365}
    assert shared == {"cards": 2, "payments": 3}  # the hostile account's event is routed to payments


def test_an_override_may_name_one_dataset_and_the_other_follows_the_default(tmp_path: Path) -> None:
    retention = Retention(security=365, access=100, namespaces={"marketing": {"access": 30}})
    with DuckDBSink(tmp_path / "s.duckdb", retention=retention, routing=ROUTING) as sink:
        fill(sink)
        sink.prune()
        got = kept(sink)
    assert {(s, sec, a) for s, sec, a in got if s == MARKETING} == {
        (MARKETING, sec, round(a, 5)) for a in AGES for sec in (True, False) if a < (365 if sec else 30)}
    assert {(s, sec, a) for s, sec, a in got if s == SHOP} == {
        (SHOP, sec, round(a, 5)) for a in AGES for sec in (True, False) if a < (365 if sec else 100)}
    assert retention.describe() == ("security 365 days, access 100 days; namespace marketing: security 365 days, "
                                    "access 30 days")


def test_without_a_default_only_the_overridden_namespace_is_pruned(tmp_path: Path) -> None:
    retention = Retention(namespaces={"marketing": 30})
    assert retention  # a retention to apply, though the default keeps everything
    with DuckDBSink(tmp_path / "s.duckdb", retention=retention, routing=ROUTING) as sink:
        fill(sink)
        done = sink.prune()
        assert {(p.dataset, p.namespace) for p in done} == {("security", "marketing"), ("access", "marketing")}
        assert kept(sink) == expected({PAYMENTS: None, MARKETING: 30, SHOP: None})
        table_agrees(sink)


def test_an_event_that_carries_its_namespace_keeps_it(tmp_path: Path) -> None:
    """``data_stream.namespace`` written into the store wins over the rules (a replayed document)."""
    doc = site_event(SHOP, 50, False).doc
    with DuckDBSink(tmp_path / "s.duckdb", retention=RETENTION, routing=ROUTING) as sink:
        sink.write(batch_of([Event("tagged", {**doc, "data_stream": {"namespace": "marketing"}}),
                             Event("untagged", site_event(SHOP, 50, True).doc)]))  # fmt: skip
        assert [(p.namespace, p.deleted) for p in sink.prune() if p.deleted] == [("marketing", 1)]


def test_a_store_from_before_namespaces_gets_the_column_and_its_history_reads(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with DuckDBSink(path, retention=Retention(access=30)) as sink:
        fill(sink)
        sink.prune(reason="old")
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE prunes DROP COLUMN namespace")
    with DuckDBSink(path, read_only=True) as ro:
        assert {r["namespace"] for r in history(ro.cursor())} == {None}
    with DuckDBSink(path, retention=RETENTION, routing=ROUTING) as sink:
        sink.prune(reason="new")
        rows = history(sink.cursor())
        assert {r["namespace"] for r in rows if r["reason"] == "new"} == {None, "payments", "marketing"}
        assert {r["namespace"] for r in rows if r["reason"] == "old"} == {None}


def config(tmp_path: Path, **sink: Any) -> Any:
    return config_from_dict({"sinks": [{"type": "duckdb", **sink}]}, file=None, base_dir=tmp_path).store_sink


def test_per_namespace_retention_in_the_configuration(tmp_path: Path) -> None:
    rules = [{"match": "site_id", "value": PAYMENTS, "namespace": "payments"},
             {"match": "site_tag", "value": "promo", "namespace": "marketing"}]
    cfg = config(tmp_path, namespace="shop", namespace_rules=rules,
                 retention_days={"security": "soc2", "access": "soc2",
                                 "namespaces": {"payments": "pci-dss", "marketing": 30}})  # fmt: skip
    retention = Retention.of(cfg.retention_days)
    assert cfg.routing() == Routing("shop", (("site_id", PAYMENTS, "payments"), ("site_tag", "promo", "marketing")))
    assert retention.namespace_days("payments", "security") == 365 and retention.namespace_days("shop", "access") == 365
    assert retention.namespace_days("marketing", "security") == 30
    assert retention.describe().endswith("; namespace marketing: security 30 days, access 30 days; namespace "
                                         "payments: security 365 days (pci-dss), access 365 days (pci-dss)")
    with pytest.raises(ConfigError, match="must be one of 'pci-dss', 'soc2' or 'hipaa'"):
        config(tmp_path, namespace_rules=rules, retention_days={"namespaces": {"payments": "pci"}})
    with pytest.raises(ConfigError, match=r"namespaces.paymnets: no event reaches namespace 'paymnets' \(this sink's "
                                          r"namespace and namespace_rules give default, payments, marketing\)"):
        config(tmp_path, namespace_rules=rules, retention_days={"namespaces": {"paymnets": "pci-dss"}})
    with pytest.raises(ConfigError, match="invalid data stream namespace 'Payments'"):
        config(tmp_path, retention_days={"namespaces": {"Payments": 30}})
    with pytest.raises(ConfigError, match="invalid data stream namespace 'a-b'"):
        config(tmp_path, namespace="a-b")
    for bad in (0, {"access": 0}, {"acess": 30}, {"namespaces": {"x": 1}}):
        with pytest.raises(ConfigError):
            config(tmp_path, namespace_rules=rules, retention_days={"namespaces": {"payments": bad}})


def test_wafpipe_store_prune_shows_each_namespace(tmp_path: Path) -> None:
    from tests.store.conftest import wafpipe

    with DuckDBSink(tmp_path / "store.duckdb") as sink:
        fill(sink)
    (tmp_path / "wafpipe.toml").write_text(
        '[[sinks]]\ntype = "duckdb"\npath = "store.duckdb"\n'
        f'namespace_rules = [{{ match = "site_id", value = "{PAYMENTS}", namespace = "payments" }},\n'
        f'                   {{ match = "site_id", value = "{MARKETING}", namespace = "marketing" }}]\n'
        '[sinks.retention_days]\nsecurity = 100\naccess = 100\nnamespaces = { payments = "pci-dss", marketing = 30 }\n'
    )
    (tmp_path / "wafpipe.toml").chmod(0o600)
    env = {"WAFPIPE_NOW": NOW.isoformat()}
    res = wafpipe("store", "prune", "-c", "wafpipe.toml", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "retention: security 100 days, access 100 days; namespace marketing: " in res.stdout
    assert "access (namespace payments): deleted 2 events before 2025-12-02T12:00:00Z" in res.stdout
    assert "security (namespace marketing): deleted 6 events before 2026-11-02T12:00:00Z" in res.stdout
    assert "security (other namespaces): deleted 4 events before 2026-08-24T12:00:00Z" in res.stdout
    listed = wafpipe("store", "prune", "-c", "wafpipe.toml", "--history", cwd=tmp_path, env=env)
    assert sum(" events of namespace payments before " in line for line in listed.stdout.splitlines()) == 2
