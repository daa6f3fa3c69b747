"""Imperva file container: one log file → header fields + the decrypted, still compressed body
(DESIGN §1).

Two layers, each detected by content, never by name: an optional gzip around the whole file, then
Imperva's own container — ``name:value`` header lines, the ``|==|`` separator (with or without its
newline), and a body, AES-decrypted here when the header carries a ``key``. The body's own
compression (zlib, gzip, raw deflate or plain, concatenated streams), its MD5 and its lines are the
native core's (``native/src/body/``). Everything streams in fixed-size chunks, so memory does not
grow with the file. A fault part-way (bad ciphertext) raises as the chunks are read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from wafpipe.errors import ContainerError, DecryptError
from wafpipe.imperva import crypto
from wafpipe.imperva.compression import inflate_streams
from wafpipe.imperva.ids import header_identity
from wafpipe.model import FileInfo

CHUNK = 256 * 1024
MAX_HEADER_BYTES = 64 * 1024
_NAME_RE = re.compile(r"(\d+)_(\d+)\.log(?:\.gz)?$")
_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9 _.-]{0,63}:[^\n]*")

Opener = Callable[[], IO[bytes]]


class BodyLine(NamedTuple):
    """One non-empty body line, as a problem records it (dead-letter replay reads it back).
    ``line_no`` is 1-based in the decoded body, ``offset`` the byte offset of its first byte there.
    ``full_length``/``full_hash`` are set only for a line cut at ``max_line_bytes`` (``raw`` then
    holds its head)."""

    ordinal: int
    line_no: int
    offset: int
    raw: bytes
    full_length: int = 0
    full_hash: str = ""


def parse_name(name: str) -> tuple[str | None, int | None]:
    """``<apiId>_<seq>`` from ``1234_56.log`` or ``1234_56.log.gz``; (None, None) otherwise."""
    m = _NAME_RE.search(name)
    return (m.group(1), int(m.group(2))) if m else (None, None)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield chunk


class ImpervaFile:
    """Reads one Imperva file: :meth:`compressed_body` parses the header into :attr:`info` and
    streams the body."""

    def __init__(
        self,
        opener: Opener,
        name: str,
        keys_dir: Path | str | None = None,
    ) -> None:
        self._opener = opener
        self._keys_dir = Path(keys_dir) if keys_dir else None
        self.info = FileInfo(name=name)
        self.info.api_id, self.info.seq = parse_name(name)

    @classmethod
    def from_path(cls, path: Path | str, **kw: object) -> ImpervaFile:
        p = Path(path)
        return cls(lambda: open(p, "rb"), p.name, **kw)  # type: ignore[arg-type]

    # -- layers ---------------------------------------------------------------------------------

    def _raw_stream(self) -> Iterator[bytes]:
        """The file's bytes with the optional outer gzip removed."""
        with self._opener() as fh:
            head = fh.read(2)
            rest = _chunks(fh)
            if head == b"\x1f\x8b":
                self.info.gzip_wrapped = True
                yield from self._gunzip(head, rest)
            else:
                if head:
                    yield head
                yield from rest

    def _gunzip(self, head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
        def all_chunks() -> Iterator[bytes]:
            yield head
            yield from rest

        return inflate_streams(all_chunks(), "gzip", "outer gzip layer", self.info.warnings, ("gzip",))

    def _split_header(self, stream: Iterator[bytes]) -> Iterator[bytes]:
        """Parse the header (if any) from the front of the stream now; return the body bytes."""
        buf = b""
        for chunk in stream:
            buf += chunk
            if len(buf) >= MAX_HEADER_BYTES:
                break
        sep = -1
        if buf.startswith(b"|==|"):
            sep = 0
        else:
            i = buf.find(b"\n|==|", 0, MAX_HEADER_BYTES)
            if i >= 0:
                sep = i + 1
        if sep < 0 and len(buf) >= MAX_HEADER_BYTES and self._header_like(buf[:MAX_HEADER_BYTES]):
            raise ContainerError(
                f"the container header is longer than {MAX_HEADER_BYTES} bytes: its first "
                f"{MAX_HEADER_BYTES} bytes are all 'name:value' header lines and hold no '|==|' separator, "
                "so where the body starts is unknown; nothing of the file was read as events",
                hint="Imperva's headers are a few hundred bytes: check that the file was written by Imperva "
                "and not corrupted (the separator line '|==|' must follow the header)",
            )
        lines = buf[:sep].split(b"\n") if sep > 0 else []
        if sep >= 0 and all(_HEADER_LINE.fullmatch(ln.rstrip(b"\r")) for ln in lines if ln.strip()):
            self._set_header([ln.rstrip(b"\r") for ln in lines if ln.strip()])
            body_start = sep + 4
            if buf[body_start : body_start + 2] == b"\r\n":
                body_start += 2
            elif buf[body_start : body_start + 1] == b"\n":
                body_start += 1
            buf = buf[body_start:]

        def body() -> Iterator[bytes]:
            if buf:
                yield buf
            yield from stream

        return body()

    @staticmethod
    def _header_like(buf: bytes) -> bool:
        """True when every whole line of ``buf`` is a ``name:value`` header line and none is a record
        (``CEF:0|…`` and a syslog-prefixed record have the shape of a header line too)."""
        whole = [ln.rstrip(b"\r") for ln in buf[: buf.rfind(b"\n")].split(b"\n") if ln.strip()]
        return bool(whole) and all(
            _HEADER_LINE.fullmatch(ln) and b"CEF:" not in ln and b"LEEF:" not in ln for ln in whole
        )

    def _set_header(self, header_lines: list[bytes]) -> None:
        info = self.info
        info.has_header = True
        for raw in header_lines:
            text = raw.decode("ascii", "replace")
            name, _, value = text.partition(":")
            low = name.strip().lower()
            info.header.setdefault(low, value.strip())
            info.header_names.setdefault(low, name.strip())
        info.identity = header_identity(header_lines)
        info.checksum = info.header.get("checksum") or None
        key = info.header.get("key", "").strip()
        info.encrypted = bool(key) and key != "-1"

    def _decrypt(self, body: Iterator[bytes]) -> Iterator[bytes]:
        info = self.info
        key_id = info.header.get("publickeyid", "").strip()
        private_key = crypto.load_private_key(self._keys_dir, key_id)
        aes_key = crypto.unwrap_content_key(private_key, info.header["key"].strip(), key_id)
        yield from crypto.aes_cbc_stream(aes_key, body)

    def compressed_body(self) -> Iterator[bytes]:
        """The body after the header, decrypted but still compressed: what the native core reads
        (it inflates, checks the MD5 and splits lines itself). Parses the header at once; raises
        :class:`ContainerError` (a missing key, bad ciphertext) as the chunks are read."""
        stream = self._split_header(self._raw_stream())
        return self._decrypt(stream) if self.info.encrypted else stream

__all__ = ["BodyLine", "DecryptError", "FileInfo", "ImpervaFile", "parse_name"]
