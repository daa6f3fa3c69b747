"""``wafpipe doctor``: causes and fixes (:mod:`wafpipe.tools.doctor`)."""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_USAGE, ConfigOpt, error, load, open_reader
from wafpipe.cli.output import print_checks


def doctor(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table or ndjson (one finding per line)")] = "table",
    timeout: Annotated[float, typer.Option("--timeout", min=0.1,
                                           help="seconds each remote source may take to answer its probe")] = 10.0,
) -> None:
    """Find why logs do not arrive or do not look right — sources (paths, patterns, permissions;
    each remote source listed once, now: credentials, TLS certificate, SSH host key, permissions,
    not found, unreachable), files that gave no event, lines that do not decode, the clock, the
    remote sources' last errors, gaps, cluster sinks — and say the fix for each. Changes nothing.
    Exit 0 when nothing is wrong."""
    from wafpipe.errors import WafpipeError
    from wafpipe.tools.doctor import diagnose

    if fmt not in ("table", "ndjson"):
        raise error(f"usage error: --format is table or ndjson, not {fmt!r}", EXIT_USAGE)
    cfg = load(config)
    try:
        with open_reader(cfg, with_state=True) as reader:
            found = diagnose(cfg, reader, timeout_s=timeout)
    except WafpipeError:  # nothing stored yet (or no embedded store): what can be looked at without it
        found = diagnose(cfg, None, timeout_s=timeout)
    raise typer.Exit(print_checks(found, title="wafpipe doctor", headings=("where", "", "finding", "fix"),
                                  words=("ok", "!!"), fmt=fmt))  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(doctor)
