"""W3C extended log decoder, shaped by the one real Imperva W3C file (FORMATS.md §5).

Directives (``#Fields:`` …) sit in the body; every value is double-quoted with ``""`` for empty.
The decoder is stateful per file: the column list comes from the latest ``#Fields`` line or from a
header line whose name contains ``field``. The fast path splits on ``" "``; lines that do not fit
it (unquoted tokens, quotes inside values) go through a character scanner.
"""

from __future__ import annotations

from wafpipe.decode.record import RawRecord
from wafpipe.errors import DecodeError
from wafpipe.keys import W3C_COLUMNS, W3C_NAME_COLUMN, W3C_SEVERITY_COLUMN


def tokenize(line: str) -> list[str]:
    """Split on single spaces outside double quotes; ``""``/``\\"`` inside quotes are a quote."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] == " ":
            i += 1
            continue
        if line[i] == '"':
            i += 1
            buf: list[str] = []
            while i < n:
                ch = line[i]
                if ch == "\\" and i + 1 < n and line[i + 1] == '"':
                    buf.append('"')
                    i += 2
                elif ch == '"':
                    if i + 1 < n and line[i + 1] == '"' and buf:
                        buf.append('"')
                        i += 2
                    else:
                        i += 1
                        break
                else:
                    buf.append(ch)
                    i += 1
            else:
                raise DecodeError(
                    "unterminated quoted value", column=n, hint="every W3C value must end with a quote"
                )
            out.append("".join(buf))
        else:
            j = line.find(" ", i)
            if j < 0:
                j = n
            tok = line[i:j]
            out.append("" if tok == "-" else tok)
            i = j
    return out


class W3CDecoder:
    """Holds the column map of one file; ``decode`` returns None for directive lines."""

    def __init__(self, header: dict[str, str] | None = None) -> None:
        self.columns: list[str] = []
        self._keys: list[str] = []
        self.directives: dict[str, str] = {}
        for name, value in (header or {}).items():
            if "field" in name.lower():
                self.set_fields(value.replace(",", " ").split())

    def set_fields(self, columns: list[str]) -> None:
        self.columns = columns
        self._keys = [W3C_COLUMNS.get(c.lower(), c.lower()) for c in columns]

    def decode(self, line: str) -> RawRecord | None:
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
        if len(line) > 1 and line[0] == '"' and line[-1] == '"':
            values = line[1:-1].split('" "')
            if len(values) != len(self._keys) or any('"' in v for v in values):
                values = tokenize(line)
        else:
            values = tokenize(line)
        if len(values) != len(self._keys):
            raise DecodeError(
                f"W3C line has {len(values)} values but #Fields names {len(self._keys)} columns",
                column=1,
                hint="the line is truncated or a value holds an unescaped quote",
            )
        ext: dict[str, str] = {}
        name = severity = None
        for col, key, value in zip(self.columns, self._keys, values, strict=True):
            low = col.lower()
            if low == W3C_NAME_COLUMN:
                name = value
            elif low == W3C_SEVERITY_COLUMN:
                severity = value or None
            elif value:
                ext[key] = value
        return RawRecord(
            format="w3c",
            ext=ext,
            vendor="Incapsula",
            name=name or "Normal",
            severity=severity,
            format_version=self.directives.get("Version"),
        )
