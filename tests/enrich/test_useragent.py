"""User agents: the fast resolver is in use, and what it gives is pinned."""

from __future__ import annotations

import ua_parser

from wafpipe.enrich.useragent import parse_user_agent


def test_the_rust_regex_resolver_is_installed_and_chosen() -> None:
    # ua-parser picks ua-parser-rs when it is importable; without it every distinct agent costs ~50×.
    assert ua_parser.RegexResolver is not None
    resolver = ua_parser.parser.resolver
    resolver = getattr(resolver, "parser", resolver)  # under its cache
    assert isinstance(resolver, ua_parser.RegexResolver)


def test_agents_parse_to_ecs_user_agent_fields() -> None:
    chrome = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.6099.109 Safari/537.36")
    assert parse_user_agent(chrome) == {
        "name": "Chrome", "version": "120.0.6099.109",
        "os": {"name": "Windows", "version": "10", "full": "Windows 10"}, "device": {"name": "Other"},
    }
    assert parse_user_agent("python-requests/2.31.0") == {
        "name": "Python Requests", "version": "2.31", "device": {"name": "Other"},
    }
    assert parse_user_agent("") == {"name": "Other", "device": {"name": "Other"}}
