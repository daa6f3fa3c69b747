"""One Batch to every sink, and what each said (DESIGN §1 "a sink takes a Batch and returns only
when it is durable"): the run's totals, the metrics, the file's tally and the dead letters of the
events a sink refused.

Everything here is per Batch and per sink, never per event: counts come from each sink's
:class:`~wafpipe.sinks.base.WriteResult`, and a refused event is a problem the sink already made.
The main process only appends (issue 20), so no column is read here and no document is touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wafpipe.collector.metrics import Metrics
from wafpipe.collector.report import FileTally, RunReport
from wafpipe.model import Batch
from wafpipe.sinks import Sink


def needs_documents(sinks: Iterable[Sink]) -> bool:
    """Whether the decode workers must render each event's JSON document: only when a configured
    sink reads :attr:`Batch.documents` (a cluster sink). Rendering and moving them is most of a
    Batch's bytes, so a collector whose sinks take the columns (DuckDB) asks for none."""
    return any(sink.needs_documents for sink in sinks)


def write_all(
    batch: Batch,
    sinks: list[Sink],
    primary: Sink,
    report: RunReport,
    metrics: Metrics,
    tally: FileTally,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Write ``batch`` (with events, or a file's final one) to every sink, each durable on return (or raising); returns the
    checkpoint's counts and the dead-letter records of what the sinks refused. ``primary`` is the
    sink whose counts the run report and the per-file line show."""
    dead: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for sink in sinks:
        result = sink.write(batch)
        totals = report.sinks[sink.name]
        totals.written += result.written
        totals.already += result.duplicates
        totals.spooled += result.spooled
        for name, n in (("written", result.written), ("duplicates", result.duplicates), ("spooled", result.spooled)):
            counts[f"{sink.name}_{name}"] = counts.get(f"{sink.name}_{name}", 0) + n
        metrics.stored.labels(sink.name).inc(result.written)
        metrics.duplicates.labels(sink.name).inc(result.duplicates)
        if result.rejected:  # only a sink that had documents refuses events one by one
            dead += [r.record() for r in result.rejected]
            tally.rejected_by(sink.name, result.rejected)
            for r in result.rejected:
                report.problems[r.kind] += 1
                metrics.errors.labels(r.kind).inc()
        if sink is primary:
            report.stored += result.written + result.spooled
            report.duplicates += result.duplicates
            tally.new += result.written + result.spooled
            tally.already += result.duplicates
    counts["events"] = len(batch)
    return counts, dead
