"""``wafpipe deadletters``: list and replay what could not be stored."""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_OK, ConfigOpt, load

deadletters_app = typer.Typer(help="Dead-letter records: lines and events that could not be stored.")


@deadletters_app.command("list")
def deadletters_list(
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option()] = 50,
    kind: Annotated[str | None, typer.Option(help="decode, cut_line, sink_rejected…")] = None,
) -> None:
    """Show dead-letter records (newest first) as NDJSON."""
    import orjson

    from wafpipe.collector.state.store import State

    cfg = load(config)
    with State(cfg.data_dir) as state:
        for rec in state.list_dead_letters(limit=limit, kind=kind):
            typer.echo(orjson.dumps({"id": rec.id, "created_at": rec.created_at, **rec.record}).decode())


@deadletters_app.command("replay")
def deadletters_replay(
    config: ConfigOpt = None,
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
) -> None:
    """Decode dead-lettered lines again (after a fix) and store those that now decode."""
    from wafpipe.collector.replay import replay_dead_letters

    cfg = load(config)
    replayed, still_bad = replay_dead_letters(cfg, kind)
    typer.echo(f"replayed {replayed}, still failing {still_bad}")
    raise typer.Exit(EXIT_OK if still_bad == 0 else EXIT_DATA)


def register(app: typer.Typer) -> None:
    app.add_typer(deadletters_app, name="deadletters")
