"""LEEF decoder: LEEF 1.0 and 2.0 (IBM QRadar) and Imperva's own ``LEEF:0`` variant.

Imperva writes ``LEEF:0|Incapsula|SIEMintegration|0|<Event ID>|`` followed by attributes that are
TAB-separated in some deliveries and space-separated in Imperva's documentation (FORMATS §4.1).
When the line holds the delimiter the attributes split on it; otherwise they split at known-key
boundaries exactly like a CEF extension.
"""

from __future__ import annotations

from wafpipe.decode.cef import _unescape_ext, pairs_to_ext, split_extension
from wafpipe.decode.record import RawRecord
from wafpipe.errors import DecodeError
from wafpipe.keys import LEEF_ALIASES


def _delimiter(spec: str, column: int) -> str:
    """LEEF 2.0 delimiter field: one character, or its hex form ``xHH``/``0xHH``."""
    s = spec.strip()
    if len(s) == 1:
        return s
    low = s.lower()
    if low.startswith("0x"):
        low = low[1:]
    if low.startswith("x") and 2 <= len(low) <= 5:
        try:
            return chr(int(low[1:], 16))
        except ValueError:
            pass
    if not s:
        return "\t"
    raise DecodeError(
        f"LEEF 2.0 delimiter field {spec!r} is neither one character nor xHH",
        column=column,
        hint="LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|",
    )


def _split_attributes(attrs: str, delim: str, imperva: bool) -> list[tuple[str, str]]:
    if delim in attrs:
        pairs: list[tuple[str, str]] = []
        for item in attrs.split(delim):
            if not item:
                continue
            key, eq, value = item.partition("=")
            if not eq:
                raise DecodeError(
                    f"LEEF attribute without '=': {item[:40]!r}",
                    hint="LEEF attributes are key=value pairs separated by the delimiter",
                )
            if "\\" in value:
                value = _unescape_ext(value)
            pairs.append((key.strip(), value))
        return pairs
    return split_extension(attrs.strip(" "), imperva)


def decode_leef(line: str) -> RawRecord:
    """One LEEF line → :class:`RawRecord` with canonical (CEF-spelled) keys."""
    start = line.find("LEEF:")
    if start < 0:
        raise DecodeError("no 'LEEF:' marker in the line", column=1, hint="the line is not LEEF")
    prefix = line[:start] or None
    body = line[start + 5 :]
    parts = body.split("|", 5)
    if len(parts) < 6:
        raise DecodeError(
            f"LEEF header has {len(parts) - 1} of its 5 '|'-separated fields",
            column=start + 5 + len(body) + 1,
            hint="the line is truncated; a LEEF header is LEEF:Version|Vendor|Product|Version|EventID|",
        )
    version = parts[0].strip()
    rest = parts[5]
    delim = "\t"
    if version.startswith("2"):
        dspec, bar, after = rest.partition("|")
        if bar:
            delim = _delimiter(dspec, start + 5 + len(body) - len(rest) + 1)
            rest = after
    imperva = parts[1] == "Incapsula"
    try:
        pairs = _split_attributes(rest, delim, imperva)
    except DecodeError as exc:
        exc.column += start + 5 + len(body) - len(rest)
        raise
    ext, dups = pairs_to_ext(pairs, LEEF_ALIASES)
    return RawRecord(
        format="leef",
        ext=ext,
        vendor=parts[1],
        product=parts[2],
        version=parts[3],
        name=parts[4],
        format_version=version,
        syslog_prefix=prefix,
        dups=dups,
    )
