"""``wafpipe query``: search the embedded store."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from wafpipe.cli.common import EXIT_DATA, EXIT_USAGE, ConfigOpt, load


def query(
    expr: Annotated[str, typer.Argument(help='KQL-style, e.g. imperva.waf.security_event:true')] = "",
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(help="rows to show")] = 20,
    fmt: Annotated[str, typer.Option("--format", help="table | ndjson")] = "table",
    count: Annotated[bool, typer.Option("--count", help="print only the number of matches")] = False,
) -> None:
    """Query the embedded store (through the running collector when there is one)."""
    from wafpipe.errors import QueryError, WafpipeError
    from wafpipe.store.service import run_query

    cfg = load(config)
    try:
        result = run_query(cfg, expr, limit=limit, count=count)
    except QueryError as exc:
        typer.echo(f"query error: {exc}", err=True)
        if exc.column:
            typer.echo(f"  {expr}\n  {' ' * (exc.column - 1)}^", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except WafpipeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DATA) from None
    if count:
        typer.echo(str(result["count"]))
        return
    print_events(result["events"], fmt)


def register(app: typer.Typer) -> None:
    app.command()(query)


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for p in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


COLUMNS = (
    "@timestamp",
    "event.kind",
    "source.ip",
    "http.request.method",
    "url.domain",
    "url.path",
    "http.response.status_code",
    "imperva.waf.action",
    "imperva.waf.attack_type",
)


def print_events(events: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "ndjson":
        out = sys.stdout.buffer
        for e in events:
            out.write(orjson.dumps(e) + b"\n")
        out.flush()
        return
    table = Table(show_lines=False)
    for c in COLUMNS:
        table.add_column(c, overflow="fold")
    for e in events:
        # Text(), never markup: attack payloads such as "[script]" are data, not formatting.
        table.add_row(*(Text("" if _get(e, c) is None else str(_get(e, c))) for c in COLUMNS))
    Console(highlight=False).print(table)


