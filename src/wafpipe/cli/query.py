"""``wafpipe query``: search, count and rank events in the embedded store (DESIGN §4).

One interface, two places: the running collector's API when there is one (it owns the store),
else the store file opened read-only; both are a :class:`~wafpipe.store.service.Reader` and give
the same answers. Output: a table readable at 80 columns (chosen columns, long values cut with an
ellipsis — in the table only), or NDJSON / CSV streamed page by page, any size. NDJSON without
``--fields`` prints each whole document, rebuilt from the store's columns, as ``wafpipe parse``
printed it. Nothing from event data reaches the terminal as a control sequence
(:mod:`wafpipe.cli.output`).

``--histogram`` counts the matches per time bucket (``--interval``, else about a hundred buckets),
as a bar chart in the table format.

``--since``/``--until`` are passed on as typed: an ISO 8601 time, or a duration before now
(``15m``, ``24h``, ``7d``) that the read service resolves with the one clock, so the answer is the
same through the API and without it.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE, ConfigOpt, load, open_reader
from wafpipe.cli.output import cell, json_line, safe

FORMATS = ("table", "ndjson", "csv")
MAX_TABLE = 10_000  # rows a table may show: it is built in memory and read by a person
MAX_EXPORT = 10_000_000  # rows NDJSON/CSV may stream (paged; memory stays one page)
MAX_TOP = 1_000
PAGE = 1_000

# (field, heading): what fits 80 columns and answers "who did what to which page, and what happened"
DEFAULT_COLUMNS = (
    ("@timestamp", "time (UTC)"),
    ("source.ip", "source.ip"),
    ("http.request.method", "method"),
    ("http.response.status_code", "status"),
    ("imperva.waf.action_class", "action"),
    ("rule.category", "attack"),
    ("url.path", "path"),
)
_MAX_WIDTH = {"@timestamp": 19, "source.ip": 39, "http.request.method": 7, "http.response.status_code": 6,
              "imperva.waf.action_class": 10, "rule.category": 18}
_MIN_WIDTH = 6


def query(
    expr: Annotated[str, typer.Argument(help='KQL over ECS names, e.g. imperva.waf.security_event:true and http.response.status_code >= 400')] = "",
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(help=f"rows (table: 1–{MAX_TABLE}; ndjson/csv: 1–{MAX_EXPORT}; --top: 1–{MAX_TOP})")] = 20,
    fmt: Annotated[str, typer.Option("--format", help="table | ndjson | csv")] = "table",
    count: Annotated[bool, typer.Option("--count", help="print only the number of matches")] = False,
    since: Annotated[str | None, typer.Option(
        help="only events at or after this time: ISO 8601, or that long before now (15m, 24h, 7d)")] = None,
    until: Annotated[str | None, typer.Option(
        help="only events before this time: ISO 8601, or that long before now (15m, 24h, 7d)")] = None,
    fields: Annotated[str | None, typer.Option(help="comma-separated fields to show, e.g. source.ip,url.path")] = None,
    top: Annotated[str | None, typer.Option("--top", help="the most frequent values of this field")] = None,
    by: Annotated[str | None, typer.Option("--by", help="with --top: count pairs of the two fields' values")] = None,
    histogram: Annotated[bool, typer.Option("--histogram", help="matching events per time bucket")] = False,
    interval: Annotated[str | None, typer.Option(
        help="with --histogram: the bucket (30s, 5m, 1h, 1d); default about a hundred buckets")] = None,
) -> None:
    """Query the embedded store (through the running collector when there is one)."""
    from wafpipe.errors import QueryError, WafpipeError
    from wafpipe.store.runner import ReadLimitError
    from wafpipe.store.schema import OldStoreError

    if fmt not in FORMATS:
        _usage(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if by and not top:
        _usage("--by goes with --top: --top FIELD --by FIELD")
    if interval and not histogram:
        _usage("--interval goes with --histogram: --histogram --interval 1h")
    if sum((count, top is not None, histogram)) > 1:
        _usage("choose one of --count, --top and --histogram")
    hi = MAX_TOP if top else MAX_TABLE if fmt == "table" else MAX_EXPORT
    if not 1 <= limit <= hi:
        _usage(f"--limit must be from 1 to {hi}{' with --top' if top else f' for --format {fmt}'}, got {limit}")
    cfg = load(config)
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    try:
        with open_reader(cfg) as reader:
            if count:
                typer.echo(str(reader.count(expr, since=since, until=until)["count"]))
            elif top:
                rows = reader.top(top, expr, since=since, until=until, limit=limit, by=by)["values"]
                keys = ["value", "by", "count"] if by else ["value", "count"]
                header = [top, by, "count"] if by else [top, "count"]
                _print(fmt, header, [[r[k] for k in keys] for r in rows], raw=rows)
            elif histogram:
                res = reader.histogram(expr, since=since, until=until, interval=interval)
                _histogram(fmt, res["buckets"], res["interval_seconds"])
            else:
                _search(reader, fmt, expr, limit, since, until, chosen)
    except ReadLimitError as exc:
        typer.echo(f"query stopped: {safe(str(exc))}", err=True)
        raise typer.Exit(EXIT_DATA) from None
    except QueryError as exc:
        typer.echo(f"query error: {safe(str(exc))}", err=True)
        if exc.column:
            typer.echo(f"  {safe(expr)}\n  {' ' * (exc.column - 1)}^", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except OldStoreError as exc:  # a store to migrate first: nothing to do with the query
        typer.echo(f"error: {safe(str(exc))}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except WafpipeError as exc:
        typer.echo(f"error: {safe(str(exc))}", err=True)
        raise typer.Exit(EXIT_DATA) from None
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:  # `wafpipe query … | head`: the reader has all it wants
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    app.command()(query)


def _usage(message: str) -> None:
    typer.echo(f"usage error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _pages(reader: Any, expr: str, limit: int, since: str | None, until: str | None,
           fields: list[str] | None, page: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of events up to ``limit``, following ``next`` (keyset paging: any depth costs the same)."""
    after = None
    left = limit
    while left > 0:
        res = reader.search(expr, limit=min(left, page), since=since, until=until, fields=fields, after=after)
        events = res["events"][:left]
        if events:
            yield events
        left -= len(events)
        after = res.get("next")
        if not after or not events:
            return


