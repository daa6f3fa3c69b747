"""The native core's building blocks against their Python definitions: the Arrow schema of a
batch, the event ids, the key vocabulary."""

from __future__ import annotations

import base64
import hashlib

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from wafpipe import _native
from wafpipe.fields.arrow import SCHEMA
from wafpipe.fields.keys import is_known_key


# Version 1's Python definitions (src/wafpipe/imperva/ids.py before the core took them over), kept
# here as the independent computation the core is checked against.
def event_id(file_identity: bytes, ordinal: int, line: bytes) -> str:
    """``_id``: URL-safe base64 (no padding) of a 128-bit BLAKE2b keyed with the file identity over
    ``ordinal`` (8 bytes, big-endian) ‖ line bytes (DESIGN §2)."""
    h = hashlib.blake2b(file_identity, digest_size=16)
    h.update(ordinal.to_bytes(8, "big"))
    h.update(line)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")


def content_hasher() -> hashlib._Hash:  # type: ignore[name-defined]
    """The digest of a headerless file's first event line: its identity."""
    return hashlib.blake2b(digest_size=16, person=b"wafpipe-body")


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
