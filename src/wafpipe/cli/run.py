"""``wafpipe run``: the collector.

Exit codes (DESIGN §4): 0 ok; 1 data problems (quarantined, dead-lettered, unreadable input, an
empty file) or a sink that cannot make data durable; 2 configuration or usage error, including a
source path that does not exist with ``--once``; 3 events still spooled undelivered at the end of
``--once``; 130 interrupted (Ctrl-C) before the work was done. No traceback on Ctrl-C, whenever it
comes.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE, ConfigOpt, load, setup_logging


def run(
    config: ConfigOpt = None,
    once: Annotated[bool, typer.Option("--once", help="ingest what is there now, drain, exit")] = False,
    workers: Annotated[int | None, typer.Option(help="decode worker processes (0 = in-process)")] = None,
) -> None:
    """The collector: watch the sources, decode, store exactly once."""
    try:
        collect(config, once=once, workers=workers)
    except KeyboardInterrupt:  # Ctrl-C before the collector took over the signal
        typer.echo("interrupted before the collector started; nothing was read", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def collect(config: ConfigOpt, *, once: bool, workers: int | None, host: str | None = None,
            port: int | None = None, on_ui: Callable[[str], None] | None = None) -> None:
    """Run the collector as ``run`` does (``serve`` adds ``on_ui``, and may choose the address)."""
    from pydantic import ValidationError

    from wafpipe.collector.logs import escape
    from wafpipe.errors import ConfigError, WafpipeError

    cfg = load(config)
    if host is not None or port is not None:  # validated again: another host brings its own rules
        try:
            cfg.api = type(cfg.api).model_validate({**cfg.api.model_dump(), **({"host": host} if host else {}),
                                                    **({"port": port} if port is not None else {})})
        except ValidationError as exc:
            problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            typer.echo(f"configuration error: --host/--port: {escape(problems)}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
    setup_logging(cfg)
    # A backlog's first worker starts now, before the collector's own modules load (~0.3 s): it is
    # ready by the time the first file is handed to it.
    from wafpipe.collector.workers import DecodePool

    pool = DecodePool.configured(cfg.pipeline, workers)
    try:
        if once:
            pool.prestart(1)
        from wafpipe.collector.pipeline import Collector
        from wafpipe.store.schema import OldStoreError

        collector = Collector(cfg, on_ui=on_ui, pool=pool)
    except ConfigError as exc:
        pool.close()
        typer.echo(f"configuration error: {escape(exc)}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except BaseException:
        pool.close()
        raise
    try:
        report = collector.run(once=once)
    except ConfigError as exc:  # e.g. the API port is taken
        typer.echo(f"configuration error: {escape(exc)}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except OldStoreError as exc:  # nothing was read: the store needs `wafpipe store migrate` first
        typer.echo(f"error: {escape(exc)}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except WafpipeError as exc:  # a sink that cannot make data durable (disk full, …): stop cleanly
        typer.echo(f"error: {escape(exc)}", err=True)
        raise typer.Exit(EXIT_DATA) from None
    finally:
        # From here on a Ctrl-C has nothing left to stop: ignore it rather than print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if report.usage_error:
        typer.echo(f"error: {escape(report.usage_error)} (check the source's path in {cfg_name(config)})", err=True)
        raise typer.Exit(report.exit_code)
    if report.interrupted:
        typer.echo(report.interruption(), err=True)
    elif report.files_left:  # a spool stayed full: files were left for the next run
        typer.echo(f"stopped with {report.files_left} file(s) left: a sink's spool stayed full; run again "
                   "when the cluster takes data", err=True)
    typer.echo(report.summary(), err=True)
    raise typer.Exit(report.exit_code)


def cfg_name(config: ConfigOpt) -> str:
    return str(config) if config is not None else "wafpipe.toml"


def register(app: typer.Typer) -> None:
    app.command()(run)
