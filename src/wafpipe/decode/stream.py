"""Decoding a byte stream that carries one record per delimiter (syslog over TCP, a pipe, a socket).

Files go through :mod:`wafpipe.container`, which already yields lines. A stream has no such
framing: bytes arrive in arbitrary chunks, a record can be split across chunks and a chunk can
hold several records. :class:`LineSplitter` buffers bytes until the delimiter (``\\n`` by default,
``\\r\\n`` or any other byte string when the sender uses one) and hands out whole records; the
trailing partial record comes out on :meth:`LineSplitter.flush` (end of stream). It never splits
on anything but the delimiter (DESIGN §7), and a record longer than ``max_bytes`` is cut to its head
and flagged rather than growing the buffer without bound.

:class:`StreamDecoder` puts a line decoder (CEF by default) behind the splitter. A record that does
not decode comes back as a :class:`StreamFailure` with its raw bytes (for a dead letter) instead of
stopping the stream; non-UTF-8 bytes are replaced and the record is flagged (DESIGN §7).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import NamedTuple, Protocol

from wafpipe.decode.cef import decode_cef
from wafpipe.decode.record import NON_UTF8_WARNING, RawRecord, utf8_text
from wafpipe.errors import DecodeError

DEFAULT_MAX_BYTES = 1 << 20  # DESIGN §7 max_line_bytes



class Chunk(NamedTuple):
    """One record's bytes, without the delimiter. ``full_length`` > ``len(data)`` when the record
    was longer than the splitter's ``max_bytes`` and only its head is kept; ``sha256`` is then the
    hash of the whole record."""

    data: bytes
    full_length: int
    sha256: str = ""

    @property
    def truncated(self) -> bool:
        return self.full_length > len(self.data)


class _Digest(Protocol):
    def update(self, data: bytes | bytearray, /) -> None: ...

    def hexdigest(self) -> str: ...


class LineSplitter:
    """Bytes in, whole records out. Feed chunks with :meth:`feed`; call :meth:`flush` at the end."""

    def __init__(self, delimiter: bytes | str = b"\n", max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        delim = delimiter.encode() if isinstance(delimiter, str) else bytes(delimiter)
        if not delim:
            raise ValueError("the delimiter must not be empty")
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.delimiter = delim
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already searched for the delimiter
        # While skipping the tail of an over-long record: its head, length so far, running hash.
        self._over: tuple[bytes, int, _Digest] | None = None

    def feed(self, data: bytes | str) -> list[Chunk]:
        """Add ``data``; return the records it completed, in order."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        buf = self._buf
        buf += data
        out: list[Chunk] = []
        delim = self.delimiter
        dlen = len(delim)
        start = 0
        pos = buf.find(delim, max(0, self._scanned - dlen + 1))
        while pos >= 0:
            out.append(self._emit(bytes(buf[start:pos])))
            start = pos + dlen
            pos = buf.find(delim, start)
        if start:
            del buf[:start]
        self._scanned = len(buf)
        if len(buf) > self.max_bytes:
            self._overflow()
        return out

    def flush(self) -> list[Chunk]:
        """End of stream: the trailing partial record (if it holds more than blanks)."""
        tail = bytes(self._buf)
        self._buf.clear()
        self._scanned = 0
        if self._over is None and not tail.strip():
            return []
        return [self._emit(tail)]

    def _overflow(self) -> None:
        """The buffer passed max_bytes without a delimiter: keep the head, hash and drop the rest."""
        buf = self._buf
        if self._over is None:
            head = bytes(buf[: self.max_bytes])
            self._over = (head, 0, hashlib.sha256())
        head, seen, digest = self._over
        keep = len(self.delimiter) - 1  # a delimiter may straddle two chunks
        cut = len(buf) - keep
        digest.update(buf[:cut])
        self._over = (head, seen + cut, digest)
        del buf[:cut]
        self._scanned = len(buf)

    def _emit(self, data: bytes) -> Chunk:
        if self._over is None:
            if len(data) > self.max_bytes:
                return Chunk(data[: self.max_bytes], len(data), hashlib.sha256(data).hexdigest())
            return Chunk(data, len(data))
        head, seen, digest = self._over
        self._over = None
        digest.update(data)
        return Chunk(head, seen + len(data), digest.hexdigest())


class StreamFailure(NamedTuple):
    """A record that did not decode: its raw bytes (for a dead letter) and the error."""

    raw: bytes
    error: DecodeError


def decode_bytes(raw: bytes, decode: Callable[[str], RawRecord] = decode_cef) -> RawRecord:
    """Decode one record given as bytes: UTF-8, or with U+FFFD replacement and a warning."""
    text, replaced = utf8_text(raw)
    rec = decode(text)
    if replaced:
        rec.warnings.append(NON_UTF8_WARNING)
    return rec


class StreamDecoder:
    """A :class:`LineSplitter` with a line decoder behind it.

    :meth:`decode` and :meth:`flush` return, in stream order, a :class:`RawRecord` per record
    that decoded and a :class:`StreamFailure` per record that did not. Blank records (two
    delimiters in a row) are skipped.
    """

    def __init__(
        self,
        decode: Callable[[str], RawRecord] = decode_cef,
        delimiter: bytes | str = b"\n",
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._decode = decode
        self.splitter = LineSplitter(delimiter, max_bytes)

    def decode(self, data: bytes | str) -> list[RawRecord | StreamFailure]:
        return self._records(self.splitter.feed(data))

    def flush(self) -> list[RawRecord | StreamFailure]:
        return self._records(self.splitter.flush())

    def _records(self, chunks: list[Chunk]) -> list[RawRecord | StreamFailure]:
        out: list[RawRecord | StreamFailure] = []
        for chunk in chunks:
            if not chunk.data.strip():
                continue
            try:
                rec = decode_bytes(chunk.data, self._decode)
            except DecodeError as exc:
                out.append(StreamFailure(chunk.data, exc))
                continue
            if chunk.truncated:
                rec.warnings.append(
                    f"record of {chunk.full_length} bytes exceeds max_bytes; decoded from its first "
                    f"{len(chunk.data)} bytes (sha256 of the whole record {chunk.sha256})"
                )
            out.append(rec)
        return out
