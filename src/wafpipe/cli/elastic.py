"""``wafpipe elastic``: Elasticsearch / OpenSearch / Kibana assets."""

from __future__ import annotations

from typing import Annotated

import typer

from wafpipe.cli.common import ConfigOpt, load

elastic_app = typer.Typer(help="Elasticsearch / OpenSearch / Kibana assets.")


@elastic_app.command("setup")
def elastic_setup(
    config: ConfigOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print every request, send none")] = False,
) -> None:
    """Install templates, ILM/ISM policies and Kibana objects for every cluster sink (idempotent)."""
    import sys

    from wafpipe.sinks.elasticsearch.setup import run_setup

    cfg = load(config)
    raise typer.Exit(run_setup(cfg, dry_run=dry_run, out=sys.stdout))


def register(app: typer.Typer) -> None:
    app.add_typer(elastic_app, name="elastic")
