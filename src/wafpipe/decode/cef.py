"""CEF decoder: the ArcSight grammar plus every Imperva quirk of FORMATS.md §2.6.

Grammar (checked against the Filebeat ``decode_cef`` and Logstash ``codec-cef`` vectors in
``tests/decode/test_conformance.py``, which also lists where those two disagree and what we chose):

* Anything before ``CEF:`` is a syslog prefix (kept, trailing blanks removed).
* The header is seven ``|``-terminated fields; ``\\|`` and ``\\\\`` are escapes there. The severity
  slot is kept as text (Imperva puts a rule-type id there, possibly ``-1``; Attack Analytics a word).
* The extension starts after the seventh pipe, with or without blanks. It is cut at every
  `` key=`` — one **space**, a key made of ``[A-Za-z0-9_.,[\\]-]`` (starting with a letter, digit or
  ``_``), then ``=``. A tab is not a separator. The separating space belongs to no value, so a
  value keeps any further trailing blanks (``a  b=`` gives ``a `` ); the last value loses its
  trailing blanks and line ending.
* Imperva lines (vendor ``Incapsula``) add DESIGN §1's exception: inside the value of a free-text
  key (user agent, post body, JSON…), a candidate key that Imperva does not emit stays part of
  the value. They also lose one blank after ``=`` (``ver= TLSv1.2…``, FORMATS §2.6 #21).
* Values are un-escaped after cutting: ``\\=``, ``\\\\``, ``\\n``, ``\\r``. Any other backslash is
  kept as it is (``\\|`` stays ``\\|``). Empty values are kept (``cs9=``).
* Tolerated but flagged in ``RawRecord.warnings``: an unescaped ``=`` inside a value (``id==x``,
  ``a =b``) — the value keeps it. Errors (:class:`DecodeError`): no ``CEF:``, fewer than seven
  header fields, text before the first key, several CEF records in one line.

Speed matters (the core issue's benchmark): the header is split with ``str.split`` unless it holds
a backslash, the extension is cut by one ``re.split`` in C, and key canonicalisation, dict
building and the checks for escapes, ``=`` and newlines are C-level calls over the whole line;
Python code walks the fields one by one only on the rare lines that need it.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import compress, repeat
from operator import eq
from typing import cast

from wafpipe.decode.record import RawRecord
from wafpipe.errors import DecodeError
from wafpipe.fields.keys import FREE_TEXT_KEYS, is_known_key

# `` key=``: the space before the key is the separator and is consumed with it. Key characters
# never include ``=``, so the possessive quantifier is safe, and a backslash cannot be part of a
# key, so ``\=`` inside a value never starts one.
KEY_SPLIT = re.compile(r" ([A-Za-z0-9_][A-Za-z0-9_.,\[\]-]*+)=")
_UNESCAPE = re.compile(r"\\(.)", re.S)
# An ``=`` preceded by an even number of backslashes (0, 2, …) is not escaped.
_UNESCAPED_EQ = re.compile(r"(?<!\\)(?:\\\\)*=")
_EXT_ESCAPES = {"=": "=", "\\": "\\", "n": "\n", "r": "\r"}
_HEADER_ESCAPES = {"|": "|", "\\": "\\"}
_TRAILING = " \t\r\n"
_CACHE_MAX = 4096

# Key spelling → canonical lower-case key. ``_IMPERVA_CANON`` only holds keys Imperva emits (any
# spelling seen), so one ``map`` over an Imperva line's keys proves that no free-text exception
# can apply; ``_CANON`` holds any key.
_IMPERVA_CANON: dict[str, str] = {}
_CANON: dict[str, str] = {}


def _unescape_ext(value: str) -> str:
    """``\\=`` ``\\\\`` ``\\n`` ``\\r`` → their characters; any other backslash stays."""
    if "\\\\" not in value and "\\n" not in value and "\\r" not in value:
        return value.replace("\\=", "=")  # the common case: only escaped '=' (or stray '\\')
    return _UNESCAPE.sub(_unescape_one, value)


def _unescape_one(m: re.Match[str]) -> str:
    return _EXT_ESCAPES.get(m.group(1), m.group(0))


def _canon(key: str) -> str:
    low = _CANON.get(key)
    if low is None:
        low = key.lower()
        if len(_CANON) < _CACHE_MAX:
            _CANON[key] = low
    return low


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
            f"incomplete CEF header: found {len(fields)} of 7 required pipe-terminated header fields",
            column=origin + n + 1,
            hint="the line is truncated or is not CEF; a CEF header is "
            "CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|",
        )
    return fields, i


# What ``_cut`` returns: keys in their original spelling; canonical keys when the Imperva fast
# path already has them (else None); final values (glued, trimmed, un-escaped); warnings.
_Cut = tuple[list[str], list[str] | None, list[str], list[str]]


def _cut(
    ext: str, imperva: bool, origin: int, splitter: re.Pattern[str] = KEY_SPLIT, sep: str = " "
) -> _Cut:
    """Cut ``ext`` — which starts with the separator (``" key=…"``) — into keys and values.

    ``origin`` is the 0-based column in the line of ``ext[1]``, for messages; ``splitter`` cuts
    at ``<sep>key=`` (LEEF passes its own delimiter).
    """
    parts = splitter.split(ext)
    head = parts[0]
    if head and not head.isspace():
        raise DecodeError(
            f"invalid extensions; keyless value present: {head[1:41]!r}",
            column=origin + 1,
            hint="extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)",
        )
    keys = parts[1::2]
    values = parts[2::2]
    # Every key consumed one '='; any other '=' must be escaped (or it is flagged below).
    extra = ext.count("=") - len(keys)
    lows: list[str] | None = None
    if imperva:
        found = list(map(_IMPERVA_CANON.get, keys))
        if all(found):
            lows = cast(list[str], found)
        else:  # a key not seen yet, or one Imperva does not emit
            keys, lows, values = _glue_free_text(keys, values, sep)
        if "= " in ext:  # FORMATS §2.6 #21: one blank after '='
            values = [v[1:] if v[:1] == " " else v for v in values]
    if "\\" in ext:
        extra -= _unescape_values(values, "\x00" not in ext)
    warnings = _eq_warnings(parts, origin) if extra > 0 else []
    return keys, lows, values, warnings


def _unescape_values(values: list[str], joinable: bool) -> int:
    """Un-escape, in place, the few values holding a backslash; return how many '=' they had
    escaped (a ``\\\\=`` pair counts as unexplained, so the precise scan runs)."""
    escaped = 0
    if not joinable:  # NUL inside the line: walk every value
        for i, v in enumerate(values):
            if "\\" in v:
                escaped += v.count("\\=") - v.count("\\\\=")
                values[i] = _unescape_ext(v)
        return escaped
    # Find the values holding a backslash with C-level searches over one joined string.
    joined = "\x00".join(values)
    pos = joined.find("\\")
    while pos >= 0:
        i = joined.count("\x00", 0, pos)
        v = values[i]
        escaped += v.count("\\=") - v.count("\\\\=")
        values[i] = _unescape_ext(v)
        end = joined.find("\x00", pos)
        if end < 0:
            break
        pos = joined.find("\\", end)
    return escaped


def _eq_warnings(parts: list[str], origin: int) -> list[str]:
    out: list[str] = []
    pos = len(parts[0])
    for i in range(1, len(parts), 2):
        key, value = parts[i], parts[i + 1]
        pos += len(key) + 2
        m = _UNESCAPED_EQ.search(value)
        if m is not None:
            col = origin + pos + m.end() - 1  # 1-based column of the '='
            out.append(f"malformed value for {key} at column {col}: unescaped '=' kept in the value")
        pos += len(value)
    return out


def _glue_free_text(keys: list[str], values: list[str], sep: str) -> tuple[list[str], list[str], list[str]]:
    """Imperva slow path: learn new spellings of known keys; glue unknown candidates that sit
    inside a free-text value back into it (DESIGN §1)."""
    out_k: list[str] = []
    out_l: list[str] = []
    out_v: list[str] = []
    free = False
    for key, value in zip(keys, values, strict=True):
        low = _IMPERVA_CANON.get(key)
        if low is None:
            if is_known_key(key):
                low = key.lower()
                if len(_IMPERVA_CANON) < _CACHE_MAX:
                    _IMPERVA_CANON[key] = low
            elif free:
                out_v[-1] = f"{out_v[-1]}{sep}{key}={value}"
                continue
            else:
                low = key.lower()
        out_k.append(key)
        out_l.append(low)
        out_v.append(value)
        free = low in FREE_TEXT_KEYS
    return out_k, out_l, out_v


def split_extension(ext: str, imperva: bool) -> list[tuple[str, str]]:
    """Cut a CEF extension into (key, value) pairs at every unescaped `` key=``.

    For Imperva lines, inside the value of a free-text key (user agent, post body, JSON…), a
    candidate key that Imperva does not emit stays part of the value (DESIGN.md §1).
    Values are un-escaped after tokenizing.
    """
    ext = ext.lstrip(" \t").rstrip(_TRAILING)
    if not ext:
        return []
    keys, _, values, _ = _cut(" " + ext, imperva, 0)
    return list(zip(keys, values, strict=True))


def _split_line(line: str) -> tuple[list[str], _Cut, str | None]:
    start = line.find("CEF:")
    if start < 0:
        raise DecodeError(
            "line does not contain a CEF header (no 'CEF:' marker)",
            column=1,
            hint="the line is not CEF; check the file's format (--format)",
        )
    prefix = (line[:start].rstrip() or None) if start else None
    body = line[start + 4 :]
    origin = start + 4
    head_parts = body.split("|", 7)
    if len(head_parts) == 8:
        rest = head_parts[7]
        hlen = len(body) - len(rest)
        if body.find("\\", 0, hlen) < 0:
            fields = head_parts
        else:
            fields, hlen = _split_header_escaped(body, origin)
            rest = body[hlen:]
    else:
        fields, hlen = _split_header_escaped(body, origin)  # raises: fewer than 7 fields
        rest = body[hlen:]
    ext = rest.rstrip(_TRAILING)
    if ext[:1] != " " or ext[1:2] in (" ", "\t"):
        stripped = ext.lstrip(" \t")
        hlen += len(ext) - len(stripped)
        ext = " " + stripped
    else:
        hlen += 1
    if "\n" in ext:
        _check_newlines(ext, origin + hlen)
    if len(ext) <= 1:
        return fields, ([], [], [], []), prefix
    return fields, _cut(ext, fields[1] == "Incapsula", origin + hlen), prefix


def _check_newlines(ext: str, origin: int) -> None:
    """A raw LF inside a value is kept (a control character, DESIGN §7); another CEF record after
    one means the caller passed several lines as one — refuse rather than lose records."""
    segments = ext.split("\n")
    records = 1 + sum(1 for seg in segments[1:] if "CEF:" in seg)
    if records > 1:
        raise DecodeError(
            f"message is not valid CEF because it contains unescaped newline characters "
            f"({records} CEF records in one line)",
            column=origin + len(segments[0]),
            hint="split the input on '\\n' before decoding ",
        )


def _to_ext(lows: list[str], values: list[str]) -> tuple[dict[str, str], dict[str, list[str]] | None]:
    ext = dict(zip(lows, values, strict=True))
    if len(ext) == len(lows):
        return ext, None
    # Repeated keys (Imperva's own example repeats ccode): first non-empty wins, all are kept.
    # C-level counting and filtering; Python only loops over the repeated keys.
    counts = Counter(lows)
    if len(lows) - len(ext) == 1:
        repeated = [max(counts, key=counts.__getitem__)]
    else:
        repeated = [k for k, c in counts.items() if c > 1]
    dups: dict[str, list[str]] = {}
    for key in repeated:
        vals = list(compress(values, map(eq, lows, repeat(key))))
        dups[key] = vals
        ext[key] = next((v for v in vals if v), vals[0])
    return ext, dups


def decode_cef(line: str) -> RawRecord:
    """One CEF line → :class:`RawRecord` with canonical keys."""
    fields, (keys, lows, values, warnings), prefix = _split_line(line)
    if lows is None:
        lows = list(map(_canon, keys))
    ext, dups = _to_ext(lows, values)
    return RawRecord(
        "cef",
        ext,
        fields[1],
        fields[2],
        fields[3],
        fields[4],
        fields[5],
        fields[6],
        fields[0].strip(),
        prefix,
        dups,
        warnings,
    )
