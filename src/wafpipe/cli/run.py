"""``wafpipe run``: the collector."""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_USAGE, ConfigOpt, load, setup_logging


def run(
    config: ConfigOpt = None,
    once: Annotated[bool, typer.Option("--once", help="ingest what is there now, drain, exit")] = False,
    workers: Annotated[int | None, typer.Option(help="decode worker processes (0 = in-process)")] = None,
) -> None:
    """The collector: watch the sources, decode, store exactly once."""
    from wafpipe.collector.pipeline import Collector
    from wafpipe.errors import ConfigError, WafpipeError

    cfg = load(config)
    setup_logging(cfg)
    try:
        collector = Collector(cfg, workers=workers)
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        report = collector.run(once=once)
    except WafpipeError as exc:  # a sink that cannot make data durable (disk full, …): stop cleanly
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DATA) from None
    typer.echo(
        f"files done {report.files_done}, failed {report.files_failed}, quarantined {report.files_quarantined}; "
        f"events {report.events}, stored {report.stored}, duplicates {report.duplicates}"
        + (f"; problems {dict(report.problems)}" if report.problems else ""),
        err=True,
    )
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command()(run)
