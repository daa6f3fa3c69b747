"""The ``wafpipe`` command: one Typer app; each command group lives in its own module beside this
one and registers itself here. Thin on purpose: parse flags, call the library, map outcomes to the
exit codes of DESIGN §4 (:mod:`.common`).

Tracebacks never show local variables (Typer's default would print them, and a local may hold a
password or an event); an error we expect is a one-line message with its exit code instead.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Imperva Cloud WAF logs → ECS.",
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from wafpipe import __version__, _native

        typer.echo(f"wafpipe {__version__} (core: {_native.CORE_BUILD})")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Imperva Cloud WAF logs → ECS."""


def main() -> None:
    app()


def _register() -> None:
    from wafpipe.cli import (
        alerts,
        archive,
        deadletters,
        demo,
        detect,
        doctor,
        elastic,
        generate,
        parse,
        query,
        report,
        run,
        serve,
        store,
        validate,
    )

    for module in (generate, parse, demo, run, serve, query, detect, alerts, validate, doctor, elastic, deadletters, store,
                   archive, report):
        module.register(app)


_register()

if __name__ == "__main__":
    main()
