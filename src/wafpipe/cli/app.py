"""The ``wafpipe`` command: one Typer app; each command group lives in its own module beside this
one and registers itself here. Thin on purpose: parse flags, call the library, map outcomes to the
exit codes of DESIGN §4 (:mod:`.common`)."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Imperva Cloud WAF logs → ECS.")


def main() -> None:
    app()


def _register() -> None:
    from wafpipe.cli import deadletters, demo, elastic, generate, parse, query, run

    for module in (generate, parse, demo, run, query, elastic, deadletters):
        module.register(app)


_register()

if __name__ == "__main__":
    main()
