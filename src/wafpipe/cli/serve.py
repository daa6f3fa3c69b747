"""``wafpipe serve``: the collector plus the web UI, in the one process that owns the store.

It prints a one-time login URL once the UI listens (to the terminal, never to the log: it is a
credential). Exit codes are ``run``'s.
"""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_INTERRUPTED, ConfigOpt
from wafpipe.cli.run import collect


def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (default: [api] host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port of the UI and API (default: [api] port, 8080)")] = None,
    workers: Annotated[int | None, typer.Option(help="decode worker processes (0 = in-process)")] = None,
) -> None:
    """The collector and its web UI on http://127.0.0.1:<port>/ (a one-time login link is printed)."""

    def announce(url: str) -> None:
        typer.echo(f"wafpipe UI: open {url}  (a one-time login link; the token in <data_dir>/api.token also "
                   "logs in)", err=True)

    try:
        collect(config, once=False, workers=workers, host=host, port=port, on_ui=announce)
    except KeyboardInterrupt:
        typer.echo("interrupted before the collector started; nothing was read", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
