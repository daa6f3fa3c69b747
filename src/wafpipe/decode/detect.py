"""Which decoder a file needs: the header's ``format`` first, then the content (DESIGN §1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from wafpipe.decode.cef import decode_cef
from wafpipe.decode.leef import decode_leef
from wafpipe.decode.record import RawRecord
from wafpipe.decode.w3c import W3CDecoder

FORMATS = ("cef", "leef", "w3c")


class LineDecoder(Protocol):
    """Per-file decoder. ``decode`` returns None for lines that carry no event (directives)."""

    format: str

    def decode(self, line: str) -> RawRecord | None: ...


class _Stateless:
    """CEF/LEEF: every line stands alone. Foreign lines in the stream (Attack Analytics CEF in a
    LEEF file, say) still decode by their own marker rather than failing the file."""

    def __init__(self, fmt: str, func: Callable[[str], RawRecord]) -> None:
        self.format = fmt
        self._func = func
        self._other = decode_leef if fmt == "cef" else decode_cef
        self._other_marker = "LEEF:" if fmt == "cef" else "CEF:"

    def decode(self, line: str) -> RawRecord | None:
        if line.startswith(self._other_marker):
            return self._other(line)
        return self._func(line)


def detect_format(header: dict[str, str], first_line: str | None) -> str | None:
    """``cef``/``leef``/``w3c`` from the header's ``format``, else from the first body line."""
    declared = header.get("format")
    if declared is None:  # header names are case-insensitive (FORMATS §1.3: Format/format)
        declared = next((v for k, v in header.items() if k.lower() == "format"), None)
    declared = (declared or "").strip().lower()
    if declared in FORMATS:
        return declared
    if first_line is None:
        return None
    line = first_line.lstrip()
    if line.startswith("#") or line.startswith('"'):
        return "w3c"
    if line.startswith("LEEF:"):
        return "leef"
    if "CEF:" in line[:256]:
        return "cef"
    if "LEEF:" in line[:256]:
        return "leef"
    return None


def make_decoder(fmt: str, header: dict[str, str] | None = None) -> LineDecoder:
    """A decoder for one file of format ``fmt``; W3C reads its field list from ``header`` too."""
    if fmt == "cef":
        return _Stateless("cef", decode_cef)
    if fmt == "leef":
        return _Stateless("leef", decode_leef)
    if fmt == "w3c":
        return W3CDecoder(header)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
