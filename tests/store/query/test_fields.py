"""The allow-list: every field compiles and runs, and its list/scalar shape matches real documents."""

from __future__ import annotations

from typing import Any

import pytest

from tests.store.query.conftest import CompiledStore
from wafpipe.fields.arrow import list_fields
from wafpipe.fields.table import emitted_fields
from wafpipe.model import Event
from wafpipe.store.query import allowed_fields, compile_query, resolve
from wafpipe.store.query.fields import ALIASES, FieldRef

SAMPLES = {
    "keyword": ["abc", "a*c", '"x y"'],
    "text": ["abc", "a*c"],
    "long": ["1", "1*"],
    "double": ["1.5", "-2"],
    "boolean": ["true", "FALSE"],
    "date": ['"2024-06-10T00:00:00Z"', "2024-06-10", "now-1h"],
    "ip": ["10.0.0.1", '"10.0.0.0/8"', "10.*", '"2001:db8::1"'],
    "flattened": ["abc", "a*", '"*/*"'],
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


def test_allow_list_covers_emitted_fields_by_their_typed_columns() -> None:
    """Every emitted field reads its own column by struct access; nothing reads a JSON document."""
    names = allowed_fields()
    assert set(emitted_fields()) <= set(names)
    for name in emitted_fields():
        ref = names[name]
        assert ref.name == name and ref.column is not None
        if name != "event.original":
            assert ref.column == ".".join(f'"{p}"' for p in name.split("."))
        assert ref.is_list == (name in list_fields() or ref.type == "flattened"), name
        assert "doc" not in ref.sql.replace('"', " ").split()
    assert names["event.original"].sql == '"event_original"'
    assert names["source.geo.country_iso_code"].sql == '"source"."geo"."country_iso_code"'
    assert names["imperva.waf.request_headers"].json and names["imperva.waf.request_headers"].type == "flattened"
    assert names["source.geo.location.lat"].type == "double"
    assert "imperva.waf.status_code" not in names  # a value lives once: in its ECS field
    assert names["event.dataset"].type == "constant"


def test_short_names_of_version_1_are_aliases_of_ecs_fields() -> None:
    names = allowed_fields()
    for alias, ecs in ALIASES.items():
        assert names[alias] is names[ecs], alias
    assert names["status"].name == "http.response.status_code"


def test_allow_list_sql_is_fixed_text() -> None:
    """Field SQL never holds a parameter except the JSON paths of flattened sub-keys."""
    for ref in allowed_fields().values():
        assert "?" not in ref.sql and not ref.params
        assert ref.column is None or "?" not in ref.column
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
