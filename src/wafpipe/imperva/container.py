"""Imperva file reader: one log file → header fields + a stream of body lines (DESIGN §1).

Two layers, each detected by content, never by name: an optional gzip around the whole file, then
Imperva's own container — ``name:value`` header lines, the ``|==|`` separator (with or without its
newline), and a body that is zlib, gzip, raw deflate or plain (several concatenated streams allowed),
AES-decrypted first when the header carries a ``key``. Everything streams in fixed-size chunks, so
memory does not grow with the file. Faults part-way (truncated compression, bad ciphertext) end the
stream with ``error`` set; lines already produced stay valid and the file is marked partial.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from wafpipe.errors import ContainerError, DecryptError
from wafpipe.imperva import crypto
from wafpipe.imperva.compression import detect_compression, inflate_streams
from wafpipe.imperva.ids import content_hasher, header_identity
from wafpipe.model import FileInfo

CHUNK = 256 * 1024
MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_LINE_BYTES = 1 << 20
_NAME_RE = re.compile(r"(\d+)_(\d+)\.log(?:\.gz)?$")
_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9 _.-]{0,63}:[^\n]*")

Opener = Callable[[], IO[bytes]]


class BodyLine(NamedTuple):
    """One non-empty body line. ``line_no`` is 1-based in the decoded body, ``offset`` the byte
    offset of its first byte there. ``full_length``/``full_hash`` are set only for a line cut at
    ``max_line_bytes`` (``raw`` then holds its head); ``full_length == -1`` marks the last line of
    a file whose container broke mid-line."""

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
    """Reads one Imperva file. Iterate :meth:`lines`; then read :attr:`info`."""

    def __init__(
        self,
        opener: Opener,
        name: str,
        keys_dir: Path | str | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        self._opener = opener
        self._keys_dir = Path(keys_dir) if keys_dir else None
        self.max_line_bytes = max_line_bytes
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

    def _decompress(self, body: Iterator[bytes]) -> Iterator[bytes]:
        """Detect the body's compression by content and inflate every concatenated stream."""
        info = self.info
        data = b""
        for chunk in body:
            data += chunk
            if len(data) >= 64:
                break
        if not data:
            return
        kind = detect_compression(data)
        info.compression = kind

        def rest() -> Iterator[bytes]:
            yield data
            yield from body

        if kind == "none":
            yield from rest()
        else:
            yield from inflate_streams(rest(), kind, "body", info.warnings)

    def compressed_body(self) -> Iterator[bytes]:
        """The body after the header, decrypted but still compressed: what the native core reads
        (it inflates, checks the MD5 and splits lines itself). Parses the header at once; raises
        :class:`ContainerError` (a missing key, bad ciphertext) as the chunks are read."""
        stream = self._split_header(self._raw_stream())
        return self._decrypt(stream) if self.info.encrypted else stream

    def _body(self) -> Iterator[bytes]:
        stream = self._split_header(self._raw_stream())
        if self.info.encrypted:
            stream = self._decrypt(stream)
        return self._decompress(stream)

    # -- public -------------------------------------------------------------------------------

    def lines(self) -> Iterator[BodyLine]:
        """Yield every non-empty body line; sets ``info`` (checksum, error…) as it goes."""
        info = self.info
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            body = self._body()
            first = next(body, b"")
        except ContainerError as exc:
            info.error = exc
            info.checksum_status = "incomplete"
            return
        if not info.has_header:
            info.identity = self._content_identity()
        ordinal = 0
        line_no = 0
        offset = 0
        carry = b""
        cut: hashlib._Hash | None = None  # type: ignore[name-defined]
        cut_len = 0
        limit = self.max_line_bytes

        def chunks() -> Iterator[bytes]:
            if first:
                yield first
            yield from body

        try:
            for chunk in chunks():
                md5.update(chunk)
                info.body_bytes += len(chunk)
                start = 0
                while True:
                    nl = chunk.find(b"\n", start)
                    if nl < 0:
                        piece = chunk[start:]
                        if cut is not None:
                            cut.update(piece)
                            cut_len += len(piece)
                        elif len(carry) + len(piece) > limit:
                            whole = carry + piece
                            carry = whole[:limit]
                            cut = hashlib.sha256(whole)
                            cut_len = len(whole)
                        else:
                            carry += piece
                        break
                    piece = chunk[start:nl]
                    start = nl + 1
                    line_no += 1
                    if cut is not None:
                        cut.update(piece)
                        raw = carry
                        full = cut_len + len(piece)
                        digest = cut.hexdigest()
                        cut = None
                        carry = b""
                    else:
                        raw = carry + piece if carry else piece
                        carry = b""
                        full = 0
                        digest = ""
                        if len(raw) > limit:
                            full, digest = len(raw), hashlib.sha256(raw).hexdigest()
                            raw = raw[:limit]
                    line_off = offset
                    offset += (full or len(raw)) + 1
                    if raw.endswith(b"\r"):
                        raw = raw[:-1]
                    if raw.strip(b" \t") == b"":
                        continue
                    yield BodyLine(ordinal, line_no, line_off, raw, full, digest)
                    ordinal += 1
        except ContainerError as exc:
            info.error = exc
        if (carry or cut is not None) and info.error is not None:
            # The fault cut this line short: hand it on flagged (full_length -1) so it is
            # dead-lettered with the reason rather than decoded as if it were whole.
            line_no += 1
            yield BodyLine(ordinal, line_no, offset, carry, -1, "")
            ordinal += 1
        elif carry or cut is not None:
            line_no += 1
            raw, full, digest = carry, 0, ""
            if cut is not None:
                full, digest = cut_len, cut.hexdigest()
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if raw.strip(b" \t"):
                yield BodyLine(ordinal, line_no, offset, raw, full, digest)
                ordinal += 1
        info.lines = ordinal
        info.computed_md5 = md5.hexdigest()
        info.judge_checksum()

    def _content_identity(self) -> bytes:
        """Headerless file: identity is the digest of its first *event* line (a separate pass that
        stops there). Directive lines (W3C ``#Software``, ``#Fields``) are not events, and a file
        that grows keeps its first event line, so its old lines keep their ids (DESIGN §2)."""
        h = content_hasher()
        probe = ImpervaFile(self._opener, self.info.name, self._keys_dir)
        pending = b""
        try:
            for chunk in probe._body():
                pending += chunk
                while True:
                    nl = pending.find(b"\n")
                    line = pending if nl < 0 else pending[:nl]
                    if nl < 0 and len(pending) < self.max_line_bytes:
                        break  # the line goes on in the next chunk
                    if line.strip() and not line.startswith(b"#"):
                        h.update(line[: self.max_line_bytes].rstrip(b"\r"))
                        return h.digest()
                    if nl < 0:
                        pending = b""
                        break
                    pending = pending[nl + 1 :]
        except ContainerError:
            pass
        if pending.strip() and not pending.startswith(b"#"):
            h.update(pending[: self.max_line_bytes].rstrip(b"\r"))
        return h.digest()


__all__ = ["BodyLine", "DecryptError", "FileInfo", "ImpervaFile", "detect_compression", "parse_name"]
