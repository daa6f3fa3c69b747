"""``wafpipe report compliance``: what an auditor asks of a log pipeline over a period (PCI DSS
10.x, SOC 2 CC7, HIPAA 164.312(b)), every number read from the collector's state, the store and the
configuration — never estimated (issue 25 item 4).

* :mod:`.collect` gathers the facts into one dict (coverage and gaps, delays, security events,
  alerts, and what is missing); :mod:`.sections` the parts read from the configuration and the
  sinks' own records (retention, archive, redaction, the requirement table);
* :mod:`.render` writes it as JSON (the dict), Markdown or one self-contained HTML file
  (:mod:`.charts` draws its SVG);
* :func:`sources` opens what the report reads, read-only, and says why a part is unavailable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wafpipe.collector.state import State
from wafpipe.errors import WafpipeError
from wafpipe.store.client import find_running
from wafpipe.store.connection import ReadOnlyStore
from wafpipe.store.retention import history
from wafpipe.store.service import ReadService
from wafpipe.tools.report.collect import build
from wafpipe.tools.report.period import Period
from wafpipe.tools.report.render import FORMATS, render

__all__ = ["FORMATS", "Period", "Sources", "build", "render", "sources"]

MAX_PRUNES = 100_000


@dataclass
class Sources:
    """What a report reads: the state (None: nothing collected yet), the read side (None: no store,
    ``why`` says why) and the store's deletion history (None: a running collector holds the store)."""

    state: Any | None = None
    reader: Any | None = None
    prunes: Callable[[], list[dict[str, Any]]] | None = None
    why: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def sources(cfg: Any) -> Iterator[Sources]:
    """Open the state and the store for reading. A running collector is asked through its API
    (DESIGN §2 "one writer": the store is its own then), which has no deletion history to give;
    otherwise the store is opened read-only, like ``wafpipe query`` does."""
    found = Sources()
    with contextlib.ExitStack() as stack:
        if cfg.state_path.exists():
            found.state = stack.enter_context(State(cfg.data_dir))
        client = find_running(cfg.data_dir)
        if client is not None:
            found.reader = stack.enter_context(client)
        elif cfg.store_path is None:
            found.why["security"] = "no duckdb sink is configured, so there is no embedded store to read"
        else:
            try:
                sink = cfg.store_sink
                store = stack.enter_context(ReadOnlyStore(cfg.store_path, threads=sink.threads if sink else None))
            except WafpipeError as exc:
                found.why["security"] = f"the store could not be opened: {exc}"
            else:
                service = ReadService(store.cursor)
                stack.callback(service.close)
                found.reader = service
                found.prunes = lambda: history(store.cursor(), limit=MAX_PRUNES)
        yield found
