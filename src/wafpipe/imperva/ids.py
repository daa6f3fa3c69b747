"""Event identity (DESIGN §2).

``_id`` = URL-safe base64 (no padding) of a 128-bit BLAKE2b over
``file identity ‖ line ordinal ‖ line bytes``. The file identity is the digest of the Imperva
header lines (unique per file: they carry start/end time, checksum and configuration id) or, for a
headerless file, of its decoded content. So one Imperva file yields the same ids whichever path,
name or compression brought it, two identical lines in one file stay two events, and a different
file under an old name gets new ids.
"""

from __future__ import annotations

import base64
import hashlib


def header_identity(header_lines: list[bytes]) -> bytes:
    h = hashlib.blake2b(digest_size=16, person=b"wafpipe-hdr")
    for line in header_lines:
        h.update(line.rstrip(b"\r"))
        h.update(b"\n")
    return h.digest()


def content_hasher() -> hashlib._Hash:  # type: ignore[name-defined]
    return hashlib.blake2b(digest_size=16, person=b"wafpipe-body")


def event_id(file_identity: bytes, ordinal: int, line: bytes) -> str:
    h = hashlib.blake2b(file_identity, digest_size=16)
    h.update(ordinal.to_bytes(8, "big"))
    h.update(line)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")
