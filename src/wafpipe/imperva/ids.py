"""File identity from the Imperva header (DESIGN §2).

The file identity is the digest of the Imperva header lines (unique per file: they carry start/end
time, checksum and configuration id). The event ids built on it (``_id`` = URL-safe base64 of a
128-bit BLAKE2b over ``file identity ‖ line ordinal ‖ line bytes``), and the identity of a headerless
file (the digest of its first event line), are the native core's (``native/src/ids.rs``). So one
Imperva file yields the same ids whichever path, name or compression brought it, two identical lines
in one file stay two events, and a different file under an old name gets new ids.
"""

from __future__ import annotations

import hashlib


def header_identity(header_lines: list[bytes]) -> bytes:
    h = hashlib.blake2b(digest_size=16, person=b"wafpipe-hdr")
    for line in header_lines:
        h.update(line.rstrip(b"\r"))
        h.update(b"\n")
    return h.digest()
