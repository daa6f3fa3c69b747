"""W3C extended log decoder, shaped by the one real Imperva W3C file (FORMATS.md §5).

Directives (``#Fields:`` …) sit in the body; every value is double-quoted with ``""`` for empty.
The decoder is stateful per file: the column list comes from the latest ``#Fields`` line or from a
header line whose name contains ``field``. The fast path splits on ``" "``; lines that do not fit
it (unquoted tokens, quotes inside values) go through a scanner. Empty values (``""``, ``-``) are
left out of ``ext``.
"""

from __future__ import annotations

from wafpipe.decode.record import RawRecord
from wafpipe.errors import DecodeError
from wafpipe.fields.keys import W3C_COLUMNS, W3C_NAME_COLUMN, W3C_SEVERITY_COLUMN


def tokenize(line: str) -> list[str]:
    """Split on spaces outside double quotes and strip the quotes (FORMATS §5.2).

    Inside quotes, ``""`` and ``\\"`` are a literal quote (a quote that closes a value is always
    followed by a space or the end of the line, so ``""`` inside a value is never ambiguous);
    ``""`` standing alone is the empty value. Unquoted tokens are accepted as they are, ``-``
    meaning empty.
    """
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == " ":
            i += 1
            continue
        if ch != '"':
            j = line.find(" ", i)
            if j < 0:
                j = n
            tok = line[i:j]
            out.append("" if tok == "-" else tok)
            i = j
            continue
        opened = i
        i += 1
        buf: list[str] = []
        while True:
            j = line.find('"', i)
            if j < 0:
                raise DecodeError(
                    f"unterminated quoted value (opened at column {opened + 1})",
                    column=opened + 1,
                    hint="every quoted W3C value must end with a quote; a quote inside a value is written \"\"",
                )
            if j > i and line[j - 1] == "\\":  # \" → "
                buf.append(line[i : j - 1])
                buf.append('"')
                i = j + 1
            elif j + 1 < n and line[j + 1] == '"':
                buf.append(line[i:j])  # "" inside a value → "
                buf.append('"')
                i = j + 2
            else:
                buf.append(line[i:j])
                i = j + 1
                break
        out.append("".join(buf))
    return out


class W3CDecoder:
    """Holds the column map of one file; ``decode`` returns None for directive lines."""

    format = "w3c"

    def __init__(self, header: dict[str, str] | None = None) -> None:
        self.columns: list[str] = []
        self._keys: list[str] = []
        self.directives: dict[str, str] = {}
        for name, value in (header or {}).items():
            if "field" in name.lower():
                self.set_fields(value.replace(",", " ").split())

    def set_fields(self, columns: list[str]) -> None:
        """Column names in order; each maps to its canonical key (FORMATS §5.3), unknown ones
        to their lower-case W3C name. ``cs-rule``/``cs-severity`` keep their names and fill the
        record's name and rule-type id."""
        self.columns = columns
        self._keys = [W3C_COLUMNS.get(c.lower(), c.lower()) for c in columns]

    def decode(self, line: str) -> RawRecord | None:
        line = line.rstrip("\r\n")
        if line.startswith("#"):
            name, _, value = line[1:].partition(":")
            name = name.strip()
            if name.lower() == "fields":
                self.set_fields(value.split())
            else:
                self.directives[name] = value.strip()
            return None
        if not self._keys:
            raise DecodeError(
                "W3C data line before any #Fields directive",
                column=1,
                hint="the file must declare its columns with '#Fields:' before the first event",
            )
        n = len(self._keys)
        if len(line) > 1 and line[0] == '"' and line[-1] == '"':
            inner = line[1:-1]
            values = inner.split('" "')
            # Each '" "' separator holds two quotes; any other quote needs the scanner.
            if len(values) != n or inner.count('"') != 2 * (n - 1):
                values = tokenize(line)
        else:
            values = tokenize(line)
        if len(values) != n:
            raise DecodeError(
                f"W3C line has {len(values)} values, expected {n} (one per #Fields column)",
                column=1,
                hint="the line is truncated, or a value holds a quote that is not doubled",
            )
        ext = {k: v for k, v in zip(self._keys, values, strict=True) if v}
        name = ext.pop(W3C_NAME_COLUMN, None)
        severity = ext.pop(W3C_SEVERITY_COLUMN, None)
        return RawRecord(
            format="w3c",
            ext=ext,
            vendor="Incapsula",
            name=name or "Normal",
            severity=severity,
            format_version=self.directives.get("Version"),
        )
