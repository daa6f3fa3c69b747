"""What the collector says about itself: the start-up line, and the outstanding problems that make
``health()`` say ``degraded`` (DESIGN §4; issue 18: "``/health`` says ok with problems
outstanding").

A problem is listed while it lasts, each with its reason, however many files were stored fine
since: a full spool holding the collector back, a cluster sink failing with events undelivered,
files waiting for a private key, a source's unreadable file or directory, failed and quarantined
files, dead letters not replayed, possible gaps. Components are read through the attributes they
offer (``pending_bytes``, ``stats``, ``problems``…), never their private layout.

While a collector runs, :func:`outstanding` is *the* list of ``/api/health`` (the read side lists
no problem of its own beside it: :mod:`wafpipe.store.health` says why). So it covers everything
the state's view would: the state's component rows this process keeps live (back-pressure, key
waits, sources, its sinks' ``sink.<name>``) through their live form, any other failing component
row as it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from wafpipe.collector.keywait import COMPONENT as KEYS
from wafpipe.collector.keywait import KeyWaits
from wafpipe.collector.logs import escape
from wafpipe.collector.report import human_size
from wafpipe.collector.state.store import State
from wafpipe.model import Problem
from wafpipe.sinks import Sink
from wafpipe.sources import Source
from wafpipe.store.health import checksum_problem

LISTED = 5  # per source, problems listed one by one before "and N more"
BACKPRESSURE = "backpressure"  # the state's health component while a full spool holds a batch
SOURCES = "sources"  # the state's health component of the sources' problems


def spools(sink: Sink) -> bool:
    """The sink delivers from a spool of its own (a cluster sink)."""
    return isinstance(getattr(sink, "pending_bytes", None), int)


def spool_full(sink: Sink) -> str | None:
    """Why ``sink`` cannot take a batch now without blocking: its spool is at its limit."""
    pending = getattr(sink, "pending_bytes", None)
    limit = getattr(getattr(sink, "spool", None), "max_bytes", None)
    if not isinstance(pending, int) or not isinstance(limit, int) or not pending or pending < limit:
        return None
    return f"the spool of sink {sink.name} is full ({human_size(pending)} undelivered, limit {human_size(limit)})"


def sink_behind(sink: Sink) -> str | None:
    """A spooling sink that is failing with events undelivered."""
    pending = getattr(sink, "pending_bytes", None)
    stats = getattr(sink, "stats", None)
    since = getattr(stats, "failing_since", None)
    if not isinstance(pending, int) or not pending or since is None:
        return None
    return (
        f"sink {sink.name} is behind: {human_size(pending)} undelivered, failing for {time.time() - since:.0f} s: "
        f"{getattr(stats, 'last_error', None) or 'unknown error'}"
    )


def problem_text(p: Any) -> str:
    return p.reason if isinstance(p, Problem) else str(getattr(p, "message", p))


def outstanding(
    held: str | None, sinks: Sequence[Sink], sources: Sequence[Source], state: State, keys: KeyWaits
) -> list[str]:
    """Every problem that needs a person now, one escaped line each."""
    out: list[str] = []
    if held is not None:
        out.append(f"back-pressure: {held}; not taking new files until it drains")
    out += [b for b in map(sink_behind, sinks) if b]
    waits = keys.problem()
    if waits:
        out.append(waits)
    for src in sources:
        known = list(getattr(src, "problems", {}).values())
        out += [f"source {src.name}: {problem_text(p)}" for p in known[:LISTED]]
        if len(known) > LISTED:
            out.append(f"source {src.name}: … and {len(known) - LISTED} more problems")
    # State components kept by this process are listed above in their live form; others as they are.
    live = {BACKPRESSURE, KEYS, SOURCES, *(f"sink.{s.name}" for s in sinks)}
    out += [f"{name}: {rec.error or 'failing'}" for name, rec in state.health().items()
            if name not in live and not rec.ok]
    files = state.file_status_counts()
    if files.get("failed"):
        out.append(f"{files['failed']} file(s) failed (each is read again when it changes, or at the next start)")
    waiting = sum(1 for k in keys.waiting if (r := state.get_file(k)) and r.status == "quarantined")
    quarantined = files.get("quarantined", 0) - waiting  # those waiting for a key are listed above
    if quarantined > 0:
        out.append(f"{quarantined} file(s) quarantined (see {state.quarantine_dir})")
    mismatched = state.checksum_mismatches()
    if mismatched:
        out.append(checksum_problem(mismatched))
    dead = state.count_dead_letters()
    if dead:
        out.append(f"{dead} dead letter(s) not replayed (wafpipe deadletters list)")
    gaps = state.gaps()
    if gaps:
        kinds = ", ".join(sorted({str(g.kind) for g in gaps}))
        out.append(f"{len(gaps)} possible gap(s) in the data ({kinds})")
    return [escape(p) for p in out]


def describe_source(src: Source) -> str:
    describe = getattr(src, "describe", None)
    if callable(describe):
        return str(describe())
    cfg = getattr(src, "config", None)
    kind = str(getattr(cfg, "type", type(src).__name__))
    root = getattr(src, "root", None)
    patterns = getattr(cfg, "patterns", None)
    text = kind if src.name == kind else f"{src.name} ({kind})"
    if root is not None:
        text += f" {root}"
    return text + (f" ({', '.join(patterns)})" if patterns else "")


def describe_sink(sink: Sink) -> str:
    """The sink and where it writes (a cluster's hosts as its client shows them: credentials redacted)."""
    where = getattr(sink, "path", None) or getattr(getattr(sink, "client", None), "display", None)
    return f"{sink.name} ({where})" if where else sink.name


def start_line(once: bool, sources: Sequence[Source], sinks: Sequence[Sink], api_url: str | None, workers: int) -> str:
    """The one line at start: what the collector watches, where it writes, where its API is."""
    return escape(
        f"collector started ({'--once: what is there now' if once else 'watching'}): "
        f"source {'; '.join(map(describe_source, sources)) or 'none'}; "
        f"sinks {', '.join(map(describe_sink, sinks))}; API {api_url or 'off'}; "
        + (f"{workers} worker process(es)" if workers else "no worker processes (decoding in this one)")
    )
