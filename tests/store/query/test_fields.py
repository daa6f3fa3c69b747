"""The allow-list: every field compiles and runs, and its list/scalar shape matches real documents."""

from __future__ import annotations

from typing import Any

import pytest

from tests.store.query.conftest import CompiledStore
from wafpipe.fields.table import emitted_fields
from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import COLUMNS
from wafpipe.store.query import allowed_fields, compile_query, resolve
from wafpipe.store.query.fields import FieldRef

SAMPLES = {
    "keyword": ["abc", "a*c", '"x y"'],
    "text": ["abc", "a*c"],
    "long": ["1", "1*"],
    "double": ["1.5", "-2"],
    "boolean": ["true", "FALSE"],
    "date": ['"2024-06-10T00:00:00Z"', "2024-06-10", "now-1h"],
    "ip": ["10.0.0.1", '"10.0.0.0/8"', "10.*", '"2001:db8::1"'],
    "flattened": ["abc", "a*"],
    "constant": ["imperva.waf", "x*"],
    "geo_point": [],
}
RANGES = {
    "keyword": "m",
    "text": "m",
    "long": "400",
    "double": "1.5",
    "date": '"2024-06-10T00:00:00Z"',
    "flattened": "m",
    "constant": "m",
}


def queries(name: str, ref: FieldRef) -> list[str]:
    out = [f"{name}:*", f"not {name}:*"]
    out += [f"{name}:{v}" for v in SAMPLES[ref.type]]
    if ref.type in RANGES:
        out += [f"{name} >= {RANGES[ref.type]}", f"{name}:[{RANGES[ref.type]} TO *}}"]
    return out


@pytest.mark.parametrize("name", sorted(allowed_fields()))
def test_every_allowed_field_compiles_and_runs(store: CompiledStore, name: str) -> None:
    ref = allowed_fields()[name]
    for q in queries(name, ref):
        where, params = compile_query(q)
        assert store.count(where, params) >= 0, q


def test_allow_list_covers_columns_and_emitted_fields() -> None:
    names = allowed_fields()
    for c in COLUMNS:
        assert names[c.field].column == c.name
        assert names[c.name].column == c.name
    assert set(emitted_fields()) <= set(names)
    assert names["http.response.status_code"].column == names["status"].column == "status"
    assert names["source.ip"].column == "source_ip"
    assert "imperva.waf.status_code" not in names  # a value lives once: in its ECS field
    assert names["event.dataset"].type == "constant"


def test_allow_list_sql_is_fixed_text() -> None:
    """Field SQL never holds a parameter except the JSON paths of flattened sub-keys."""
    for ref in allowed_fields().values():
        assert "?" not in ref.sql and not ref.params
    sub = resolve("imperva.waf.request_headers.Accept")
    assert sub is not None and sub.sql.count("?") == len(sub.params) == 2
    assert resolve("imperva.waf.request_headers.a'b") is None
    assert resolve("imperva.waf.request_headers.") is None
    assert resolve("nope") is None


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out


def test_list_shapes_match_real_documents(corpus: list[Event]) -> None:
    """A field read as a scalar never holds an array in real documents, and vice versa."""
    names = allowed_fields()
    seen_lists: set[str] = set()
    for ev in corpus:
        for path, value in flatten(ev.doc).items():
            ref = names.get(path)
            if ref is None or ref.type in ("flattened", "constant"):
                continue
            if isinstance(value, list):
                seen_lists.add(path)
                assert ref.is_list, f"{path} holds an array but is queried as a scalar"
            else:
                assert not ref.is_list, f"{path} holds a scalar but is queried as an array"
    assert {"related.ip", "event.category", "event.type"} <= seen_lists
