"""What a collector run tells its operator: per-file lines, repeated problems summarised, and the
run's totals with the exit code of DESIGN §4.

Words are chosen to be true for each sink: the embedded store *stores* (and says how many it
already had: a re-read or a copy is not an error, so it is never called "duplicates" in a message);
a cluster sink *spools* and says whether its spool was *delivered* by the end of ``--once``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from wafpipe.collector.logs import escape
from wafpipe.model import Problem

log = logging.getLogger("wafpipe.collector.pipeline")

LOGGED_PER_KIND = 3  # problems of one kind logged per file before they are only counted

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SPOOLED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class SinkTotals:
    """One sink's counts over a run."""

    kind: str  # "store" (committed on write) | "spool" (a background sender delivers)
    written: int = 0  # newly stored (store)
    already: int = 0  # the store already had them (first write wins)
    spooled: int = 0  # appended to the spool (spool)
    delivered: bool | None = None  # spool: drained by the end of the run (None: not checked)
    sent_new: int = 0  # spool: created by the cluster during the run (its sender's count)
    sent_already: int = 0  # spool: the cluster already had them (409)
    pending_bytes: int = 0  # spool: left undelivered at the end

    def words(self) -> str:
        if self.kind == "store":
            return f"stored {self.written}" + (f", already stored {self.already}" if self.already else "")
        if self.delivered is False:
            return f"spooled {self.spooled} (undelivered; {human_size(self.pending_bytes)} wait in the spool)"
        sent = self.sent_new + self.sent_already
        extra = f" ({self.sent_already} already there)" if self.sent_already else ""
        return f"spooled {self.spooled}, delivered {sent}{extra}"


@dataclass
class RunReport:
    files_done: int = 0
    files_failed: int = 0
    files_quarantined: int = 0
    files_already_done: int = 0
    events: int = 0
    stored: int = 0  # newly stored by the primary sink (spooled, for a cluster-only collector)
    duplicates: int = 0  # events the primary sink already had (re-reads, copies): not an error
    problems: Counter[str] = field(default_factory=Counter)
    undelivered: bool = False
    sinks: dict[str, SinkTotals] = field(default_factory=dict)
    interrupted: bool = False  # stopped by a signal with work left (``--once``)
    files_left: int = 0
    bytes_left: int = 0
    usage_error: str | None = None  # e.g. a source path that does not exist with --once
    watch: bool = False  # a watching collector stopped by a signal

    @property
    def exit_code(self) -> int:
        """DESIGN §4: 2 usage, 130 interrupted, 3 spooled undelivered, 1 data problems, 0 ok.

        A watching collector stopped by SIGINT/SIGTERM exits 0: stopping is how a service ends, and
        its data problems were reported as they happened (log, ``/api/health``, metrics); a service
        manager must not see a normal stop as a failure."""
        if self.usage_error:
            return EXIT_USAGE
        if self.watch:
            return EXIT_OK
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.undelivered:
            return EXIT_SPOOLED
        return EXIT_DATA if (self.problems or self.files_failed) else EXIT_OK

    def summary(self) -> str:
        """The run's last line."""
        parts = [
            f"files done {self.files_done}, failed {self.files_failed}, quarantined {self.files_quarantined}"
            + (f", already done {self.files_already_done}" if self.files_already_done else ""),
            f"events {self.events}",
        ]
        parts += [f"{name}: {totals.words()}" for name, totals in self.sinks.items()]
        if self.problems:
            parts.append("problems " + ", ".join(f"{k} {v}" for k, v in sorted(self.problems.items())))
        return escape("; ".join(parts))

    def interruption(self) -> str:
        return (
            f"interrupted: {self.files_left} file(s) ({human_size(self.bytes_left)}) not finished; "
            "nothing is lost — run again to finish them"
        )


class FileTally:
    """One file's counts while it is read, and its problems logged with a bound per kind: the first
    :data:`LOGGED_PER_KIND` of each kind, then one line "… and N more" when the file ends (a
    20 000-line file that is not an Imperva log must not give 20 000 warnings)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.events = 0
        self.new = 0
        self.already = 0
        self.spooled = 0
        self.problems: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()  # per sink

    def problem(self, p: Problem) -> None:
        self.problems[p.kind] += 1
        if self.problems[p.kind] <= LOGGED_PER_KIND:
            log.warning("%s", escape(p.message()))

    def rejected_by(self, sink: str, problems: list[Problem]) -> None:
        """A sink refused documents of one batch: one line per batch, not per document."""
        if not problems:
            return
        self.rejected[sink] += len(problems)
        self.problems[problems[0].kind] += len(problems)
        first = problems[0]
        log.warning(
            "%s: %s refused %d document(s) of this batch (dead-lettered), e.g. %s",
            escape(self.label), escape(sink), len(problems), escape(first.reason),
        )

    def more(self) -> None:
        """Log the summary lines of the problems not logged one by one."""
        for kind, n in sorted(self.problems.items()):
            if kind == "sink_rejected":
                continue
            if n > LOGGED_PER_KIND:
                log.warning("… and %d more %s problems in %s", n - LOGGED_PER_KIND, escape(kind), escape(self.label))

    @property
    def total_problems(self) -> int:
        return sum(self.problems.values())


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def reread_note(tally: FileTally, earlier: str, *, spooling: bool) -> str:
    """A file whose Imperva identity was read before (a copy, a re-delivery, a file that grew):
    not an error, and not "duplicates" — say what it is and what it added (``spooling``: the
    primary sink is a cluster, which keeps the first copy itself)."""
    if spooling:
        return f"; re-read (read before as {earlier}): {tally.events} events sent again, the cluster keeps the first copy"
    if not tally.new:
        return f"; same Imperva file as {earlier}, already stored ({tally.already} events)"
    return f"; re-read (read before as {earlier}): {tally.new} new events, {tally.already} already stored"
