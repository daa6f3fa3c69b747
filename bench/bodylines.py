"""The body lines of an Imperva file in plain Python (header stripped, zlib/gzip inflated, split):
the decode benchmark's ceiling, and the fuzz seeds' source. Not the product's reader (the native
core is); kept minimal on purpose: one stream, no MD5, no long-line rule."""

from __future__ import annotations

import zlib
from pathlib import Path

from wafpipe.imperva.container import ImpervaFile

AUTO_ZLIB_GZIP = 47  # wbits: zlib or gzip, told by the header


def body_lines(path: Path) -> list[bytes]:
    """The non-blank lines of the file's body; raises for a body that does not inflate."""
    body = b"".join(ImpervaFile.from_path(path).compressed_body())
    if body[:1] not in (b"C", b"L", b"#", b'"'):  # compressed (the generator writes zlib or gzip)
        body = zlib.decompressobj(AUTO_ZLIB_GZIP).decompress(body)
    return [line for line in body.split(b"\n") if line.strip()]
