"""``wafpipe report``: reports over a period (:mod:`wafpipe.tools.report`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, ConfigOpt, error, load

report_app = typer.Typer(help="Reports over a period, from the state, the store and the configuration.",
                         no_args_is_help=True)  # fmt: skip


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise error(f"usage error: {option} {value!r}: a day such as 2026-11-01", EXIT_USAGE) from None


@report_app.command("compliance")
def compliance(
    since: Annotated[str, typer.Option("--from", help="first day of the period (UTC), e.g. 2026-11-01")],
    until: Annotated[str, typer.Option("--to", help="last day of the period (UTC, included)")],
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="html (one self-contained file), md or json")] = "html",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the report here (default stdout)")] = None,
) -> None:
    """A report for auditors (PCI DSS 10.x, SOC 2 CC7, HIPAA 164.312(b)) over whole UTC days:
    coverage per log configuration (files, gaps, quarantined and failed files, checksum failures),
    ingestion delays, retention and deletions, the archive's verification, redaction, security
    events by attack type and action, alerts, and the requirement each section supports. Exit 0
    when the report was written and is complete, 1 when it was written and lists something missing
    (a gap, a file set aside, a broken archive link), 2 on usage errors."""
    from wafpipe import __version__
    from wafpipe.tools.report import FORMATS, Period, build, render, sources

    if fmt not in FORMATS:
        raise error(f"usage error: --format is one of {', '.join(FORMATS)}, not {fmt!r}", EXIT_USAGE)
    period = Period(_day(since, "--from"), _day(until, "--to"))
    if period.last < period.first:
        raise error(f"usage error: --to {until} is before --from {since}", EXIT_USAGE)
    cfg = load(config)
    with sources(cfg) as found:
        report = build(cfg, period, state=found.state, reader=found.reader, prunes=found.prunes,
                       version=__version__, why=found.why)  # fmt: skip
    text = render(report, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        state = "complete" if report["complete"] else f"incomplete: {len(report['missing'])} item(s) missing"
        typer.echo(f"{output}: report for {period.first} to {period.last} written ({state})", err=True)
    raise typer.Exit(EXIT_OK if report["complete"] else EXIT_DATA)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
