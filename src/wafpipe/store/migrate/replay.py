"""One version-1 row decoded again by the core, through the entry dead-letter replay uses.

That entry is ``FileRun.replaying`` and ``replay``; :func:`wafpipe.decode.reader.decode_known_line`
builds a run for each line, here a run is kept per replay context (:class:`Runs`), 4x faster. The
events pass decodes every row through it, the survey a W3C file's first row (to check the columns
it chose).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

import orjson

from wafpipe import _native, clock
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.imperva.container import BodyLine
from wafpipe.store.migrate.version1 import File

RUNS_KEPT = 128


def _ingest_ms(doc: dict[str, Any], now_ms: int) -> int:
    """The ingest time of a row: the one version 1 stamped the event with when it had to (only such
    events show it), else now, as a read of the line now would stamp it."""
    if doc.get("imperva", {}).get("waf", {}).get("timestamp_source") != "ingest_time":
        return now_ms
    try:
        return int(datetime.fromisoformat(str(doc["@timestamp"]).replace("Z", "+00:00")).timestamp() * 1000)
    except (KeyError, ValueError):
        return now_ms


class Runs:
    """The core's runs by replay context, the most recent :data:`RUNS_KEPT` kept (a run holds its
    Arrow builders, ~120 KB): rows of one file mostly follow each other in a version-1 store."""

    def __init__(self) -> None:
        self._runs: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._now_ms = int(clock.now() * 1000)

    def get(self, f: File, doc: dict[str, Any], line: BodyLine) -> Any:
        ingest_ms = _ingest_ms(doc, self._now_ms)
        directives = orjson.dumps(doc["imperva"]["waf"]["file"].get("directives"))
        key = (f.fileno, directives, ingest_ms, line.full_length, line.full_hash)
        run = self._runs.get(key)
        if run is not None:
            self._runs.move_to_end(key)
            return run
        ctx = f.context(doc, ingest_ms)
        if line.full_length > 0:  # the cut of a long line is a fact of the run (ReplayCut)
            ctx |= {"full_length": line.full_length, "full_hash": line.full_hash}
        context = orjson.dumps(ctx).decode()
        run = self._runs[key] = _native.FileRun.replaying(context, user_agent=parse_user_agent)
        if len(self._runs) > RUNS_KEPT:
            self._runs.popitem(last=False)
        return run


def replay(runs: Runs, f: File, doc: dict[str, Any], line: BodyLine) -> tuple[bytes | None, str | None]:
    """(the version-2 document, None) of a row, or (None, why not)."""
    try:
        run = runs.get(f, doc, line)
        [(_rows, documents, _first, _next, problems)] = run.replay(
            ordinal=line.ordinal, line=line.line_no, offset=line.offset, raw=line.raw
        )
    except (ValueError, RuntimeError) as exc:
        return None, f"cannot decode again: {exc}"
    if problems:
        return None, f"{problems[0]['kind']}: {problems[0]['reason']}"
    if not documents:
        return None, "the line holds no event now (a W3C directive)"
    return documents[0], None
