"""A value lives once in a document (issue 19 item 5, ``docs/ecs-mapping.md``).

Each key of the field table has one field; no field the first version duplicated is emitted; and in
real documents of every format no text value of the record sits in two fields, apart from the
pairs listed below, each of which holds two different facts that can coincide or two forms ECS or
Elastic ask for.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.flatten import leaves
from wafpipe.decode.reader import Problem, read_path
from wafpipe.fields.table import FIELDS, emitted_fields
from wafpipe.tools.generate import generate_files

# Fields the first version wrote beside the ECS field (or the event) that holds the same value.
REMOVED = {
    "imperva.waf.client.user_agent", "imperva.waf.pop", "imperva.waf.city", "imperva.waf.start",
    "imperva.waf.end", "imperva.waf.request", "imperva.waf.referrer", "imperva.waf.method",
    "imperva.waf.query", "imperva.waf.post_body", "imperva.waf.status_code", "imperva.waf.client_ip",
    "imperva.waf.client_port", "imperva.waf.origin_ip", "imperva.waf.origin_port", "imperva.waf.xff",
    "imperva.waf.signature_id", "imperva.waf.attack_type", "imperva.waf.raw", "imperva.waf.file.header",
    "imperva.waf.file.format", "imperva.waf.file.api_id", "imperva.waf.file.sequence",
    "imperva.waf.file.compression", "imperva.waf.file.encrypted", "imperva.waf.file.gzip_wrapped",
    "imperva.waf.file.directives", "imperva.waf.file.format_version",
}  # fmt: skip

# Leaves that repeat another by design: the raw line; the lists gathered for search (related.*);
# ECS's `address` beside `ip`; the composed URL; where the file was read (its path may be its
# name). Fields that may coincide although they are different facts: the event's time (ECS's
# `@timestamp`, taken from `start`), its start and its end; the client's address and the
# X-Forwarded-For chain; the protected site and the request's host; what ua-parser says of the
# agent (an `Android` browser on `Android`) and Imperva's client application; the names of what fired — the event's name, the attack type its
# rule-type id decodes to, the rules (as sent in `rule.name`, as Elastic, and as a list) — which
# often share a word such as `SQL Injection` (but `IncapRules(…)` is a name, not a type).
REPEATS = {"event.original", "related.ip", "related.hosts", "source.address", "destination.address", "url.full",
           "log.file.path"}  # fmt: skip
COINCIDE = [
    {"@timestamp", "event.start", "event.end"},
    {"source.ip", "network.forwarded_ip"},
    {"imperva.waf.site.name", "url.domain"},
    {"user_agent.name", "user_agent.os.name", "user_agent.os.full", "user_agent.device.name", "imperva.waf.client.app"},
    {"rule.name", "imperva.waf.rule_names", "imperva.waf.event_name", "rule.category"},
]


def test_each_key_has_one_field_and_nothing_removed_is_emitted() -> None:
    paths = [f.path for f in FIELDS]
    assert len(paths) == len(set(paths))
    assert not REMOVED & set(emitted_fields())
    assert not any(p.startswith("imperva.waf.raw.") for p in emitted_fields())


def _allowed(paths: set[str]) -> bool:
    paths = {p for p in paths if p not in REPEATS}
    return len(paths) <= 1 or any(paths <= pair for pair in COINCIDE)


@pytest.mark.parametrize("fmt", ["cef", "leef", "w3c"])
def test_no_value_sits_in_two_fields(tmp_path: Path, fmt: str) -> None:
    paths = generate_files(tmp_path, events=400, files=1, fmt=fmt, compression="zlib", attack_ratio=0.5, seed=3)
    docs = [i.doc for i in read_path(paths[0]).items() if not isinstance(i, Problem)]
    assert len(docs) == 400
    for doc in docs:
        where: dict[Any, set[str]] = defaultdict(set)
        for path, value in leaves(doc).items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and len(item) >= 6:  # short words coincide by chance
                    where[item].add(path.split("[")[0])
        twice = {v: sorted(p) for v, p in where.items() if not _allowed(p)}
        assert not twice, f"values in two fields: {twice}"
    user_agents = [d["user_agent"]["original"] for d in docs if "user_agent" in d]
    assert user_agents and all("user_agent" not in d["imperva"]["waf"].get("client", {}) for d in docs)
