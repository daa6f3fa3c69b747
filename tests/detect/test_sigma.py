"""Sigma rules over the store: Sigma's meaning of every value form and modifier, kept against a real
DuckDB store (case, wildcards, lists, ``|all``, ``|re`` and its flags, ``|cidr``, comparisons,
``null``/``|exists``, keywords, ``1 of``/``not``), the webserver and proxy taxonomies mapped onto
our fields, values that stay parameters, and every unsupported construct refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.detect.events import store_of, web_event
from wafpipe.detect import SHIPPED_RULES, Detection, Rule, UnsupportedRule, load_paths, load_text
from wafpipe.store.service import ReadService

# name → the event's fields (tests.detect.events.web_event)
EVENTS: dict[str, dict[str, Any]] = {
    "sqli_passed": {"ua": "SQLMap/1.7#stable", "query": "user=admin'--", "act": "REQ_PASSED", "ip": "77.222.131.19",
                    "rules": "SQL rule A,Blacklisted IP", "category": "SQL Injection", "security": True,
                    "method": "POST", "path": "/login"},
    "xss_blocked": {"ua": "Mozilla/5.0 Firefox/120.0", "query": "q=<script>alert(1)</script>", "act": "REQ_BLOCKED",
                    "ip": "10.1.2.3", "rules": "XSS rule", "category": "Cross Site Scripting", "security": True,
                    "method": "POST", "path": "/login"},
    "sqli_lower": {"ua": "curl/8.0", "query": "a=UNION SELECT", "act": "REQ_PASSED", "ip": "10.200.0.1", "rules": "x",
                   "category": "sql injection attempt", "security": True, "method": "POST", "path": "/login"},
    "plain": {"ua": "Mozilla/5.0 Safari/17", "query": "page=2", "act": "REQ_PASSED", "ip": "192.0.2.10",
              "status": 404, "path": "/wp-login.php", "security": False, "method": "POST"},
}  # fmt: skip


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadService]:
    sink = store_of(tmp_path_factory.mktemp("sigma") / "store.duckdb",
                    [web_event(name, **fields) for name, fields in EVENTS.items()])  # fmt: skip
    yield ReadService(sink.cursor)
    sink.close()


def matched(service: ReadService, rule: Detection) -> set[str]:
    assert isinstance(rule, Rule)
    found = service.search(rule.tree, limit=100, fields=["_id"])["events"]
    return {e["_id"] for e in found}


def rule_of(detection: str, logsource: str = "category: webserver", title: str = "test rule") -> Rule:
    (rule,) = load_text(f"title: {title}\nlogsource:\n  {logsource}\ndetection:\n{detection}\nlevel: low\n")
    assert isinstance(rule, Rule)
    return rule


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        # strings match whatever their case; contains/startswith/endswith add the wildcards
        ("  sel:\n    cs-user-agent|contains: sqlmap\n  condition: sel", {"sqli_passed"}),
        ("  sel:\n    rule.category: sql injection\n  condition: sel", {"sqli_passed"}),
        ("  sel:\n    rule.category|startswith: 'sql inj'\n  condition: sel", {"sqli_passed", "sqli_lower"}),
        ("  sel:\n    cs-uri-stem|endswith: .PHP\n  condition: sel", {"plain"}),
        ("  sel:\n    rule.category|cased: sql injection attempt\n  condition: sel", {"sqli_lower"}),
        ("  sel:\n    rule.category|cased: SQL INJECTION ATTEMPT\n  condition: sel", set()),
        # a list is any of its values; |all every one
        ("  sel:\n    cs-user-agent|contains:\n      - curl\n      - safari\n  condition: sel", {"sqli_lower", "plain"}),
        ("  sel:\n    cs-uri-query|contains|all:\n      - admin\n      - \"'--\"\n  condition: sel", {"sqli_passed"}),
        ("  sel:\n    cs-uri-query|contains|all:\n      - admin\n      - select\n  condition: sel", set()),
        # regular expressions, with a flag
        ("  sel:\n    cs-uri-query|re: 'union\\s+select'\n  condition: sel", set()),
        ("  sel:\n    cs-uri-query|re|i: 'union\\s+select'\n  condition: sel", {"sqli_lower"}),
        # addresses, numbers, presence
        ("  sel:\n    c-ip|cidr: 10.0.0.0/8\n  condition: sel", {"xss_blocked", "sqli_lower"}),
        ("  sel:\n    sc-status|gte: 400\n  condition: sel", {"plain"}),
        ("  sel:\n    rule.category: null\n  condition: sel", {"plain"}),
        ("  sel:\n    rule.category|exists: true\n  condition: sel", {"sqli_passed", "xss_blocked", "sqli_lower"}),
        # a list field matches when any element does
        ("  sel:\n    imperva.waf.rule_names: blacklisted ip\n  condition: sel", {"sqli_passed"}),
        # keywords search the raw line
        ("  keywords:\n    - '<script>'\n  condition: keywords", {"xss_blocked"}),
        # conditions
        ("  sel1:\n    cs-method: post\n  filter:\n    c-ip|cidr: 10.0.0.0/8\n  condition: sel1 and not filter",
         {"sqli_passed", "plain"}),
        ("  sel_a:\n    cs-user-agent|contains: sqlmap\n  sel_b:\n    sc-status: 404\n  condition: 1 of sel_*",
         {"sqli_passed", "plain"}),
        # the proxy taxonomy, and ECS names as they are
        ("  sel:\n    c-useragent|contains: firefox\n    r-dns: SHOP.example.com\n  condition: sel", {"xss_blocked"}),
        ("  sel:\n    imperva.waf.action_class: blocked\n  condition: sel", {"xss_blocked"}),
    ],
)
def test_sigma_values_and_modifiers_mean_what_sigma_says(service: ReadService, detection: str, expected: set[str]) -> None:
    assert matched(service, rule_of(detection)) == expected


def test_rule_values_stay_parameters(service: ReadService) -> None:
    payload = "x'); DROP TABLE events; --"
    rule = rule_of(f'  sel:\n    cs-user-agent: "{payload}"\n  condition: sel')
    sql, params = rule.where()
    assert payload not in sql and payload in params
    assert matched(service, rule) == set()
    assert service.count()["count"] == len(EVENTS)


@pytest.mark.parametrize(
    ("detection", "logsource", "says"),
    [
        ("  sel:\n    Image: cmd.exe\n  condition: sel", "product: windows", "is not web traffic"),
        ("  sel:\n    cs-cookie: x\n  condition: sel", "category: webserver", "unknown field 'cs-cookie'"),
        ("  sel:\n    cs-host|fieldref: cs-referer\n  condition: sel", "category: webserver", "not supported"),
        ("  sel:\n    c-ip|expand: '%admins%'\n  condition: sel", "category: webserver", "placeholders"),
        ("  sel:\n    c-ip|cidr: '2001:db8::/32'\n  condition: sel", "category: webserver", "IPv6"),
        ("  sel:\n    sc-status|re: '(unclosed'\n  condition: sel", "category: webserver", "is invalid"),
        ("  sel:\n    cs-uri-query: x\n  condition: sel and nothing", "category: webserver", "nothing"),
    ],
)
def test_unsupported_rules_are_refused_naming_the_rule_and_the_construct(detection: str, logsource: str,
                                                                         says: str) -> None:  # fmt: skip
    with pytest.raises(UnsupportedRule) as err:
        rule_of(detection, logsource, title="my rule")
    assert "'my rule'" in str(err.value) and says in str(err.value), str(err.value)


def test_rule_files_and_directories_load_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b.yml").write_text("title: b\nlogsource:\n  category: proxy\ndetection:\n  s:\n    c-uri: x\n"
                                    "  condition: s\n")  # fmt: skip
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text("title: a\nlogsource:\n  category: webserver\ndetection:\n  s:\n"
                                             "    cs-uri: y\n  condition: s\n")  # fmt: skip
    (tmp_path / "notes.txt").write_text("not a rule")
    assert [r.title for r in load_paths([tmp_path])] == ["b", "a"]
    (tmp_path / "c.yml").write_text("title: [unclosed\n")
    with pytest.raises(UnsupportedRule, match="c.yml"):
        load_paths([tmp_path])


def test_every_shipped_rule_loads(service: ReadService) -> None:
    rules = load_paths([SHIPPED_RULES])
    assert len(rules) >= 2 and len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.level in ("informational", "low", "medium", "high", "critical")
        assert rule.falsepositives, f"{rule.source}: every shipped rule says how to tune it"
        if isinstance(rule, Rule):
            service.count(rule.tree)  # runs


def test_the_shipped_rules_fire_on_what_they_are_for(service: ReadService) -> None:
    by_title = {r.title: r for r in load_paths([SHIPPED_RULES])}
    assert matched(service, by_title["SQL injection or cross-site scripting that the WAF let through"]) == {"sqli_passed"}
    assert matched(service, by_title["Web scanner or attack tool user agent"]) == {"sqli_passed"}
