"""Command line. Thin on purpose: parse flags, call the library, map outcomes to exit codes
(0 ok, 1 data problems, 2 usage/configuration errors — DESIGN §4)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Imperva Cloud WAF logs → ECS.")

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SPOOLED = 0, 1, 2, 3


def _parse_iso(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{flag} must be ISO 8601, e.g. 2024-06-10T06:00:00Z") from None
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="directory to write files into")] = Path("samples"),
    events: Annotated[int, typer.Option(help="events in total, spread over --files")] = 1000,
    files: Annotated[int, typer.Option(help="number of files")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="cef | leef | w3c")] = "cef",
    compression: Annotated[str, typer.Option(help="zlib | gzip | none (the body)")] = "zlib",
    gzip_file: Annotated[bool, typer.Option("--gzip-file", help="wrap the whole file in gzip (.log.gz)")] = False,
    encrypt: Annotated[Path | None, typer.Option("--encrypt", help="public key PEM to encrypt with")] = None,
    public_key_id: Annotated[str, typer.Option("--public-key-id", help="publicKeyId for the header")] = "1",
    keygen: Annotated[Path | None, typer.Option("--keygen", help="write a key pair into DIR and exit")] = None,
    attack_ratio: Annotated[float, typer.Option(help="share of security events, 0..1")] = 0.2,
    start: Annotated[str | None, typer.Option(help="ISO time of the first event")] = None,
    end: Annotated[str | None, typer.Option(help="ISO time of the last event")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    bad_input: Annotated[bool, typer.Option("--bad-input", help="also write broken input")] = False,
) -> None:
    """Write realistic Imperva log files (every legal quirk of FORMATS.md)."""
    from wafpipe.tools import generate as gen

    if keygen is not None:
        try:
            pub = gen.keygen(keygen, public_key_id)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(f"key pair {public_key_id} written; public key: {pub}")
        raise typer.Exit(EXIT_OK)
    if fmt not in ("cef", "leef", "w3c"):
        raise typer.BadParameter("--format must be cef, leef or w3c")
    if compression not in ("zlib", "gzip", "none"):
        raise typer.BadParameter("--compression must be zlib, gzip or none")
    try:
        paths = _generate(gen, out, events, files, fmt, compression, gzip_file, encrypt, public_key_id,
                          attack_ratio, start, end, seed, bad_input)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"wrote {len(paths)} file(s) to {out}")


def _generate(gen, out, events, files, fmt, compression, gzip_file, encrypt, public_key_id,  # type: ignore[no-untyped-def]
              attack_ratio, start, end, seed, bad_input):
    return gen.generate_files(
        out,
        events=events,
        files=files,
        fmt=fmt,
        compression=compression,
        gzip_file=gzip_file,
        encrypt=encrypt,
        public_key_id=public_key_id,
        attack_ratio=attack_ratio,
        start=_parse_iso(start, "--start"),
        end=_parse_iso(end, "--end"),
        seed=seed,
        bad_input=bad_input,
    )


@app.command()
def parse(
    files: Annotated[list[Path], typer.Argument(help="Imperva log files (.log, .log.gz, any compression)")],
    fmt: Annotated[str, typer.Option("--format", help="auto | cef | leef | w3c")] = "auto",
    keys: Annotated[Path | None, typer.Option("--keys", help="keys directory for encrypted files")] = None,
    dead_letter: Annotated[
        Path | None, typer.Option("--dead-letter", help="append failing raw lines with reasons (NDJSON)")
    ] = None,
    summary: Annotated[bool, typer.Option("--summary", help="print a summary to stderr at the end")] = False,
    max_line_bytes: Annotated[int, typer.Option(help="longer lines are decoded from their head")] = 1 << 20,
) -> None:
    """Decode files to ECS NDJSON on stdout; problems go to stderr. Exit 0 only when every line of
    every file decoded and every checksum verified."""
    from wafpipe.tools.parse import parse_files

    if fmt not in ("auto", "cef", "leef", "w3c"):
        raise typer.BadParameter("--format must be auto, cef, leef or w3c")
    code = parse_files(
        files, fmt=fmt, keys_dir=keys, dead_letter=dead_letter, summary=summary, max_line_bytes=max_line_bytes
    )
    raise typer.Exit(code)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo data set lives")] = Path("demo"),
) -> None:
    """Generate the demo data set once (skipped when present), ingest it and print a summary."""
    from wafpipe.tools.demo import run_demo

    raise typer.Exit(run_demo(directory))


ConfigOpt = Annotated[Path | None, typer.Option("-c", "--config", help="TOML config (default ./wafpipe.toml)")]


def _load(config: Path | None):  # type: ignore[no-untyped-def]
    from wafpipe.config.root import load_config
    from wafpipe.errors import ConfigError

    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _setup_logging(cfg) -> None:  # type: ignore[no-untyped-def]
    from wafpipe.cli.logs import setup_logging

    setup_logging(cfg.logging.format, cfg.logging.level)


@app.command()
def run(
    config: ConfigOpt = None,
    once: Annotated[bool, typer.Option("--once", help="ingest what is there now, drain, exit")] = False,
    workers: Annotated[int | None, typer.Option(help="decode worker processes (0 = in-process)")] = None,
) -> None:
    """The collector: watch the sources, decode, store exactly once."""
    from wafpipe.collector.pipeline import Collector
    from wafpipe.errors import ConfigError, WafpipeError

    cfg = _load(config)
    _setup_logging(cfg)
    try:
        collector = Collector(cfg, workers=workers)
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        report = collector.run(once=once)
    except WafpipeError as exc:  # a sink that cannot make data durable (disk full, …): stop cleanly
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DATA) from None
    typer.echo(
        f"files done {report.files_done}, failed {report.files_failed}, quarantined {report.files_quarantined}; "
        f"events {report.events}, stored {report.stored}, duplicates {report.duplicates}"
        + (f"; problems {dict(report.problems)}" if report.problems else ""),
        err=True,
    )
    raise typer.Exit(report.exit_code)


@app.command()
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

    cfg = _load(config)
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
    from wafpipe.store.service import print_events

    print_events(result["events"], fmt)


elastic_app = typer.Typer(help="Elasticsearch / OpenSearch / Kibana assets.")
app.add_typer(elastic_app, name="elastic")


@elastic_app.command("setup")
def elastic_setup(
    config: ConfigOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print every request, send none")] = False,
) -> None:
    """Install templates, ILM/ISM policies and Kibana objects for every cluster sink (idempotent)."""
    import sys

    from wafpipe.sinks.elasticsearch.setup import run_setup

    cfg = _load(config)
    raise typer.Exit(run_setup(cfg, dry_run=dry_run, out=sys.stdout))


deadletters_app = typer.Typer(help="Dead-letter records: lines and events that could not be stored.")
app.add_typer(deadletters_app, name="deadletters")


@deadletters_app.command("list")
def deadletters_list(
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option()] = 50,
    kind: Annotated[str | None, typer.Option(help="decode, cut_line, sink_rejected…")] = None,
) -> None:
    """Show dead-letter records (newest first) as NDJSON."""
    import orjson

    from wafpipe.collector.state.store import State

    cfg = _load(config)
    with State(cfg.data_dir) as state:
        for rec in state.list_dead_letters(limit=limit, kind=kind):
            typer.echo(orjson.dumps({"id": rec.id, "created_at": rec.created_at, **rec.record}).decode())


@deadletters_app.command("replay")
def deadletters_replay(
    config: ConfigOpt = None,
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
) -> None:
    """Decode dead-lettered lines again (after a fix) and store those that now decode."""
    from wafpipe.store.service import replay_dead_letters

    cfg = _load(config)
    replayed, still_bad = replay_dead_letters(cfg, kind)
    typer.echo(f"replayed {replayed}, still failing {still_bad}")
    raise typer.Exit(EXIT_OK if still_bad == 0 else EXIT_DATA)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
