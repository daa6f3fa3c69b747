"""``wafpipe demo``: what ``make run`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo data set lives")] = Path("demo"),
) -> None:
    """Generate the demo data set once (skipped when present), ingest it and print a summary."""
    from wafpipe.config.files import private_umask
    from wafpipe.tools.demo import run_demo

    private_umask()  # its data directory is private like any other (files 0600, directories 0700)
    raise typer.Exit(run_demo(directory))


def register(app: typer.Typer) -> None:
    app.command()(demo)
