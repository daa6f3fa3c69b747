"""``wafpipe generate``: realistic Imperva files (and key pairs) for tests and demos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_OK, parse_iso


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
    """Write realistic Imperva log files (CEF, LEEF or W3C, with the quirks real Imperva files have)."""
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
        start=parse_iso(start, "--start"),
        end=parse_iso(end, "--end"),
        seed=seed,
        bad_input=bad_input,
    )


def register(app: typer.Typer) -> None:
    app.command()(generate)
