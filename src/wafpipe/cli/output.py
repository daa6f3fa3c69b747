"""Event data on a terminal: never as control sequences, always readable (issue 18).

Event values are attacker-controlled: a user agent can hold ``ESC]52;…`` (which makes some
terminals write the clipboard), ``ESC[2J``, a carriage return that overwrites the line before it,
or a right-to-left override that reorders what is shown. So every value shown by ``wafpipe
query`` goes through one of these:

* :func:`safe` for text (the table, CSV): C0 and C1 control characters, DEL, the bidirectional
  controls and the Unicode line separators are written as escapes (``\\x1b``, ``\\u202e``);
* :func:`json_line` for NDJSON: orjson already escapes C0; DEL, C1 and the others become JSON
  ``\\uXXXX`` escapes, so the line stays valid JSON with the same value.
"""

from __future__ import annotations

from typing import Any

import orjson
import typer

from wafpipe.collector.logs import CONTROL_CODEPOINTS

_TEXT = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in CONTROL_CODEPOINTS}
_JSON = {c: f"\\u{c:04x}" for c in CONTROL_CODEPOINTS if c >= 0x7F}  # orjson escapes C0 itself


def safe(text: str) -> str:
    """``text`` with every control character written as an escape (see the module docstring)."""
    return text.translate(_TEXT)


def cell(value: Any) -> str:
    """A value as one line of safe text: lists joined with ", ", objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return safe(orjson.dumps(value).decode())
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe(str(value))


def json_line(obj: Any) -> str:
    """One NDJSON line without a newline, safe to print to a terminal."""
    return orjson.dumps(obj, default=str).decode().translate(_JSON)


def print_checks(checks: list[Any], *, title: str, headings: tuple[str, str, str, str], words: tuple[str, str],
                 fmt: str = "table") -> int:  # fmt: skip
    """``validate``'s and ``doctor``'s report (:class:`wafpipe.tools.checks.Check` rows): a table whose
    cells are text, never markup, or NDJSON; returns the exit code (0 when every check is fine)."""
    import dataclasses

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if fmt == "ndjson":
        for c in checks:
            typer.echo(json_line(dataclasses.asdict(c)))
    else:
        table = Table(title=title)
        for heading in headings:
            table.add_column(heading, overflow="fold")
        good, bad = words
        for c in checks:
            table.add_row(Text(c.name), Text(good if c.ok else bad, style="green" if c.ok else "bold red"),
                          Text(c.evidence), Text(c.fix))  # fmt: skip
        Console(highlight=False, soft_wrap=False, width=160).print(table)
    return 0 if all(c.ok for c in checks) else 1
