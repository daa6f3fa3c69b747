"""User-agent parsing with ``ua-parser`` behind an LRU cache.

``ua-parser`` runs uap-core's regexes. It is given its RE2 resolver (``google-re2``, which pySigma
needs anyway): a distinct agent costs ~42 µs instead of ~830 µs with Python's ``re`` (measured on
500 agents). The Rust resolver (``ua-parser-rs``, its ``regex`` extra) is twice as fast per agent
but holds ~18 MiB more in every decode worker and takes 0.1 s longer to start, and agents repeat:
the native core asks once per distinct value per file, and the LRU cache here spans files (issue
20: the collector's peak memory). The result is the ECS ``user_agent`` object without
``original`` (the mapper adds that).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ua_parser import Parser


@cache
def _parser() -> Parser:
    """Built on first use: compiling the regexes is the cost, and only decoding needs them. Imported
    here too: the collector's main process imports the reader (to resume files) but never decodes,
    and ua-parser with its RE2 bindings is ~3 MiB resident. Lazy matchers (ua-parser's own, made for
    resolvers like RE2's that only run the regex that matched): the RE2 set is built from the
    patterns' text, and Python's ``re`` compiles a pattern when an agent first matches it, not all
    ~1300 at start (``wafpipe parse`` of 200 000 events: 0.08 s less per process)."""
    from ua_parser import Parser, load_lazy_builtins
    from ua_parser.re2 import Resolver

    return Parser(Resolver(load_lazy_builtins()))


def _version(*parts: str | None) -> str | None:
    out = []
    for p in parts:
        if p is None or p == "":
            break
        out.append(p)
    return ".".join(out) or None


@lru_cache(maxsize=8192)
def parse_user_agent(ua: str) -> dict[str, Any]:
    """ECS ``user_agent`` fields for ``ua`` (callers must not mutate the returned dict)."""
    result = _parser().parse(ua[:4096])  # every domain: agent, OS, device
    out: dict[str, Any] = {}
    agent = result.user_agent
    out["name"] = agent.family if agent else "Other"
    if agent:
        version = _version(agent.major, agent.minor, agent.patch, agent.patch_minor)
        if version:
            out["version"] = version
    os_ = result.os
    if os_ and os_.family and os_.family != "Other":
        os_doc: dict[str, Any] = {"name": os_.family}
        os_version = _version(os_.major, os_.minor, os_.patch, os_.patch_minor)
        if os_version:
            os_doc["version"] = os_version
            os_doc["full"] = f"{os_.family} {os_version}"
        else:
            os_doc["full"] = os_.family
        out["os"] = os_doc
    device = result.device
    out["device"] = {"name": device.family if device and device.family else "Other"}
    return out
