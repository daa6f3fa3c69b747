"""The native core's building blocks against their Python definitions: the Arrow schema of a
batch, the event ids, the key vocabulary."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from wafpipe import _native
from wafpipe.fields.arrow import SCHEMA
from wafpipe.fields.keys import is_known_key
from wafpipe.imperva.ids import content_hasher, event_id


def test_a_native_batch_has_the_schema_of_the_field_table() -> None:
    batch = pa.record_batch(_native.empty_batch())  # through the Arrow PyCapsule interface
    assert batch.num_rows == 0
    assert batch.schema.equals(SCHEMA), batch.schema


@given(st.binary(min_size=16, max_size=16), st.integers(min_value=0, max_value=2**63 - 1), st.binary(max_size=300))
def test_event_ids_are_version_1_ids(identity: bytes, ordinal: int, line: bytes) -> None:
    assert _native.event_id(identity, ordinal, line) == event_id(identity, ordinal, line)


@given(st.one_of(st.from_regex(r"(?i)(c[sn]|flex(string|number))[0-9]{0,3}(label)?", fullmatch=True),
                 st.sampled_from(["fileId", "SRC", "popName", "proto", "cs98Label", "foo", "", "ß"]),
                 st.text(st.characters(max_codepoint=127), max_size=12)))
def test_known_keys_agree(key: str) -> None:
    """ASCII keys: for the numbered slots the core counts only ASCII digits (``cs١`` is not a slot),
    one of the intended differences from version 1, whose regular expression took any digit."""
    assert _native.is_known_key(key) == is_known_key(key)


@given(st.binary(max_size=300))
def test_headerless_identity_is_version_2s(line: bytes) -> None:
    h = content_hasher()
    h.update(line)
    assert _native.headerless_identity(line) == h.digest()
