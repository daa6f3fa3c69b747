"""``wafpipe alerts``: what the detections found (:mod:`wafpipe.collector.state.alerts`)."""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_OK, ConfigOpt, load

alerts_app = typer.Typer(help="Alerts: what the Sigma detections found in the events the collector stored.")


@alerts_app.command("list")
def alerts_list(
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many alerts")] = 50,
    acknowledged: Annotated[bool, typer.Option("--acknowledged", help="include acknowledged alerts")] = False,
) -> None:
    """Show alerts, most recently updated first, as NDJSON: the rule, the group (source address or
    the correlation's fields), first and last event times, how many events, the first event ids."""
    from wafpipe.cli.output import json_line
    from wafpipe.collector.state.store import State

    cfg = load(config)
    with State(cfg.data_dir) as state:
        for a in state.list_alerts(limit, include_acknowledged=acknowledged):
            typer.echo(json_line({"id": a.id, "created_at": a.created_at, "updated_at": a.updated_at,
                                  "acknowledged_at": a.acknowledged_at, **a.record}))  # fmt: skip


@alerts_app.command("ack")
def alerts_ack(
    ids: Annotated[list[int], typer.Argument(help="alert ids (from `wafpipe alerts list`)")],
    config: ConfigOpt = None,
) -> None:
    """Acknowledge alerts: they leave the list, and the next finding of the same rule and group opens
    a new alert."""
    from wafpipe.collector.state.store import State

    cfg = load(config)
    with State(cfg.data_dir) as state:
        done = state.acknowledge_alerts(ids)
    typer.echo(f"acknowledged {done} of {len(ids)} alert(s)")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
