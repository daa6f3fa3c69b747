"""``wafpipe doctor``: causes and fixes (:mod:`wafpipe.tools.doctor`)."""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_USAGE, ConfigOpt, error, load, open_reader
from wafpipe.cli.output import print_checks


def doctor(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table or ndjson (one finding per line)")] = "table",
) -> None:
    """Find why logs do not arrive or do not look right — sources (paths, patterns, permissions),
    files that gave no event, lines that do not decode, the clock, remote sources' errors, gaps,
    cluster sinks — and say the fix for each. Changes nothing. Exit 0 when nothing is wrong."""
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
    raise typer.Exit(print_checks(found, title="wafpipe doctor", headings=("where", "", "finding", "fix"),
                                  words=("ok", "!!"), fmt=fmt))  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(doctor)
