"""The Rust tables are generated from the Python field table and checked in: they must be current."""

from __future__ import annotations

import re
from pathlib import Path

from wafpipe.fields import codegen, keys

ROOT = Path(__file__).resolve().parents[2]


def test_generated_keys_are_current() -> None:
    on_disk = (ROOT / codegen.GENERATED_KEYS).read_text(encoding="utf-8")
    assert on_disk == codegen.render_keys(), "native/src/generated/keys.rs is stale: run `make generate`"


def test_every_table_is_rendered() -> None:
    text = codegen.render_keys()
    for key in keys.IMPERVA_KEYS | keys.FREE_TEXT_KEYS:
        assert f'"{key}"' in text
    for column, key in keys.W3C_COLUMNS.items():
        assert f'("{column}", "{key}")' in text
    assert len(re.findall(r"^    \(-?\d+, ", text, re.M)) == len(keys.RULE_TYPES)


def test_rust_literals_escape_what_they_must() -> None:
    assert codegen._rust_str('a"b\\c') == '"a\\"b\\\\c"'
    assert codegen._rust_str("é") == '"\\u{e9}"'
