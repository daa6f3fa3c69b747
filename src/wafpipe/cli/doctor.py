"""``wafpipe doctor``: causes and fixes (:mod:`wafpipe.tools.doctor`)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, ConfigOpt, error, load, open_reader
from wafpipe.cli.output import json_line


def doctor(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table or ndjson (one finding per line)")] = "table",
) -> None:
    """Find why logs do not arrive or do not look right — sources (paths, patterns, permissions),
    files that gave no event, lines that do not decode, the clock, remote sources' errors, gaps,
    cluster sinks — and say the fix for each. Changes nothing. Exit 0 when nothing is wrong."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from wafpipe.errors import WafpipeError
    from wafpipe.tools.doctor import diagnose

    if fmt not in ("table", "ndjson"):
        raise error(f"usage error: --format is table or ndjson, not {fmt!r}", EXIT_USAGE)
    cfg = load(config)
    try:
        with open_reader(cfg, with_state=True) as reader:
            found = diagnose(cfg, reader)
    except WafpipeError:  # nothing stored yet (or no embedded store): what can be looked at without it
        found = diagnose(cfg, None)
    if fmt == "ndjson":
        for d in found:
            typer.echo(json_line(dataclasses.asdict(d)))
        raise typer.Exit(EXIT_OK if all(d.ok for d in found) else EXIT_DATA)
    table = Table(title="wafpipe doctor")
    for column in ("where", "", "finding", "fix"):
        table.add_column(column, overflow="fold")
    for d in found:  # every cell is data, never markup
        table.add_row(Text(d.area), Text("ok" if d.ok else "!!", style="green" if d.ok else "bold red"),
                      Text(d.finding), Text(d.fix))  # fmt: skip
    Console(highlight=False, soft_wrap=False, width=180).print(table)
    raise typer.Exit(EXIT_OK if all(d.ok for d in found) else EXIT_DATA)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
