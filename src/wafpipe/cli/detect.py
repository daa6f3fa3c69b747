"""``wafpipe detect``: run the Sigma rules over the stored events of a time range and print what
they find (:mod:`wafpipe.detect`). Through the running collector's API when there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_OK, EXIT_USAGE, ConfigOpt, error, load, open_reader
from wafpipe.cli.output import json_line


def detect(
    config: ConfigOpt = None,
    since: Annotated[str, typer.Option(help="start: ISO 8601 or a duration before now (24h, 7d)")] = "24h",
    until: Annotated[str | None, typer.Option(help="end (default now)")] = None,
    rules: Annotated[list[Path] | None, typer.Option(
        "--rules", help="a Sigma rule file or directory, besides [detect] rules_dir (repeatable)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or ndjson")] = "table",
    list_rules: Annotated[bool, typer.Option("--list", help="list the loaded rules and stop")] = False,
) -> None:
    """Run the shipped Sigma rules and yours (``[detect] rules_dir``, ``--rules``) over the events of
    a time range. A rule that cannot run as written is refused with its file, title and the
    construct (exit 2)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from wafpipe.detect import SHIPPED_RULES, Correlation, UnsupportedRule, load_paths
    from wafpipe.detect.engine import alerting, evaluate
    from wafpipe.errors import QueryError, WafpipeError

    if fmt not in ("table", "ndjson"):
        raise error(f"usage error: --format is table or ndjson, not {fmt!r}", EXIT_USAGE)
    cfg = load(config)
    paths = ([SHIPPED_RULES] if cfg.detect.shipped_rules else []) + (
        [cfg.detect.rules_dir] if cfg.detect.rules_dir is not None else []) + list(rules or [])
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise error(f"error: no rule file or directory at {missing[0]}", EXIT_USAGE)
    try:
        detections = load_paths(paths)
    except UnsupportedRule as exc:
        raise error(f"error: {exc}", EXIT_USAGE) from None
    console = Console(highlight=False, soft_wrap=True)
    if list_rules:
        for d in alerting(detections):
            kind = d.kind if isinstance(d, Correlation) else "rule"
            console.print(Text(f"{d.level:13} {kind:16} {d.title}  ({d.source})"))
        raise typer.Exit(EXIT_OK)
    try:
        with open_reader(cfg) as reader:
            findings = evaluate(reader, detections, since=since, until=until)
    except QueryError as exc:
        raise error(f"usage error: {exc}", EXIT_USAGE) from None
    except WafpipeError as exc:
        raise error(f"error: {exc}", 1) from None
    if fmt == "ndjson":
        for f in findings:
            typer.echo(json_line(f.record()))
        raise typer.Exit(EXIT_OK)
    table = Table(title=f"{len(findings)} finding(s) of {len(alerting(detections))} rules")
    for column in ("level", "rule", "group", "first", "last", "events", "an event id"):
        table.add_column(column, overflow="fold")
    for f in findings:  # every cell is data, never markup
        group = ", ".join(f"{k}={v}" for k, v in f.group.items())
        table.add_row(Text(f.rule.level), Text(f.rule.title), Text(group), Text(f.first), Text(f.last),
                      Text(str(f.count)), Text(f.ids[0] if f.ids else ""))  # fmt: skip
    console.print(table)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command()(detect)
