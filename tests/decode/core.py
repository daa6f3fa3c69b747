"""The native core's decoders in the shape version 1's Python decoders and container had, for
tests.

``wafpipe._native.decode_lines`` returns plain dicts; :func:`decode_lines` turns each into a
:class:`Record` (version 1's ``RawRecord``: ``ext`` as a dict of canonical keys in line order,
``dups`` as a dict or None), None for a line without an event (a W3C directive), or a
:class:`~wafpipe.errors.DecodeError` carrying the core's reason, column and hint. :func:`decode_cef`
raises that error, as version 1's ``decode_cef`` did. :func:`item_lines` gives back, from what the
reader (:class:`~wafpipe.decode.reader.FileReader`) yielded, each body line the core read, as
version 1's ``ImpervaFile.lines()`` gave it (a :class:`~wafpipe.imperva.container.BodyLine`). Nothing
here decodes or splits by itself: every answer is the core's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wafpipe import _native
from wafpipe.errors import DecodeError
from wafpipe.imperva.container import BodyLine
from wafpipe.model import Event, Problem

# The warning on a line that was not valid UTF-8 (native/src/decode/record.rs NON_UTF8_WARNING,
# version 1's wafpipe.decode.record.NON_UTF8_WARNING).
NON_UTF8_WARNING = "line is not valid UTF-8; undecodable bytes replaced with U+FFFD"

_KEYS = {
    "format",
    "ext",
    "vendor",
    "product",
    "version",
    "signature",
    "name",
    "severity",
    "format_version",
    "syslog_prefix",
    "dups",
    "warnings",
}


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded event line, before any ECS mapping (version 1's ``RawRecord``)."""

    format: str  # "cef" | "leef" | "w3c"
    ext: dict[str, str]
    vendor: str | None = None
    product: str | None = None
    version: str | None = None
    signature: str | None = None
    name: str | None = None
    severity: str | None = None
    format_version: str | None = None
    syslog_prefix: str | None = None
    dups: dict[str, list[str]] | None = None
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_core(cls, raw: Mapping[str, Any]) -> Record:
        assert set(raw) >= _KEYS, f"unexpected record shape from the core: {sorted(raw)}"
        ext: dict[str, str] = {}
        for key, value in raw["ext"]:
            assert key not in ext, f"the core gave {key!r} twice in ext"
            ext[key] = value
        dups = {key: list(values) for key, values in raw["dups"]} or None
        return cls(
            raw["format"],
            ext,
            raw["vendor"],
            raw["product"],
            raw["version"],
            raw["signature"],
            raw["name"],
            raw["severity"],
            raw["format_version"],
            raw["syslog_prefix"],
            dups,
            list(raw["warnings"]),
        )


def _error(raw: Mapping[str, Any]) -> DecodeError:
    assert set(raw) == {"error", "column", "hint"}, f"unexpected error shape from the core: {sorted(raw)}"
    return DecodeError(raw["error"], column=raw["column"], hint=raw["hint"])


def decode_lines(
    fmt: str, header: Mapping[str, str], lines: Sequence[str]
) -> list[Record | DecodeError | None]:
    """Each line of one file (the W3C decoder keeps its directives across the lines of one call):
    a :class:`Record`, None for a line without an event, or the :class:`DecodeError` it raises."""
    out: list[Record | DecodeError | None] = []
    for raw in _native.decode_lines(fmt, dict(header), list(lines)):
        if raw is None:
            out.append(None)
        elif "error" in raw:
            out.append(_error(raw))
        else:
            out.append(Record.from_core(raw))
    return out


def decode_one(fmt: str, line: str, header: Mapping[str, str] | None = None) -> Record:
    """One line on its own; raises :class:`DecodeError` when the core reports it does not decode."""
    [got] = decode_lines(fmt, header or {}, [line])
    if isinstance(got, DecodeError):
        raise got
    assert got is not None, f"{fmt} line holds no event: {line!r}"
    return got


def decode_cef(line: str) -> Record:
    """Version 1's ``decode_cef``: one CEF line → :class:`Record`, or :class:`DecodeError`."""
    return decode_one("cef", line)


def convert(kind: str, text: str) -> Any:
    """Version 1's ``CONVERTERS[kind](text)``: ValueError when the value does not convert."""
    return _native.convert(kind, text)


def to_date(text: str) -> str:
    """Version 1's ``convert.to_date``: the ISO text of an epoch-milliseconds value, or ValueError."""
    iso = _native.convert("date", text)
    assert isinstance(iso, str)
    return iso


def event_line(event: Event) -> BodyLine:
    """The body line an event was decoded from, from its document: ordinal and line number
    (``imperva.waf.file``), byte offset (``log.offset``), the raw bytes (``original_base64`` when the
    line was not UTF-8, else ``event.original``) and, for a line cut at ``max_line_bytes``, its full
    length and SHA-256 (``imperva.waf.line_truncated``)."""
    doc = event.doc
    waf = doc["imperva"]["waf"]
    encoded = waf.get("original_base64")
    raw = base64.b64decode(encoded) if encoded is not None else doc["event"]["original"].encode()
    cut = waf.get("line_truncated") or {}
    return BodyLine(
        waf["file"]["ordinal"],
        waf["file"]["line"],
        doc["log"]["offset"],
        raw,
        cut.get("length", 0),
        cut.get("sha256", ""),
    )


def problem_line(problem: Problem) -> BodyLine:
    """The body line of a line problem (``decode`` or ``cut_line``). A line the container's fault
    cut short (``cut_line``) has full length -1, as version 1 flagged it; a line cut at
    ``max_line_bytes`` has its full length and SHA-256 in the replay context."""
    assert problem.ordinal is not None and problem.line is not None and problem.offset is not None
    assert problem.raw is not None, problem.message()
    context = problem.context or {}
    if problem.kind == "cut_line":
        full_length, full_hash = -1, ""
    else:
        full_length, full_hash = context.get("full_length", 0), context.get("full_hash", "")
    return BodyLine(problem.ordinal, problem.line, problem.offset, problem.raw, full_length, full_hash)


def item_lines(items: Iterable[Event | Problem]) -> list[BodyLine]:
    """Every body line the reader yielded an event or a line problem for, in ordinal order (a W3C
    directive yields nothing, so it is not among them; nor are the file's verdicts)."""
    lines = [
        event_line(item) if isinstance(item, Event) else problem_line(item)
        for item in items
        if isinstance(item, Event) or item.ordinal is not None
    ]
    ordinals = [bl.ordinal for bl in lines]
    assert ordinals == sorted(set(ordinals)), f"the reader's lines are not in ordinal order: {ordinals}"
    return lines
