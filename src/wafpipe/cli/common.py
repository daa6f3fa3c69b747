"""What every command shares: exit codes (DESIGN §4), ``-c/--config``, loading it, logging."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SPOOLED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

ConfigOpt = Annotated[Path | None, typer.Option("-c", "--config", help="TOML config (default ./wafpipe.toml)")]


def load(config: Path | None):  # type: ignore[no-untyped-def]
    from wafpipe.config.root import load_config
    from wafpipe.errors import ConfigError

    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def setup_logging(cfg) -> None:  # type: ignore[no-untyped-def]
    from wafpipe.collector.logs import setup_logging

    setup_logging(cfg.logging.format, cfg.logging.level)


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
