"""Compression layers of an Imperva file, detected by content (FORMATS §1.4).

Imperva compresses with zlib; other tools wrap files in gzip, and community collectors met raw
deflate. Several streams may be concatenated. Input arrives in chunks and output leaves in chunks,
so memory stays flat whatever the file size.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from wafpipe.errors import CompressionError

OUT_CHUNK = 256 * 1024
_WBITS = {"zlib": 15, "gzip": 31, "deflate": -15}
_TEXT_STARTS = (b"CEF:", b"LEEF:", b"#", b'"', b"{", b"[", b"<")


def _zlib_header(b: bytes) -> bool:
    return len(b) >= 2 and b[0] & 0x0F == 8 and b[0] >> 4 <= 7 and ((b[0] << 8) | b[1]) % 31 == 0


def _looks_like_text(sample: bytes) -> bool:
    if not sample:
        return True
    printable = sum(1 for c in sample if 32 <= c < 127 or c in (9, 10, 13) or c >= 0xC2)
    return printable >= 0.9 * len(sample)


def detect_compression(head: bytes) -> str:
    """``zlib`` / ``gzip`` / ``deflate`` / ``none`` from the first bytes of a stream."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if _zlib_header(head):
        return "zlib"
    stripped = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if not stripped or stripped.startswith(_TEXT_STARTS) or _looks_like_text(head[:64]):
        return "none"
    return "deflate"


def inflate_streams(
    chunks: Iterator[bytes],
    kind: str,
    label: str,
    warnings: list[str],
    follow: tuple[str, ...] = ("zlib", "gzip"),
) -> Iterator[bytes]:
    """Inflate a ``kind`` stream and every stream of a ``follow`` kind concatenated after it.

    Bytes after the last stream that start no such stream are ignored with a warning (AES padding
    left by some encoders, trailing junk). A stream that ends before its end marker raises
    :class:`CompressionError` after the data already inflated has been yielded.
    """
    d: zlib._Decompress | None = zlib.decompressobj(_WBITS[kind])  # type: ignore[name-defined]
    fed = False
    pending = b""
    produced = 0
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        pending = b""
        while data:
            if d is None:
                if len(data) < 2:
                    pending = data
                    break
                nxt = detect_compression(data)
                if nxt not in follow:
                    warnings.append(f"{label}: bytes after the last {kind} stream ignored")
                    for _ in chunks:
                        pass
                    return
                kind = nxt
                d = zlib.decompressobj(_WBITS[kind])
                fed = False
            fed = True
            while True:  # bounded output per call: a 1000:1 ratio must not balloon memory
                try:
                    out = d.decompress(data, OUT_CHUNK)
                except zlib.error as exc:
                    raise CompressionError(
                        f"{label} ({kind}) is corrupt after {produced} decoded bytes: {exc}",
                        hint="the file is damaged or was not written completely; fetch it again",
                    ) from exc
                if out:
                    produced += len(out)
                    yield out
                if d.eof:
                    break
                data = d.unconsumed_tail
                if not data and len(out) < OUT_CHUNK:
                    break
            if d.eof:
                data = d.unused_data
                d = None
            else:
                data = b""
    if pending:
        warnings.append(f"{label}: {len(pending)} byte(s) after the last {kind} stream ignored")
    if d is not None and fed:
        tail = d.flush()
        if tail:
            yield tail
        if not d.eof:
            raise CompressionError(
                f"{label} ({kind}) is truncated after {produced} decoded bytes",
                hint="the file was cut short (interrupted download or upload); fetch it again",
            )
