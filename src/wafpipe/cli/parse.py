"""``wafpipe parse``: Imperva files → ECS NDJSON on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def parse(
    files: Annotated[
        list[Path],
        typer.Argument(help="Imperva log files (any compression), or directories: their *.log and *.log.gz files"),
    ],
    fmt: Annotated[str, typer.Option("--format", help="auto | cef | leef | w3c")] = "auto",
    keys: Annotated[Path | None, typer.Option("--keys", help="keys directory for encrypted files")] = None,
    dead_letter: Annotated[
        Path | None, typer.Option("--dead-letter", help="append failing raw lines with reasons (NDJSON)")
    ] = None,
    summary: Annotated[bool, typer.Option("--summary", help="print a summary to stderr at the end")] = False,
    max_line_bytes: Annotated[int, typer.Option(help="longer lines are decoded from their head")] = 1 << 20,
) -> None:
    """Decode files to ECS NDJSON on stdout; problems go to stderr. Exit 0 only when every line of
    every file decoded and every checksum verified, 1 otherwise."""
    from wafpipe.collector.memory import keep_freed_buffers
    from wafpipe.tools.parse import parse_files

    if fmt not in ("auto", "cef", "leef", "w3c"):
        raise typer.BadParameter("--format must be auto, cef, leef or w3c")
    keep_freed_buffers()  # a Batch's output buffers reused for the next, not mapped and zeroed again
    code = parse_files(
        files, fmt=fmt, keys_dir=keys, dead_letter=dead_letter, summary=summary, max_line_bytes=max_line_bytes
    )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(parse)
