"""Compiled queries run against a real DuckDB store of real documents; each count is checked
against the same question asked of the documents in Python."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.flatten import get_path
from tests.store.query.conftest import CompiledStore
from wafpipe.errors import QueryError
from wafpipe.model import Event
from wafpipe.store.query import caret, compile_query


def ts(doc: dict[str, Any]) -> datetime:
    return (
        datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    )


def in_net(value: Any, net: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(net)
    except (ValueError, TypeError):
        return False


Pred = Callable[[dict[str, Any]], bool]
CASES: list[tuple[str, Pred]] = [
    ("", lambda d: True),
    ("*", lambda d: True),
    ('event.dataset:"imperva.waf"', lambda d: True),
    ("event.dataset:imperva*", lambda d: True),
    ("event.dataset:other", lambda d: False),
    ("event.dataset:*", lambda d: True),
    ("not event.dataset:other", lambda d: True),
    (
        'event.dataset:"imperva.waf" and imperva.waf.security_event:true',
        lambda d: get_path(d, "imperva.waf.security_event"),
    ),
    ("security_event:false", lambda d: get_path(d, "imperva.waf.security_event") is False),
    (
        'rule.category:"SQL Injection"',
        lambda d: get_path(d, "rule.category") == "SQL Injection",
    ),
    ('attack_type:"sql injection"', lambda d: False),  # keyword: exact and case-sensitive
    ("attack_type:sql*", lambda d: (get_path(d, "rule.category") or "").lower().startswith("sql")),
    ("http.response.status_code:200", lambda d: get_path(d, "http.response.status_code") == 200),
    ("status:201", lambda d: get_path(d, "http.response.status_code") == 201),
    ("status >= 201", lambda d: (get_path(d, "http.response.status_code") or 0) >= 201),
    ("status:[200 TO 200]", lambda d: get_path(d, "http.response.status_code") == 200),
    ("status:{200 TO *]", lambda d: (get_path(d, "http.response.status_code") or 0) > 200),
    ("status:2*", lambda d: str(get_path(d, "http.response.status_code")).startswith("2")),
    ("not status:200", lambda d: get_path(d, "http.response.status_code") != 200),
    ("not status:*", lambda d: get_path(d, "http.response.status_code") is None),
    ("url.path:*", lambda d: get_path(d, "url.path") is not None),
    ("url.path:/main.css", lambda d: get_path(d, "url.path") == "/main.css"),
    ("url.extension:css", lambda d: get_path(d, "url.extension") == "css"),
    ("user_agent.original:*expanse*", lambda d: "expanse" in (get_path(d, "user_agent.original") or "").lower()),
    (
        "user_agent.original:*Windows?NT*",
        lambda d: "windows nt" in (get_path(d, "user_agent.original") or "").lower(),
    ),
    ("source.ip:12.12.12.12", lambda d: get_path(d, "source.ip") == "12.12.12.12"),
    ('source.ip:"2001:db8:abcd::17"', lambda d: get_path(d, "source.ip") == "2001:db8:abcd::17"),
    ('source.ip:"2001:DB8:ABCD:0::17"', lambda d: get_path(d, "source.ip") == "2001:db8:abcd::17"),
    ('source.ip:"172.96.0.0/11"', lambda d: in_net(get_path(d, "source.ip"), "172.96.0.0/11")),
    ('source.ip:"0.0.0.0/0"', lambda d: in_net(get_path(d, "source.ip"), "0.0.0.0/0")),
    ('source.ip:"12.12.12.12/32"', lambda d: get_path(d, "source.ip") == "12.12.12.12"),
    ('source.ip:"172.105.147.49/31"', lambda d: get_path(d, "source.ip") == "172.105.147.48"),
    ('source.ip:"77.222.128.0/20"', lambda d: in_net(get_path(d, "source.ip"), "77.222.128.0/20")),
    ("source.ip:12.12.*", lambda d: (get_path(d, "source.ip") or "").startswith("12.12.")),
    ("related.ip:44.44.44.44", lambda d: "44.44.44.44" in (get_path(d, "related.ip") or [])),
    (
        'related.ip:"198.51.100.0/24"',
        lambda d: any(in_net(i, "198.51.100.0/24") for i in get_path(d, "related.ip") or []),
    ),
    ("network.forwarded_ip:*", lambda d: bool(get_path(d, "network.forwarded_ip"))),
    ("event.category:intrusion_detection", lambda d: "intrusion_detection" in get_path(d, "event.category")),
    ("event.type:(allowed or denied)", lambda d: bool({"allowed", "denied"} & set(get_path(d, "event.type")))),
    (
        "source.geo.country_iso_code:(US or DE)",
        lambda d: get_path(d, "source.geo.country_iso_code") in ("US", "DE"),
    ),
    (
        "country:US and not site:example.com",
        lambda d: (
            get_path(d, "source.geo.country_iso_code") == "US" and get_path(d, "imperva.waf.site.name") != "example.com"
        ),
    ),
    (
        "imperva.waf.action:REQ_CACHED*",
        lambda d: (get_path(d, "imperva.waf.action") or "").startswith("REQ_CACHED"),
    ),
    (
        "event.outcome:failure or event.kind:alert",
        lambda d: get_path(d, "event.outcome") == "failure" or get_path(d, "event.kind") == "alert",
    ),
    ('@timestamp >= "2021-01-01T00:00:00Z"', lambda d: ts(d) >= datetime(2021, 1, 1)),
    (
        '@timestamp < "2021-06-26T03:34:59.714+02:00"',
        lambda d: ts(d) < datetime(2021, 6, 26, 1, 34, 59, 714000),
    ),
    ("@timestamp:2021-06-27", lambda d: ts(d).date().isoformat() == "2021-06-27"),
    ('@timestamp:"2016-01-20T11:42:01.336Z"', lambda d: d["@timestamp"] == "2016-01-20T11:42:01.336Z"),
    (
        '@timestamp:["2021-01-01" TO "2022-01-01"}',
        lambda d: datetime(2021, 1, 1) <= ts(d) < datetime(2022, 1, 1),
    ),
    ("@timestamp < now", lambda d: True),
    ("@timestamp > now-1d", lambda d: False),
    ('event.start >= "2024-01-01T00:00:00Z"', lambda d: (get_path(d, "event.start") or "") >= "2024-01-01"),
    ("imperva.waf.latitude > 40", lambda d: (get_path(d, "imperva.waf.latitude") or 0) > 40),
    ("source.port <= 443", lambda d: 0 < (get_path(d, "source.port") or 0) <= 443),
    (
        "imperva.waf.client.javascript_support:true",
        lambda d: get_path(d, "imperva.waf.client.javascript_support") is True,
    ),
    (
        'imperva.waf.response_headers.Content-Type:"text/html; charset=UTF-8"',
        lambda d: {"Content-Type": "text/html; charset=UTF-8"} in (get_path(d, "imperva.waf.response_headers") or []),
    ),
    ("imperva.waf.request_headers.Accept:no-such-value", lambda d: False),
    (
        'imperva.waf.request_headers.Accept:"*/*"',
        lambda d: {"Accept": "*/*"} in (get_path(d, "imperva.waf.request_headers") or []),
    ),
    (
        "imperva.waf.request_headers.Content-Type:application*",
        lambda d: any(
            h.get("Content-Type", "").startswith("application")
            for h in get_path(d, "imperva.waf.request_headers") or []
        ),
    ),
    ("imperva.waf.rule_info.type:AD_HEADER_RW", lambda d: get_path(d, "imperva.waf.rule_info") is not None),
    ("imperva.waf.request_headers:*", lambda d: get_path(d, "imperva.waf.request_headers") is not None),
    ("imperva.waf.invalid:*", lambda d: get_path(d, "imperva.waf.invalid") is not None),
    (
        'imperva.waf.request_headers:"*/*"',
        lambda d: any(v == "*/*" for h in get_path(d, "imperva.waf.request_headers") or [] for v in h.values()),
    ),
    ("imperva.waf.labels:*", lambda d: get_path(d, "imperva.waf.labels") is not None),
    ("rule.name:*High?Risk*", lambda d: "high risk" in (get_path(d, "rule.name") or "").lower()),
    ("Rehovot", lambda d: "rehovot" in str(d).lower()),
    ('"palo alto networks"', lambda d: "palo alto networks" in str(d).lower()),
    ("Kyi?", lambda d: "kyiv" in str(d).lower()),
    (
        "rehovot and not security_event:true",
        lambda d: "rehovot" in str(d).lower() and not get_path(d, "imperva.waf.security_event"),
    ),
    ("100%", lambda d: "100%" in str(d)),
    ("_id:nope", lambda d: False),
    ("message:*", lambda d: get_path(d, "message") is not None),
    ("source.geo.location:*", lambda d: get_path(d, "source.geo.location") is not None),
]


@pytest.mark.parametrize(("expr", "pred"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_counts_match_the_documents(store: CompiledStore, corpus: list[Event], expr: str, pred: Pred) -> None:
    where, params = compile_query(expr)
    assert "?" not in where or params, where
    expected = sum(1 for e in corpus if pred(e.doc))
    assert store.count(where, params) == expected, (expr, where, params)


def test_some_cases_are_not_trivial(corpus: list[Event]) -> None:
    """Guard the table above: most cases must select neither everything nor nothing."""
    partial = [e for e, p in CASES if 0 < sum(1 for ev in corpus if p(ev.doc)) < len(corpus)]
    assert len(partial) >= 40


def test_search_returns_documents_newest_first(store: CompiledStore, corpus: list[Event]) -> None:
    hits = store.service.search("status:200", limit=10)["events"]
    want = sorted(
        (e for e in corpus if get_path(e.doc, "http.response.status_code") == 200),
        key=lambda e: ts(e.doc),
        reverse=True,
    )
    assert [h["_id"] for h in hits] == [e.id for e in want]
    assert hits[0] == {"_id": want[0].id, **want[0].doc}
    page = store.service.search("status:200", limit=2, offset=1)["events"]
    assert [h["_id"] for h in page] == [e.id for e in want[1:3]]
    oldest = store.service.search("status:200", limit=1, newest_first=False)["events"]
    assert oldest[0]["_id"] == want[-1].id


def test_event_and_top(store: CompiledStore, corpus: list[Event]) -> None:
    ev = corpus[3]
    assert store.service.event(ev.id) == {"_id": ev.id, **ev.doc}
    assert store.service.event("missing") is None
    top = store.service.top("country", "country:*")["values"]
    assert {v["value"]: v["count"] for v in top} == {"US": 3, "IL": 2, "UA": 1, "DE": 1}


@pytest.mark.parametrize(
    "expr",
    [
        "x'); DROP TABLE events;--:1",
        "x'; DROP TABLE events; --:1",
        "status; DROP TABLE events:1",
        "events.doc:1",
        "doc:1",
        "imperva.waf.labels.a'b:1",
        'imperva.waf.labels.a\\"b:1',
        "imperva.waf.labels.x\\)\\;DROP:1",
        "json_extract_string(doc,'$'):x",
        'status:"1; DROP TABLE events; --"',
    ],
)
def test_injection_through_field_names_is_refused(store: CompiledStore, expr: str) -> None:
    with pytest.raises(QueryError):
        compile_query(expr)
    assert store.count() > 0


@pytest.mark.parametrize(
    "expr",
    [
        'site:"x\'); DROP TABLE events;--"',
        '"\'; DROP TABLE events; --"',
        "user_agent.original:*'\\)\\;DROP\\ TABLE\\ events\\;--*",
        "imperva.waf.request_headers.Accept:\"1' OR '1'='1\"",
        'url.path:"%"',
        'url.path:"_main.css"',
        "url.path:\\_main.css",
    ],
)
def test_injection_through_values_is_data(store: CompiledStore, corpus: list[Event], expr: str) -> None:
    where, params = compile_query(expr)
    assert store.count(where, params) == 0
    assert store.count() == len(corpus)


def test_unknown_field_names_it_and_suggests(store: CompiledStore) -> None:
    with pytest.raises(QueryError) as info:
        compile_query("site:x and stauts:200")
    err = info.value
    assert err.column == 12 and "'stauts'" in str(err) and "status" in str(err)
    with pytest.raises(QueryError) as info:
        compile_query("status_code:200")
    assert "http.response.status_code" in str(info.value)
    with pytest.raises(QueryError) as info:
        compile_query("Source.IP:1.2.3.4")
    assert "source.ip" in str(info.value)


@pytest.mark.parametrize(
    ("expr", "column", "words"),
    [
        ("status:abc", 8, "expects a number"),
        ("status >= 99999999999999999999", 11, "64-bit"),
        ("security_event:maybe", 16, "true or false"),
        ("security_event:tru*", 16, "wildcards"),
        ("source.ip:1.2.3", 11, "IP address"),
        ('source.ip:"1.2.3.0/33"', 11, "CIDR"),
        ('source.ip:"2001:db8::/32"', 11, "IPv6"),
        ("source.ip > 1.2.3.4", 13, "ranges do not apply"),
        ('@timestamp >= "yesterday"', 15, "expects a time"),
        ("@timestamp > now-99999999d", 14, "expects a time"),
        ("@timestamp:2024*", 12, "wildcards"),
        ("source.geo.location:1", 21, "geo point"),
        ("status >= 4*", 11, "wildcards"),
    ],
)
def test_type_errors_point_at_the_value(expr: str, column: int, words: str) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(expr)
    assert info.value.column == column, str(info.value)
    assert words in str(info.value)


def test_caret_renders_under_the_column() -> None:
    with pytest.raises(QueryError) as info:
        compile_query("status:200 and (site:x")
    lines = caret("status:200 and (site:x", info.value).splitlines()
    assert lines[1] == " " * 22 + "^"
