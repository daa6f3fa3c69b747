"""CEF decoder: the ArcSight grammar plus every Imperva quirk of FORMATS.md §2.6.

Speed matters here (the core issue's benchmark): the header is split with ``str.split`` unless it
holds a backslash, and the extension is cut into key/value pieces by one ``re.split`` in C; Python
code only walks the resulting list. No regex runs per field.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from wafpipe.decode.record import RawRecord
from wafpipe.errors import DecodeError
from wafpipe.keys import FREE_TEXT_KEYS, is_known_key

# A key starts after whitespace (or at the start) and ends at an ``=``. A backslash cannot be part
# of a key, so ``\=`` inside a value never starts one.
_KEY_SPLIT = re.compile(r"(?:(?<=[ \t])|^)([A-Za-z0-9_][A-Za-z0-9_.\[\]-]*)=")
_UNESCAPE = re.compile(r"\\(.)", re.S)
_EXT_ESCAPES = {"=": "=", "\\": "\\", "n": "\n", "r": "\r"}
_HEADER_ESCAPES = {"|": "|", "\\": "\\"}


class CefEvent(NamedTuple):
    """A CEF line split into its parts, keys in their original spelling."""

    version: str
    vendor: str
    product: str
    device_version: str
    signature: str
    name: str
    severity: str
    extensions: list[tuple[str, str]]
    syslog_prefix: str | None


def _unescape_ext(value: str) -> str:
    return _UNESCAPE.sub(lambda m: _EXT_ESCAPES.get(m.group(1), m.group(0)), value)


def _split_header_escaped(body: str, origin: int) -> tuple[list[str], int]:
    """Slow path for headers holding backslashes: honour ``\\|`` and ``\\\\`` (CEF standard)."""
    fields: list[str] = []
    buf: list[str] = []
    i, n = 0, len(body)
    while i < n and len(fields) < 7:
        ch = body[i]
        if ch == "\\" and i + 1 < n and body[i + 1] in _HEADER_ESCAPES:
            buf.append(body[i + 1])
            i += 2
            continue
        if ch == "|":
            fields.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    if len(fields) < 7:
        raise DecodeError(
            f"CEF header has {len(fields)} of its 7 '|'-separated fields",
            column=origin + n + 1,
            hint="the line is truncated or is not CEF; a CEF header is CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|",
        )
    return fields, i


def split_extension(ext: str, imperva: bool) -> list[tuple[str, str]]:
    """Cut a CEF extension into (key, value) pairs at every unescaped `` key=``.

    For Imperva lines, inside the value of a free-text key (user agent, post body, JSON…), a
    candidate key that Imperva does not emit stays part of the value (DESIGN.md §1).
    Values are un-escaped after tokenizing.
    """
    parts = _KEY_SPLIT.split(ext)
    head = parts[0]
    if head.strip():
        raise DecodeError(
            f"extension starts with text that belongs to no key: {head[:40]!r}",
            column=1,
            hint="CEF extensions are key=value pairs separated by spaces",
        )
    pairs: list[tuple[str, str]] = []
    n = len(parts)
    i = 1
    while i < n:
        key = parts[i]
        value = parts[i + 1]
        i += 2
        if imperva and key.lower() in FREE_TEXT_KEYS:
            # Glue back candidates that are not Imperva keys: they are text inside this value.
            while i < n and not is_known_key(parts[i]):
                value = f"{value}{parts[i]}={parts[i + 1]}"
                i += 2
        if i < n and value and value[-1] in " \t":
            value = value[:-1]  # the separator before the next key
        if "\\" in value:
            value = _unescape_ext(value)
        pairs.append((key, value))
    return pairs


def parse_cef(line: str) -> CefEvent:
    """Split one CEF line (optionally behind a syslog prefix) into header fields and extensions."""
    start = line.find("CEF:")
    if start < 0:
        raise DecodeError(
            "no 'CEF:' marker in the line", column=1, hint="the line is not CEF; check the file's format"
        )
    prefix = line[:start] if start else None
    body = line[start + 4 :]
    origin = start + 4
    head_parts = body.split("|", 7)
    if len(head_parts) == 8 and "\\" not in body[: len(body) - len(head_parts[7])]:
        fields = head_parts[:7]
        ext = head_parts[7]
        ext_col = origin + len(body) - len(ext)
    else:
        fields, consumed = _split_header_escaped(body, origin)
        ext = body[consumed:]
        ext_col = origin + consumed
    vendor = fields[1]
    stripped = ext.lstrip(" ")
    ext_col += len(ext) - len(stripped)
    try:
        pairs = split_extension(stripped, vendor == "Incapsula") if stripped else []
    except DecodeError as exc:
        exc.column += ext_col
        raise
    return CefEvent(
        fields[0].strip(), vendor, fields[2], fields[3], fields[4], fields[5], fields[6], pairs, prefix
    )


def pairs_to_ext(pairs: list[tuple[str, str]], aliases: dict[str, str] | None = None) -> tuple[
    dict[str, str], dict[str, list[str]] | None
]:
    """Canonical key map: lower-case (and LEEF-aliased) keys, first non-empty value wins."""
    ext: dict[str, str] = {}
    dups: dict[str, list[str]] | None = None
    for key, value in pairs:
        low = key.lower()
        if aliases is not None:
            low = aliases.get(low, low)
        old = ext.get(low)
        if old is None:
            ext[low] = value
            continue
        if dups is None:
            dups = {}
        dups.setdefault(low, [old]).append(value)
        if not old and value:
            ext[low] = value
    return ext, dups


def decode_cef(line: str) -> RawRecord:
    """One CEF line → :class:`RawRecord` with canonical keys."""
    ev = parse_cef(line)
    ext, dups = pairs_to_ext(ev.extensions)
    return RawRecord(
        format="cef",
        ext=ext,
        vendor=ev.vendor,
        product=ev.product,
        version=ev.device_version,
        signature=ev.signature,
        name=ev.name,
        severity=ev.severity,
        format_version=ev.version,
        syslog_prefix=ev.syslog_prefix,
        dups=dups,
    )
