"""``wafpipe archive``: the compliance archive (:mod:`wafpipe.sinks.archive`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, ConfigOpt, error, load

archive_app = typer.Typer(help="The archive sink: every event as Parquet, in a hash-chained manifest.")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise error(f"usage error: {option} {value!r}: a day such as 2026-11-01", EXIT_USAGE) from None


@archive_app.command("verify")
def archive_verify(
    config: ConfigOpt = None,
    path: Annotated[Path | None, typer.Option(help="an archive directory (default: each archive sink's)")] = None,
    since: Annotated[str | None, typer.Option("--from", help="first day whose objects are checked")] = None,
    until: Annotated[str | None, typer.Option("--to", help="last day whose objects are checked")] = None,
) -> None:
    """Check an archive against its manifest: every line chained to the one before, every object
    present with its SHA-256, nothing added. Names each broken link; exit 1 when there is one."""
    from wafpipe.sinks.archive import ArchiveSinkConfig
    from wafpipe.sinks.archive.verify import verify

    lo, hi = _day(since, "--from"), _day(until, "--to")
    if path is not None:
        roots = [path]
    else:
        roots = [s.path for s in load(config).sinks if isinstance(s, ArchiveSinkConfig)]
        if not roots:
            raise error("usage error: the configuration has no sink of type \"archive\"; give --path", EXIT_USAGE)
    broken = 0
    for root in roots:
        verdict = verify(root, lo, hi)
        for problem in verdict.broken:
            typer.echo(f"BROKEN  {root}: {problem}")
        state = "intact" if verdict.ok else f"{len(verdict.broken)} broken link(s)"
        typer.echo(f"{root}: {state} — {verdict.lines} manifest line(s), {verdict.objects} object(s) checked, "
                   f"{verdict.rows} event(s); last hash {verdict.head}")  # fmt: skip
        broken += len(verdict.broken)
    raise typer.Exit(EXIT_DATA if broken else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.add_typer(archive_app, name="archive")
