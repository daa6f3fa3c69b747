"""LEEF decoder: LEEF 1.0 and 2.0 (IBM QRadar) and Imperva's own ``LEEF:0`` variant.

Imperva writes ``LEEF:0|Incapsula|SIEMintegration|0|<Event ID>|`` followed by attributes that are
TAB-separated in some deliveries and space-separated in Imperva's documentation (FORMATS §4.1).
LEEF 2.0 adds a delimiter field after the Event ID: one character, or its hex form ``x5E`` /
``0x09``. When the attributes hold the delimiter (TAB unless 2.0 names another) they are cut at
every ``<delimiter>key=``, exactly like a CEF extension is cut at `` key=``; otherwise at `` key=``
as in CEF. Either way a delimiter inside a value that is not followed by ``key=`` stays in the
value, and Imperva's free-text rule (DESIGN §1) applies. On Imperva lines the LEEF spellings of
Imperva keys (``popName``, ``url``, ``cat``…) become their CEF names (FORMATS §4.2), so one field
table serves every format; other vendors' LEEF keys keep their own meaning (QRadar's ``cat`` is a
category, not Imperva's action).
"""

from __future__ import annotations

import re

from wafpipe.decode.cef import KEY_SPLIT, _canon, _cut, _to_ext
from wafpipe.decode.record import RawRecord
from wafpipe.errors import DecodeError
from wafpipe.fields.keys import LEEF_ALIASES

_KEY = r"([A-Za-z0-9_][A-Za-z0-9_.,\[\]-]*+)="
_SPLITTERS: dict[str, re.Pattern[str]] = {" ": KEY_SPLIT}


def _splitter(delim: str) -> re.Pattern[str]:
    pat = _SPLITTERS.get(delim)
    if pat is None:
        pat = re.compile(re.escape(delim) + _KEY)
        if len(_SPLITTERS) < 64:
            _SPLITTERS[delim] = pat
    return pat


def parse_delimiter(spec: str) -> str | None:
    """LEEF 2.0 delimiter field → the character; None when ``spec`` is not a delimiter.

    One character stands for itself (even a space); ``xHH``/``0xHH`` (any case, 1–4 hex digits)
    is a code point; an empty field means the default TAB.
    """
    if len(spec) == 1:
        return spec
    s = spec.strip()
    if not s:
        return "\t"
    low = s.lower()
    if low.startswith("0x"):
        low = low[1:]
    if low.startswith("x") and 2 <= len(low) <= 5:
        try:
            return chr(int(low[1:], 16))
        except ValueError:
            return None
    return None


def decode_leef(line: str) -> RawRecord:
    """One LEEF line → :class:`RawRecord` with canonical (CEF-spelled) keys."""
    start = line.find("LEEF:")
    if start < 0:
        raise DecodeError(
            "line does not contain a LEEF header (no 'LEEF:' marker)",
            column=1,
            hint="the line is not LEEF; check the file's format (--format)",
        )
    prefix = (line[:start].rstrip() or None) if start else None
    body = line[start + 5 :]
    parts = body.split("|", 5)
    if len(parts) < 6:
        raise DecodeError(
            f"incomplete LEEF header: found {len(parts) - 1} of 5 required pipe-terminated header fields",
            column=start + 5 + len(body) + 1,
            hint="the line is truncated; a LEEF header is LEEF:Version|Vendor|Product|Version|EventID|",
        )
    version = parts[0].strip()
    rest = parts[5]
    delim = "\t"
    if version.startswith("2"):
        dspec, bar, after = rest.partition("|")
        if bar:
            found = parse_delimiter(dspec)
            if found is not None:
                delim, rest = found, after
            elif "=" not in dspec:  # not an attribute either: a broken delimiter field
                raise DecodeError(
                    f"LEEF 2.0 delimiter field {dspec[:20]!r} is neither one character nor xHH",
                    column=start + 5 + len(body) - len(rest) + 1,
                    hint="LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|",
                )
            # else: no delimiter field at all; the '|' belongs to a value
    attrs = rest.rstrip("\r\n")
    if delim not in attrs:
        delim = " "
        attrs = attrs.rstrip(" \t")
    origin = start + 5 + len(body) - len(rest)
    if attrs.startswith(delim):
        origin += len(delim)
    else:
        attrs = delim + attrs.lstrip(" ") if delim == " " else delim + attrs
    imperva = parts[1] == "Incapsula"
    if attrs == delim:
        keys: list[str] = []
        lows: list[str] | None = []
        values: list[str] = []
        warnings: list[str] = []
    else:
        keys, lows, values, warnings = _cut(attrs, imperva, origin, _splitter(delim), delim)
        if delim != " " and values:  # blanks only: no attribute to trim
            values[-1] = values[-1].rstrip(" \t" + delim)
    if lows is None:
        lows = list(map(_canon, keys))
    if imperva:  # Imperva's LEEF names → CEF names; other vendors' LEEF keys keep their meaning
        lows = [LEEF_ALIASES.get(low, low) for low in lows]
    ext, dups = _to_ext(lows, values)
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
        warnings=warnings,
    )
