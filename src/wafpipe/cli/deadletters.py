"""``wafpipe deadletters``: list and replay what could not be stored."""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, ConfigOpt, error, load

deadletters_app = typer.Typer(help="Dead-letter records: lines and events that could not be stored.")


@deadletters_app.command("list")
def deadletters_list(
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many records")] = 50,
    kind: Annotated[str | None, typer.Option(help="decode, cut_line, sink_rejected…")] = None,
    replayed: Annotated[bool, typer.Option("--replayed", help="include records already replayed")] = False,
) -> None:
    """Show dead-letter records, newest first, as NDJSON."""
    from wafpipe.cli.output import json_line
    from wafpipe.collector.state.store import State

    cfg = load(config)
    with State(cfg.data_dir) as state:
        for rec in state.list_dead_letters(limit=limit, kind=kind, include_replayed=replayed, newest_first=True):
            typer.echo(json_line({"id": rec.id, "created_at": rec.created_at, **rec.record}))


@deadletters_app.command("replay")
def deadletters_replay(
    config: ConfigOpt = None,
    kind: Annotated[str | None, typer.Option(help="only this kind (decode, cut_line, sink_rejected…)")] = None,
) -> None:
    """Send dead letters again once their cause is fixed: lines are decoded again as ingest decodes
    them, rejected documents go back to their sink. With a collector running on the data directory,
    that collector replays them (through its API). Exit 0 when every record went through, 1 when
    some still fail, 2 when they cannot be replayed now."""
    from wafpipe.cli.output import safe
    from wafpipe.collector.replay import CollectorRunning, replay_dead_letters
    from wafpipe.errors import ConfigError, WafpipeError
    from wafpipe.store.client import find_running

    cfg = load(config)
    try:
        client = find_running(cfg.data_dir)
        if client is not None:
            with client:
                summary = client.replay_dead_letters(kind)
            lines, failing = [str(line) for line in summary.get("lines", [])], int(summary.get("still_failing", 0))
        else:
            report = replay_dead_letters(cfg, kind)
            lines, failing = report.lines(), report.still_failing
    except (CollectorRunning, ConfigError) as exc:
        raise error(f"error: {exc}", EXIT_USAGE) from None
    except WafpipeError as exc:  # a sink that cannot be opened (the store locked by another process…)
        raise error(f"error: {exc}", EXIT_DATA) from None
    for line in lines:
        typer.echo(safe(line))
    raise typer.Exit(EXIT_OK if failing == 0 else EXIT_DATA)


def register(app: typer.Typer) -> None:
    app.add_typer(deadletters_app, name="deadletters")
