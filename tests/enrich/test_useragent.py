"""User agents: the RE2 resolver is in use, and what it gives is pinned."""

from __future__ import annotations

from wafpipe.enrich.useragent import parse_user_agent


def test_the_re2_resolver_is_used() -> None:
    # Python's re would cost ~20× per distinct agent; the Rust resolver ~18 MiB per process.
    from ua_parser.re2 import Resolver

    from wafpipe.enrich import useragent

    assert isinstance(useragent._parser().resolver, Resolver)


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
