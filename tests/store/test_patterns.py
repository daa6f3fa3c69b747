"""The read side's patterns beyond counts (:mod:`wafpipe.store.correlate`), over a real store: steps
in any order or in order within a timespan, a spike against the group's rolling baseline, and a
value new to a group. Each test has the events that must be found and those that must not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.detect.events import T0, store_of, web_event
from wafpipe.errors import QueryError
from wafpipe.model import Event
from wafpipe.store.service import ReadService

BLOCKED = "imperva.waf.action_class:blocked"
PASSED = "imperva.waf.action_class:passed and imperva.waf.security_event:true"
SITES = ("url.domain", "source.ip")


def attack(n: str, ip: str, minutes: float, *, blocked: bool, site: str = "shop.example.com",
           country: str = "DE") -> Event:  # fmt: skip
    return web_event(n, ip=ip, site=site, at=T0 + timedelta(minutes=minutes), act="REQ_BLOCKED" if blocked else
                     "REQ_PASSED", security=True, category="SQL Injection", country=country)  # fmt: skip


def traffic() -> list[Event]:
    events = [
        # blocked, then passed 10 minutes later on the same site: the sequence
        attack("a1", "198.51.100.1", 0, blocked=True),
        attack("a2", "198.51.100.1", 10, blocked=False),
        # passed first, then blocked: in any order only
        attack("b1", "198.51.100.2", 0, blocked=False),
        attack("b2", "198.51.100.2", 5, blocked=True),
        # blocked, then passed two hours later: too far apart
        attack("c1", "198.51.100.3", 0, blocked=True),
        attack("c2", "198.51.100.3", 120, blocked=False),
        # blocked on one site, passed on another: not the same group
        attack("d1", "198.51.100.4", 0, blocked=True, site="shop.example.com"),
        attack("d2", "198.51.100.4", 1, blocked=False, site="blog.example.com"),
    ]
    # steady traffic: 10 requests per 5 minutes on two sites for 2 hours, then a burst of 200 on one
    for i in range(240):
        for site in ("shop.example.com", "blog.example.com"):
            events.append(web_event(f"s-{site}-{i}", ip=f"192.0.2.{i % 50}", site=site,
                                    at=T0 + timedelta(hours=1, seconds=30 * i)))  # fmt: skip
    for i in range(200):  # in one 5-minute bucket; the same on a site that had no traffic before
        for site in ("shop.example.com", "fresh.example.com"):
            events.append(web_event(f"burst-{site}-{i}", ip="203.0.113.5", site=site,
                                    at=T0 + timedelta(hours=3, seconds=30 + i)))  # fmt: skip
    # a site attacked from DE and FR for days; then one attack from KP; a new site's first attacks
    for day in range(3):
        events += [attack(f"h{day}de", "192.0.2.200", -60 * 24 * (day + 1), blocked=True, country="DE", site="old.example.com"),
                   attack(f"h{day}fr", "192.0.2.201", -60 * 24 * (day + 1), blocked=True, country="FR", site="old.example.com")]  # fmt: skip
    events += [attack("n1", "203.0.113.66", 30, blocked=True, country="KP", site="old.example.com"),
               attack("n2", "203.0.113.67", 31, blocked=True, country="DE", site="old.example.com"),
               attack("n3", "203.0.113.68", 32, blocked=True, country="BR", site="new.example.com")]  # fmt: skip
    return events


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadService]:
    sink = store_of(tmp_path_factory.mktemp("patterns") / "store.duckdb", traffic())
    yield ReadService(sink.cursor)
    sink.close()


def by(found: dict[str, Any], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(g["by"][k] for k in keys): g for g in found["groups"]}


def test_steps_in_order_within_the_timespan(service: ReadService) -> None:
    found = service.correlate("", list(SITES), 3600, 0, kind="temporal_ordered", steps=[BLOCKED, PASSED],
                              since=T0 - timedelta(minutes=1), until=T0 + timedelta(hours=5))  # fmt: skip
    groups = by(found, "source.ip")
    assert set(groups) == {("198.51.100.1",)}  # not passed-then-blocked, too late, or another site
    hit = groups[("198.51.100.1",)]
    assert hit["by"]["url.domain"] == "shop.example.com" and hit["peak"] == 2
    assert hit["first"] == hit["last"] == "2026-06-01T12:14:30.000Z"  # completed by the passed request
    assert sorted(hit["ids"]) == ["a1", "a2"]


def test_steps_in_any_order(service: ReadService) -> None:
    found = service.correlate("", list(SITES), 3600, 0, kind="temporal", steps=[BLOCKED, PASSED],
                              since=T0 - timedelta(minutes=1), until=T0 + timedelta(hours=5))  # fmt: skip
    assert set(by(found, "source.ip")) == {("198.51.100.1",), ("198.51.100.2",)}


def test_a_spike_against_the_rolling_baseline(service: ReadService) -> None:
    def spikes(floor: int, factor: float) -> dict[tuple[Any, ...], dict[str, Any]]:
        return by(service.correlate("", ["url.domain"], 300, floor, kind="spike", history_s=3600, factor=factor,
                                    since=T0 + timedelta(hours=2.5), until=T0 + timedelta(hours=5)),
                  "url.domain")  # fmt: skip

    found = spikes(100, 5)
    # 200 in a bucket against a baseline of 10; blog stays flat; fresh has no baseline to spike from
    assert set(found) == {("shop.example.com",)}
    assert found[("shop.example.com",)]["peak"] == 200
    assert len(found[("shop.example.com",)]["ids"]) == 100  # max_ids
    assert spikes(300, 5) == {}  # under the floor
    assert spikes(100, 25) == {}  # 200 is not 25 times 10


def test_a_value_new_to_its_group(service: ReadService) -> None:
    def new(since_min: float, history_days: int = 7) -> dict[tuple[Any, ...], dict[str, Any]]:
        return by(service.correlate("imperva.waf.security_event:true", ["url.domain"], 300, 0, kind="new_value",
                                    distinct="source.geo.country_iso_code", history_s=history_days * 86400,
                                    since=T0 + timedelta(minutes=since_min), until=T0 + timedelta(hours=5)),
                  "url.domain", "source.geo.country_iso_code")  # fmt: skip

    found = new(25)
    # KP is new to the old site; DE is not; the new site has no history, so nothing of it is new
    assert set(found) == {("old.example.com", "KP")}
    assert found[("old.example.com", "KP")]["ids"] == ["n1"]
    assert new(31) == {}  # KP's attack is before the range: part of the history now
    assert set(new(25, history_days=2)) == {("old.example.com", "KP")}  # two days back hold DE and FR
    assert new(25, history_days=1) == {}  # one day back holds nothing of the old site: no history, nothing new


def test_bad_arguments_are_refused(service: ReadService) -> None:
    with pytest.raises(QueryError, match="kind"):
        service.correlate("", ["source.ip"], 60, 1, kind="sometimes")
    with pytest.raises(QueryError, match="steps"):
        service.correlate("", ["source.ip"], 60, 1, kind="temporal_ordered", steps=[BLOCKED])
    with pytest.raises(QueryError, match="factor"):
        service.correlate("", ["url.domain"], 60, 1, kind="spike", history_s=3600, factor=0.5)
    with pytest.raises(QueryError, match="history"):
        service.correlate("", ["url.domain"], 600, 1, kind="spike", history_s=60, factor=2)
    with pytest.raises(QueryError, match="distinct"):
        service.correlate("", ["url.domain"], 60, 1, kind="new_value", history_s=3600)
