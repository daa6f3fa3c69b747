"""``wafpipe validate``: the integration guide's validation steps, run (:mod:`wafpipe.tools.validate`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from wafpipe.cli.common import EXIT_USAGE, ConfigOpt, error, load, open_reader
from wafpipe.cli.output import print_checks


def validate(
    config: ConfigOpt = None,
    window: Annotated[str, typer.Option(help="how far back events count: 15m, 1h, 2d…")] = "1h",
    expect_test_event: Annotated[bool, typer.Option(
        "--expect-test-event", help="also look for the guide's test request ?id=' OR 1=1 and check it was blocked")] = False,
    wait: Annotated[float, typer.Option(help="seconds to wait for the test request to arrive")] = 0.0,
) -> None:
    """Check that logs arrive, the collector is healthy, events are searchable with their key
    fields, and (--expect-test-event) that the guide's test request was blocked. Prints a table
    with the evidence of each check. Exit 0 when every check passes, 1 when one fails."""
    from wafpipe.errors import QueryError, WafpipeError
    from wafpipe.store.params import interval_seconds
    from wafpipe.tools.checks import Check
    from wafpipe.tools.validate import validate as run_checks

    cfg = load(config)
    try:
        span = timedelta(seconds=interval_seconds(window) or 3600)
    except QueryError as exc:
        raise error(f"usage error: --window: {exc}", EXIT_USAGE) from None
    try:
        with open_reader(cfg, with_state=True) as reader:
            checks = run_checks(reader, window=span, expect_test_event=expect_test_event, wait_s=max(0.0, wait))
    except WafpipeError as exc:
        checks = [Check("store", False, str(exc), exc.hint or "run `wafpipe run` (or serve) first")]
    raise typer.Exit(print_checks(checks, title="wafpipe validate", headings=("check", "result", "evidence",
                                  "what to do"), words=("pass", "FAIL")))  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(validate)
