"""Sigma correlation rules: ``event_count`` and ``value_count`` per group in a sliding window,
counted by the read service over a real store; the window slides (a burst across a boundary
counts), events before ``since`` count back one timespan, and what is not supported is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.detect.events import T0, store_of, web_event
from wafpipe.detect import Correlation, Rule, UnsupportedRule, load_paths, load_text
from wafpipe.model import Event
from wafpipe.store.service import ReadService

BASE = ("title: not found\nname: not_found\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
        "    sc-status: 404\n  condition: sel\n")  # fmt: skip


def event(n: int, ip: str, at: datetime, path: str, status: int = 404) -> Event:
    return web_event(f"{ip}-{n}", ip=ip, at=at, path=path, status=status)


def traffic() -> list[Event]:
    events = []
    for i in range(12):  # a scanner: 12 distinct missing paths in 66 s, across 12:05
        events.append(event(i, "198.51.100.7", T0 + timedelta(seconds=6 * i), f"/probe{i}"))
    for i in range(12):  # a broken link: 12 times the same missing path in 66 s
        events.append(event(i, "203.0.113.9", T0 + timedelta(seconds=6 * i), "/old.png"))
    for i in range(12):  # slow: 12 missing paths, ten minutes apart
        events.append(event(i, "192.0.2.50", T0 + timedelta(minutes=10 * i), f"/p{i}"))
    for i in range(12):  # busy but fine: 12 found pages in 66 s
        events.append(event(i, "192.0.2.80", T0 + timedelta(seconds=6 * i), f"/ok{i}", status=200))
    return events


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadService]:
    sink = store_of(tmp_path_factory.mktemp("corr") / "store.duckdb", traffic())
    yield ReadService(sink.cursor)
    sink.close()


def correlation(kind: str, condition: str, *, generate: bool = False, extra: str = "") -> tuple[Rule, Correlation]:
    text = (BASE + f"---\ntitle: many\ncorrelation:\n  type: {kind}\n  rules:\n    - not_found\n"
            f"  group-by:\n    - c-ip\n  timespan: 5m\n  condition:\n{condition}\n"
            + ("  generate: true\n" if generate else "") + "level: medium\n" + extra)  # fmt: skip
    base, corr = load_text(text)
    assert isinstance(base, Rule) and isinstance(corr, Correlation)
    return base, corr


def run(service: ReadService, corr: Correlation, since: datetime | None = None) -> dict[str, Any]:
    found = service.correlate(corr.base, list(corr.group_by), corr.timespan_s, corr.threshold,
                              distinct=corr.distinct, strictly=corr.strictly, since=since)  # fmt: skip
    return {g["by"]["source.ip"]: g for g in found["groups"]}


def test_event_count_in_a_sliding_window(service: ReadService) -> None:
    base, corr = correlation("event_count", "    gte: 10")
    assert not base.standalone  # it alerts through the correlation only (Sigma's generate: false)
    assert (corr.group_by, corr.timespan_s, corr.threshold) == (("source.ip",), 300, 10)
    groups = run(service, corr)
    assert set(groups) == {"198.51.100.7", "203.0.113.9"}
    scanner = groups["198.51.100.7"]
    assert scanner["first"] == "2026-06-01T12:05:24.000Z"  # the 10th event, past the 5-minute mark
    assert scanner["peak"] == 12 and len(scanner["ids"]) == 12
    assert run(service, correlation("event_count", "    gt: 12")[1]) == {}


def test_value_count_counts_distinct_values(service: ReadService) -> None:
    _, corr = correlation("value_count", "    gte: 10\n    field: cs-uri-stem")
    assert corr.distinct == "url.path"
    assert set(run(service, corr)) == {"198.51.100.7"}


def test_events_before_since_count_back_one_timespan(service: ReadService) -> None:
    _, corr = correlation("event_count", "    gte: 10")
    later = run(service, corr, since=T0 + timedelta(seconds=60))  # the 11th and 12th events are after it
    assert set(later) == {"198.51.100.7", "203.0.113.9"}
    assert later["198.51.100.7"]["first"] == "2026-06-01T12:05:30.000Z"
    assert run(service, corr, since=T0 + timedelta(minutes=3)) == {}


def test_the_wafpipe_block_makes_a_spike_or_a_new_value() -> None:
    _, spike = correlation("event_count", "    gte: 50", extra=SPIKE)
    assert (spike.kind, spike.threshold, spike.history_s, spike.factor) == ("spike", 50, 3600, 4.0)
    assert spike.pattern() == {"kind": "spike", "history_s": 3600, "factor": 4.0}
    _, new = correlation("value_count", "    gte: 1\n    field: cs-uri-stem", extra="wafpipe:\n  new_value:\n    history: 30d\n")
    assert new.pattern() == {"kind": "new_value", "distinct": "url.path", "history_s": 30 * 86400}


def test_generate_keeps_the_base_rule_alerting_alone() -> None:
    base, _ = correlation("event_count", "    gte: 10", generate=True)
    assert base.standalone


SPIKE = "wafpipe:\n  spike:\n    history: 1h\n    factor: 4\n"


@pytest.mark.parametrize(
    ("kind", "condition", "extra", "says"),
    [
        ("event_count", "    lt: 2", "", "the condition lt is not supported"),
        ("value_count", "    gte: 2\n    field: cs-cookie", "", "'cs-cookie' is not a field"),
        ("value_sum", "    gte: 2\n    field: sc-status", "", "correlation type 'value_sum' is not supported"),
        ("temporal", "    gte: 2", "", "temporal correlates two rules or more"),
        ("value_count", "    gte: 2\n    field: cs-uri-stem", SPIKE, "spike goes with the correlation type event_count"),
        ("event_count", "    gte: 2", SPIKE.replace("1h", "1m"), "the history is shorter than the timespan"),
        ("event_count", "    gte: 2", SPIKE.replace("4", "0.5"), "factor is a number from 1 to 1000"),
        ("event_count", "    gte: 2", "wafpipe:\n  baseline: 1h\n", "the wafpipe: block holds one of spike, new_value"),
        ("value_count", "    gte: 1\n    field: cs-uri-stem", "wafpipe:\n  new_value: {}\n", "history required"),
    ],
)
def test_unsupported_correlations_are_refused_by_name(kind: str, condition: str, extra: str, says: str) -> None:
    with pytest.raises(UnsupportedRule) as err:
        correlation(kind, condition, extra=extra)
    assert "'many'" in str(err.value) and says in str(err.value), str(err.value)


def test_a_correlation_of_a_rule_that_is_not_there_is_refused() -> None:
    text = ("title: many\ncorrelation:\n  type: event_count\n  rules:\n    - nowhere\n  group-by:\n    - c-ip\n"
            "  timespan: 5m\n  condition:\n    gte: 10\n")  # fmt: skip
    with pytest.raises(UnsupportedRule, match="not loaded"):
        load_text(text)


def test_a_correlation_may_come_before_its_rule_in_another_file(tmp_path: Path) -> None:
    (tmp_path / "a_many.yml").write_text(
        "title: many\ncorrelation:\n  type: event_count\n  rules:\n    - not_found\n  group-by:\n    - c-ip\n"
        "  timespan: 5m\n  condition:\n    gte: 10\n"
    )
    (tmp_path / "b_base.yml").write_text(BASE)
    loaded = load_paths([tmp_path])
    (corr,) = [d for d in loaded if isinstance(d, Correlation)]
    (base,) = [d for d in loaded if isinstance(d, Rule)]
    assert corr.rules == (base.id,) and not base.standalone


def test_two_rules_with_one_id_are_refused(tmp_path: Path) -> None:
    rule = "title: {t}\nid: 0b5f8f3e-8f43-4f7e-9c57-2a4b2f5f7a11\nlogsource:\n  category: webserver\n" \
           "detection:\n  s:\n    sc-status: 404\n  condition: s\n"  # fmt: skip
    (tmp_path / "one.yml").write_text(rule.format(t="one"))
    (tmp_path / "two.yml").write_text(rule.format(t="two"))
    with pytest.raises(UnsupportedRule, match="has the id"):
        load_paths([tmp_path])
