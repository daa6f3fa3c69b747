"""``wafpipe archive``: the compliance archive (:mod:`wafpipe.sinks.archive`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, ConfigOpt, error, load

archive_app = typer.Typer(help="The archive sink: every event as Parquet, in a hash-chained manifest.")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise error(f"usage error: {option} {value!r}: a day such as 2026-11-01", EXIT_USAGE) from None


S3_HELP = "the archive's bucket (instead of --path); credentials from the standard AWS chain, or from -c"


@archive_app.command("verify")
def archive_verify(
    config: ConfigOpt = None,
    path: Annotated[Path | None, typer.Option(help="an archive directory (default: each archive sink's)")] = None,
    s3_bucket: Annotated[str | None, typer.Option("--s3-bucket", help=S3_HELP)] = None,
    s3_prefix: Annotated[str, typer.Option("--s3-prefix", help="the archive's prefix in --s3-bucket")] = "",
    s3_endpoint_url: Annotated[str | None, typer.Option("--s3-endpoint-url", help="an S3-compatible endpoint "
                                                        "(path-style addressing)")] = None,
    s3_region: Annotated[str | None, typer.Option("--s3-region", help="the bucket's region")] = None,
    since: Annotated[str | None, typer.Option("--from", help="first day whose objects are checked")] = None,
    until: Annotated[str | None, typer.Option("--to", help="last day whose objects are checked")] = None,
) -> None:
    """Check an archive against its manifest: every line chained to the one before, every object
    present with its SHA-256, nothing added, and (in an S3 bucket with Object Lock) every object
    locked as long as it was archived for. Names each broken link; exit 1 when there is one."""
    from wafpipe.errors import WafpipeError
    from wafpipe.sinks.archive import ArchiveSinkConfig, storage_of
    from wafpipe.sinks.archive.storage import LocalStorage, Storage
    from wafpipe.sinks.archive.verify import verify

    lo, hi = _day(since, "--from"), _day(until, "--to")
    if path is not None and s3_bucket is not None:
        raise error("usage error: give --path or --s3-bucket, not both", EXIT_USAGE)
    targets: list[Storage]
    if path is not None:
        targets = [LocalStorage(path)]
    elif s3_bucket is not None:
        targets = [_s3_target(config, s3_bucket, s3_prefix, s3_endpoint_url, s3_region)]
    else:
        targets = [storage_of(s) for s in load(config).sinks if isinstance(s, ArchiveSinkConfig)]
        if not targets:
            raise error("usage error: the configuration has no sink of type \"archive\"; give --path or --s3-bucket",
                        EXIT_USAGE)  # fmt: skip
    broken = 0
    for target in targets:
        where = target.where
        try:
            verdict = verify(target, lo, hi)
        except WafpipeError as exc:
            typer.echo(f"BROKEN  {where}: cannot be checked: {exc}")
            broken += 1
            continue
        for problem in verdict.broken:
            typer.echo(f"BROKEN  {where}: {problem}")
        state = "intact" if verdict.ok else f"{len(verdict.broken)} broken link(s)"
        left = (f"; {len(verdict.leftovers)} object(s) of an unacknowledged write, removed when the sink next opens"
                if verdict.leftovers else "")  # fmt: skip
        typer.echo(f"{where}: {state} — {verdict.lines} manifest line(s), {verdict.objects} object(s) checked, "
                   f"{verdict.rows} event(s); last hash {verdict.head}{left}")  # fmt: skip
        broken += len(verdict.broken)
    raise typer.Exit(EXIT_DATA if broken else EXIT_OK)


def _s3_target(config: Path | None, bucket: str, prefix: str, endpoint: str | None, region: str | None):  # type: ignore[no-untyped-def]
    """The bucket as a storage: with the connection keys of the configuration's archive sink on that
    bucket when ``-c`` names one, else the standard AWS chain (and the options given)."""
    from wafpipe.sinks.archive import ArchiveS3Config, ArchiveSinkConfig

    if config is not None:
        for sink in load(config).sinks:
            if isinstance(sink, ArchiveSinkConfig) and sink.s3 is not None and sink.s3.bucket == bucket:
                given = {"prefix": prefix, "endpoint_url": endpoint, "region": region}
                return _validated(ArchiveS3Config, {**sink.s3.model_dump(), **{k: v for k, v in given.items() if v}})
    return _validated(ArchiveS3Config, {"bucket": bucket, "prefix": prefix, "endpoint_url": endpoint, "region": region,
                                        "path_style": endpoint is not None, "object_lock": "if_available"})


def _validated(model, data: dict[str, object]):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from wafpipe.sinks.archive import S3Storage

    try:
        s3 = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise error(f"usage error: {problems}", EXIT_USAGE) from None
    return S3Storage(s3)


def register(app: typer.Typer) -> None:
    app.add_typer(archive_app, name="archive")
