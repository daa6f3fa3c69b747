"""The id rules, written again from ``native/src/ids.rs``."""

from __future__ import annotations

import base64
import hashlib

from tests.native.version1.records import Doc


# =================================================================================== the ids
def event_id(identity: bytes, ordinal: int, line: bytes) -> str:
    """``_id``: URL-safe base64 (no padding) of the 128-bit BLAKE2b of identity ‖ ordinal (8 bytes,
    big-endian) ‖ line bytes (``native/src/ids.rs``; version 1's ``wafpipe.ids.event_id``)."""
    h = hashlib.blake2b(identity, digest_size=16)
    h.update(ordinal.to_bytes(8, "big"))
    h.update(line)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")


def headerless_identity(first_event_line: bytes) -> bytes:
    """The identity of a headerless file: the 128-bit BLAKE2b, personalised ``wafpipe-body``, of its
    first event line (``native/src/ids.rs``)."""
    return hashlib.blake2b(first_event_line, digest_size=16, person=b"wafpipe-body").digest()


def line_bytes(doc: Doc) -> bytes:
    """The line's bytes as read (the head of a line cut at ``max_line_bytes``), from its document:
    ``imperva.waf.original_base64`` for a line that was not UTF-8, else ``event.original``."""
    waf = doc["imperva"]["waf"]
    if "original_base64" in waf:
        return base64.b64decode(waf["original_base64"])
    return str(doc["event"]["original"]).encode("utf-8")


def id_bytes(doc: Doc) -> bytes:
    """What the id digests after the ordinal: the line, and for a cut line its full SHA-256 (hex)."""
    cut = doc["imperva"]["waf"].get("line_truncated")
    return line_bytes(doc) + (cut["sha256"].encode() if cut else b"")


