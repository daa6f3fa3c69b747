"""``wafpipe store``: upkeep of the embedded DuckDB store (DESIGN §4: ``store migrate|prune``).

Each command of the group is one function on :data:`store_app`, finding its store with
:func:`target` (``--store PATH``, else the ``duckdb`` sink of the configuration); a new command is
one more function beside :func:`migrate`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConfigOpt, error, load

store_app = typer.Typer(
    help="The embedded DuckDB store: migrate it to this version, delete what retention no longer keeps.",
    no_args_is_help=True,
)

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="the store file (default: the configuration's duckdb sink path)"),
]


def target(config: Path | None, store: Path | None) -> tuple[Path, Any]:
    """The store a command works on and the configuration (None when only ``--store`` was given)."""
    if store is not None and config is None:
        return store, None
    cfg = load(config)
    path = store or cfg.store_path
    if path is None:
        message = (
            "usage error: no duckdb sink is configured, so there is no embedded store; pass --store PATH"
        )
        raise error(message, EXIT_USAGE)
    return Path(path), cfg


@contextlib.contextmanager
def progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A ``(done, total)`` callback: a bar on a terminal, else a plain line at every tenth (DESIGN §4)."""
    if sys.stderr.isatty() and not os.environ.get("CI"):
        from rich.progress import Progress

        bar = Progress(transient=True)
        job = bar.add_task(what, total=None)
        with bar:
            yield lambda done, total: bar.update(job, completed=done, total=total)
        return
    shown = [-1]

    def line(done: int, total: int) -> None:
        tenth = done * 10 // total if total else 10
        if tenth > shown[0]:
            shown[0] = tenth
            typer.echo(f"{what}: {tenth * 10}% ({done} of {total})", err=True)

    yield line


@store_app.command("migrate")
def migrate(
    config: ConfigOpt = None,
    store: StoreOpt = None,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="version 1's state.sqlite (default: data_dir's, else beside the store)"),
    ] = None,
) -> None:
    """Convert a version 1 store to this version, keeping every event id. Stop the collector first;
    the old file is kept as <store>.v1.bak. Exit 0 when every event was migrated (or the store is
    already current), 1 when some could not be (listed in <store>.migrate-problems.ndjson), 2 when
    the store cannot be migrated as it is (missing, held by a collector, a backup in the way)."""
    from wafpipe.store.migrate import MigrateError
    from wafpipe.store.migrate import migrate as run_migration

    path, cfg = target(config, store)
    if state is None:
        state = cfg.state_path if cfg is not None else path.parent / "state.sqlite"
    try:
        with progress("migrating events") as step:
            report = run_migration(path, state=state, progress=step)
    except MigrateError as exc:
        raise error(f"error: {exc}", EXIT_USAGE) from None
    except KeyboardInterrupt:
        raise error(f"interrupted: {path} is unchanged; run the command again", EXIT_INTERRUPTED) from None
    for line in report.lines():
        typer.echo(line, err=True)
    raise typer.Exit(EXIT_DATA if report.problems else EXIT_OK)


@store_app.command("prune")
def prune(
    config: ConfigOpt = None,
    store: StoreOpt = None,
    security_days: Annotated[
        int | None,
        typer.Option(
            "--security-days",
            min=1,
            help="days of security events to keep (default: the configuration's retention_days)",
        ),
    ] = None,
    access_days: Annotated[
        int | None,
        typer.Option(
            "--access-days",
            min=1,
            help="days of access events to keep (default: the configuration's retention_days)",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be deleted, delete nothing")
    ] = False,
    show_history: Annotated[
        bool, typer.Option("--history", help="list the recorded deletions instead, newest first")
    ] = False,
) -> None:
    """Delete the events older than the retention allows, now (a running collector does this itself
    every hour). Each dataset's deletion is recorded in the store's prunes table in the same
    transaction; --history lists them. Exit 2 when no retention is set or the store is held by a
    running collector."""
    from wafpipe.clock import utcnow
    from wafpipe.errors import SinkError
    from wafpipe.sinks.duckdb import DuckDBSink
    from wafpipe.store.retention import Retention, expired, history

    path, cfg = target(config, store)
    sink_cfg = cfg.store_sink if cfg is not None else None
    configured = Retention.of(sink_cfg.retention_days if sink_cfg is not None else None)
    retention = Retention(
        security=security_days if security_days is not None else configured.security,
        access=access_days if access_days is not None else configured.access,
        namespaces=configured.namespaces,
    )
    if not retention and not show_history:
        message = (
            "usage error: no retention is set, so nothing is old enough to delete; set retention_days in the "
            "duckdb sink's table, or pass --security-days/--access-days"
        )
        raise error(message, EXIT_USAGE)
    read_only = dry_run or show_history
    routing = sink_cfg.routing() if sink_cfg is not None else None
    sink = DuckDBSink(path, retention=retention, read_only=read_only, routing=routing)
    try:
        sink.open()
        if show_history:
            for row in history(sink.cursor()):
                of = f" of namespace {row['namespace']}" if row["namespace"] else ""
                typer.echo(
                    f"{row['pruned_at']:%Y-%m-%dT%H:%M:%SZ}  {row['dataset']:8}  {row['deleted']:>10} events{of} "
                    f"before {row['cutoff']:%Y-%m-%dT%H:%M:%SZ}  ({row['reason']})"
                )
            return
        done = (
            expired(sink.cursor(), retention, utcnow(), routing)
            if dry_run
            else sink.prune(reason="wafpipe store prune")
        )
    except SinkError as exc:
        hint = exc.hint
        if "holds the store" in hint:
            hint = "a running collector holds the store and applies retention itself every hour; stop it to prune now"
        raise error(f"error: {exc.args[0]}" + (f"\nhint: {hint}" if hint else ""), EXIT_USAGE) from None
    finally:
        sink.close()
    verb = "would delete" if dry_run else "deleted"
    if retention.namespaces:
        typer.echo(f"retention: {retention.describe()}")
    for pruned in done:
        which = f" (namespace {pruned.namespace})" if pruned.namespace else " (other namespaces)" if retention.namespaces else ""
        typer.echo(
            f"{pruned.dataset}{which}: {verb} {pruned.deleted} events before {pruned.cutoff:%Y-%m-%dT%H:%M:%SZ}"
        )
    kept = [name for name in ("security", "access") if getattr(retention, name) is None]
    for name in kept:
        typer.echo(f"{name}: kept forever (no retention set)")


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
