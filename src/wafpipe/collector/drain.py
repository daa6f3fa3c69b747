"""The end of a run: waiting for the spooling sinks to deliver, and what they tell the report.

A spooling sink (a cluster, syslog, Splunk) holds what it was handed on disk and sends it in the
background; the collector's exit code and summary say whether it all arrived (``--once``) or
waits for the next run (a watching collector that stops).
"""

from __future__ import annotations

import logging
import threading
import time

from wafpipe.collector.report import RunReport, human_size
from wafpipe.sinks import Sink

log = logging.getLogger("wafpipe.collector.pipeline")


def drain_spools(sinks: list[Sink], report: RunReport, *, once: bool, timeout_s: float, give_up: bool,
                 stop: threading.Event) -> None:  # fmt: skip
    """Wait for the spools to deliver: up to ``timeout_s`` at the end of ``--once`` (a Ctrl-C,
    ``stop``, ends the wait), not at all after an interruption or a full spool that never drained
    (``give_up``), and a moment when a watching collector stops (the spool is durable; the next
    run sends it). Each sink's totals, undelivered events and rejections go into ``report``."""
    for s in sinks:
        totals = report.sinks[s.name]
        if once and not report.interrupted and not give_up:
            deadline = time.monotonic() + timeout_s
            while True:
                left = deadline - time.monotonic()
                done = s.flush(timeout=max(0.0, min(0.5, left)))
                if done or left <= 0 or stop.is_set():
                    break
        else:
            done = s.flush(timeout=0.0 if once else min(2.0, timeout_s))
        if totals.kind == "spool":
            totals.delivered = done
            totals.pending_bytes = int(getattr(s, "pending_bytes", 0) or 0)
            stats = getattr(s, "stats", None)
            totals.sent_new = int(getattr(stats, "written", 0) or 0)
            totals.sent_already = int(getattr(stats, "duplicates", 0) or 0)
        if not done:
            if once:
                report.undelivered = True
            else:
                log.info("%s: %s wait in the spool; they are sent by the next run",
                         s.name, human_size(int(getattr(s, "pending_bytes", 0) or 0)))  # fmt: skip
        # Spooling sinks dead-letter asynchronously (into the state); count them here.
        rejected = getattr(getattr(s, "stats", None), "dead_lettered", 0)
        if rejected:
            report.problems["sink_rejected"] += rejected