def _search(reader: Any, fmt: str, expr: str, limit: int, since: str | None, until: str | None,
            fields: list[str] | None) -> None:
    if fmt == "ndjson":
        out = sys.stdout
        for events in _pages(reader, expr, limit, since, until, fields, PAGE):
            out.write("".join(json_line(e) + "\n" for e in events))
            out.flush()
        return
    columns = fields or [f for f, _ in DEFAULT_COLUMNS]
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([safe(c) for c in columns])
        for events in _pages(reader, expr, limit, since, until, columns, PAGE):
            writer.writerows([cell(e.get(c)) for c in columns] for e in events)
            sys.stdout.flush()
        return
    rows = [e for events in _pages(reader, expr, limit, since, until, columns, MAX_TABLE) for e in events]
    _table(columns, rows, default=fields is None)


def _print(fmt: str, header: list[Any], rows: list[list[Any]], raw: list[dict[str, Any]]) -> None:
    if fmt == "ndjson":
        for r in raw:
            sys.stdout.write(json_line(r) + "\n")
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([safe(h) for h in header])
        writer.writerows([cell(v) for v in row] for row in rows)
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in header[:-1]:
        table.add_column(Text(safe(str(name))), no_wrap=True, overflow="ellipsis")
    table.add_column(Text(header[-1]), justify="right", no_wrap=True)
    for *values, n in rows:
        table.add_row(*(Text(cell(v)) for v in values), Text(str(n)))  # Text: data, never markup
    Console(highlight=False).print(table)


def _histogram(fmt: str, buckets: list[dict[str, Any]], seconds: int) -> None:
    """Buckets as NDJSON/CSV rows, or for a person: the start of each bucket, its count and a bar."""
    if fmt != "table":
        _print(fmt, ["time", "count"], [[b["time"], b["count"]] for b in buckets], raw=buckets)
        return
    import shutil

    if not buckets:
        typer.echo("no matching events")
        return
    most = max(b["count"] for b in buckets) or 1
    digits = max(len("count"), len(str(most)))
    room = max(10, shutil.get_terminal_size().columns - 19 - digits - 4)  # time, count, two gaps
    typer.echo(f"{'time (UTC)':19}  {'count':>{digits}}  per {_span(seconds)}")
    for b in buckets:
        bar = "█" * (b["count"] * room // most) or ("▏" if b["count"] else "")
        typer.echo(f"{_shown('@timestamp', b['time']):19}  {b['count']:>{digits}}  {bar}".rstrip())


def _span(seconds: int) -> str:
    """``3600`` → ``1h``: an interval as the user would write it."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _table(columns: list[str], events: list[dict[str, Any]], *, default: bool) -> None:
    """A table for a person: headings short, time to the second, long values cut with "…"."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    headings = dict(DEFAULT_COLUMNS) if default else {}
    heads = [safe(headings.get(c, c)) for c in columns]
    cells = [[_shown(c, e.get(c)) for c in columns] for e in events]
    console = Console(highlight=False)
    widths = fit_widths(columns, heads, cells, console.width)
    # no box, one space between columns: at 80 columns every character is worth having
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold underline")
    for c, head, width in zip(columns, heads, widths, strict=True):
        table.add_column(Text(head), no_wrap=True, overflow="ellipsis", width=width,
                         justify="right" if c == "http.response.status_code" else "left")
    for row in cells:
        table.add_row(*(Text(v) for v in row))  # Text: data, never markup
    console.print(table)
    if not events:
        console.print(Text("no matching events"), style="dim")


def fit_widths(columns: list[str], heads: list[str], cells: list[list[str]], total: int) -> list[int]:
    """Column widths that fit ``total`` characters: each column as wide as its widest value (capped),
    then the widest shrinkable column loses a character until the row fits. Time, method and
    status never shrink: a cut time or status code is worse than a shorter path."""
    from rich.cells import cell_len

    widths = []
    for i, c in enumerate(columns):
        natural = max([cell_len(heads[i])] + [cell_len(r[i]) for r in cells])
        widths.append(min(natural, _MAX_WIDTH.get(c, 120)))
    avail = total - (len(columns) - 1)
    fixed = {"@timestamp", "http.request.method", "http.response.status_code"}
    while sum(widths) > avail:
        candidates = [i for i, c in enumerate(columns) if c not in fixed and widths[i] > _MIN_WIDTH]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _shown(column: str, value: Any) -> str:
    if column == "@timestamp" and isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        return value[:10] + " " + value[11:19]
    return cell(value)
