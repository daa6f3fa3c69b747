"""What every command shares: exit codes (DESIGN §4), ``-c/--config``, loading it, logging.

Commands that read the configuration are the ones that own the data directory (``run``,
``deadletters``, ``query``, ``elastic setup``), so :func:`load` is also where the process becomes
private: ``umask 077`` before anything is created there (its files 0600, its directories 0700,
including files that SQLite and DuckDB create later), and a warning for a private key or a
configuration file that group or others can read. Every message printed here, and every log line,
goes through :func:`wafpipe.errors.redact`: a password written into a URL is never echoed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from wafpipe.errors import redact

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SPOOLED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

ConfigOpt = Annotated[Path | None, typer.Option("-c", "--config", help="TOML config (default ./wafpipe.toml)")]


def error(message: str, code: int) -> typer.Exit:
    """Print ``message`` (redacted) to stderr and return the Exit to raise: ``raise error(…)``."""
    typer.echo(redact(message), err=True)
    return typer.Exit(code)


def load(config: Path | None):  # type: ignore[no-untyped-def]
    from wafpipe.config.files import permission_warnings, private_umask
    from wafpipe.config.root import load_config
    from wafpipe.errors import ConfigError

    private_umask()
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        raise error(f"configuration error: {exc}", EXIT_USAGE) from None
    except ValueError as exc:  # a value pydantic could not even validate: never a traceback
        raise error(f"configuration error: {exc}", EXIT_USAGE) from None
    for warning in permission_warnings(config_file=cfg.file, keys_dir=cfg.keys.dir, data_dir=cfg.data_dir):
        typer.echo(redact(f"warning: {warning}"), err=True)
    return cfg


class RedactingFormatter(logging.Formatter):
    """Wraps the handler's formatter: every formatted line (message, arguments, traceback, in text
    or JSON) leaves with URL credentials removed."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def setup_logging(cfg) -> None:  # type: ignore[no-untyped-def]
    from wafpipe.collector.logs import setup_logging

    setup_logging(cfg.logging.format, cfg.logging.level)
    for handler in logging.getLogger("wafpipe").handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))


def parse_iso(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{flag} must be ISO 8601, e.g. 2024-06-10T06:00:00Z") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


@contextlib.contextmanager
def open_reader(cfg: Any, *, with_state: bool = False) -> Iterator[Any]:
    """The read side: the running collector's API, else the store opened read-only (DESIGN §2 "one
    writer") — with the collector's state beside it when asked and there is one (files, dead
    letters and health need it)."""
    from wafpipe.collector.state import State
    from wafpipe.errors import WafpipeError
    from wafpipe.store.client import find_running
    from wafpipe.store.connection import ReadOnlyStore
    from wafpipe.store.service import ReadService

    client = find_running(cfg.data_dir)
    if client is not None:
        with client:
            yield client
        return
    if cfg.store_path is None:
        raise WafpipeError("no duckdb sink is configured, so there is no embedded store to read")
    sink = cfg.store_sink
    state = State(cfg.data_dir) if with_state and (Path(cfg.data_dir) / "state.sqlite").exists() else None
    try:
        with ReadOnlyStore(cfg.store_path, threads=sink.threads if sink else None) as store:
            service = ReadService(store.cursor, state=state)
            try:
                yield service
            finally:
                service.close()
    finally:
        if state is not None:
            state.close()
