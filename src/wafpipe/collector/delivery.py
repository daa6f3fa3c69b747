"""The acknowledgement path of each file (DESIGN §2): a decoded Batch goes to every sink, then the
state's checkpoint (a few Batches per commit: :mod:`.checkpoints`); a file's last Batch marks it
done (or failed, or quarantined) and only then is the source told (``ack``), which may delete or
move the file.

:class:`Delivery` also owns what can interrupt that path without losing anything, and why:

* **Back-pressure.** Before a Batch is written, every spooling sink is asked whether its spool has
  room. When one is full the Batch is *held* (nothing of it is written anywhere), the collector
  reads no more Batches and takes no new files, and says so in its health (also as the state's
  ``backpressure`` component). The held Batch is retried as the spool drains. ``--once`` gives up
  after ``pipeline.drain_timeout_s`` (exit 3, the rest for the next run); a watching collector waits.
* **A dead decode worker.** Its file is decoded again by a new worker from the last acknowledged
  ordinal (the state's). Every worker that dies while reading a file counts against it, even after
  progress (a file whose content kills a worker after every batch, a leak or a recurring decoder
  crash, would otherwise cost a worker per batch): the :data:`MAX_WORKER_DEATHS`-th death marks the
  file failed (a log line and its row say so; ``run --once`` exits 1). A failed file is read again
  from its last acknowledged ordinal at the next start, or when it changes (the failed row goes).
* **A missing private key.** The file is quarantined and remembered with its key id
  (:mod:`.keywait`); when the key appears it is read again, from the original or from its
  quarantine copy, which is removed once the events are stored.
* **What the operator sees.** One line per file (outcome, name, format, events, problems, seconds,
  "re-read" for an Imperva identity read before), problems of one kind logged a few times per file,
  then summarised (:class:`~.report.FileTally`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from wafpipe import clock
from wafpipe.collector.checkpoints import Checkpoints
from wafpipe.collector.fanout import needs_documents, write_all
from wafpipe.collector.keywait import KeyWaits
from wafpipe.collector.logs import escape
from wafpipe.collector.metrics import Metrics
from wafpipe.collector.quarantine import rendering
from wafpipe.collector.report import FileTally, RunReport, reread_note
from wafpipe.collector.resume import Resume, resume_point
from wafpipe.collector.state.store import FINISHED_STATUSES, Checkpoint, State
from wafpipe.collector.status import BACKPRESSURE, spool_full, spools
from wafpipe.collector.task import Task
from wafpipe.collector.workers import DecodePool, WorkerDied
from wafpipe.config.root import Config
from wafpipe.enrich.redaction import Redactor
from wafpipe.failpoints import failpoint
from wafpipe.fields.arrow import column
from wafpipe.model import Batch, FileRef, Problem
from wafpipe.sinks import Sink
from wafpipe.sources import Source

log = logging.getLogger("wafpipe.collector.pipeline")

# Problems after which the file is copied to quarantine (DESIGN §7).
QUARANTINE_KINDS = {"checksum", "compression", "decrypt", "missing_key", "container", "not_imperva"}
MAX_WORKER_DEATHS = 3  # workers lost while reading one file before it is marked failed


@dataclass
class _InFlight:
    ref: FileRef
    task: Task
    tally: FileTally
    started: float = field(default_factory=time.monotonic)
    ack: bool = True  # False for a retry read from a quarantine copy: the source is not involved
    key_retry: bool = False
    copy: Path | None = None  # the quarantine copy this retry reads
    wait: dict[str, Any] | None = None  # the key-wait entry this retry comes from
    deaths: int = 0  # decode workers that died reading this file (each counts, see MAX_WORKER_DEATHS)
    resumed: Resume | None = None  # the file was read before: this read starts after its lines
    bad: list[Problem] = field(default_factory=list)  # problems that quarantine the file


@dataclass
class _Held:
    """A decoded Batch that a full spool could not take yet (back-pressure)."""

    task_id: int
    batch: Batch
    reason: str
    since: float = field(default_factory=time.monotonic)


class Delivery:
    """Files in flight and the path of their Batches; driven by :class:`~.pipeline.Collector`."""

    def __init__(
        self,
        config: Config,
        state: State,
        sinks: list[Sink],
        sources: dict[str, Source],
        pool: DecodePool,
        report: RunReport,
        metrics: Metrics,
        key_waits: KeyWaits,
        primary: Sink,
        detections: tuple[Any, ...] = (),
        redactor: Redactor | None = None,
    ) -> None:
        self.config = config
        self.redactor = redactor  # redacts quarantine copies when raw ones are not kept (None: kept raw)
        self.state = state
        self.checkpoints = Checkpoints(state)  # the state's record of delivered Batches, grouped
        self.sinks = sinks
        self.sources = sources
        self.pool = pool
        self.report = report
        self.metrics = metrics
        self.key_waits = key_waits
        self.primary = primary  # the sink whose counts the run report shows
        self.documents = needs_documents(sinks)  # the workers render JSON documents for a sink
        self.detections = detections  # the rules the workers run on each Batch (wafpipe.detect)
        self.inflight: dict[int, _InFlight] = {}
        self.held: _Held | None = None
        self.give_up = False  # --once: a spool stayed full past drain_timeout_s
        self.once = False
        self.last_success: float | None = None
        self.last_error: tuple[float, str] | None = None
        self.newest_event: datetime | None = None
        self._next_task = 0

    def offer(self, ref: FileRef) -> None:
        """Register a file and hand it to a decode worker unless it is already done."""
        rec = self.state.register_file(
            ref.key, source=ref.source, name=ref.name, path=ref.path, size=ref.size, mtime=ref.mtime_ns / 1e9
        )
        if rec.status in FINISHED_STATUSES:
            self.report.files_already_done += 1
            self._ack(ref)
            return
        if any(f.ref.key == ref.key for f in self.inflight.values()):
            return
        # A failed file is read again when it changes: another size or mtime is another key, a new
        # delivery (an unchanged one is offered again at the next start). It now answers for the
        # path: the row of the failure it overtakes goes, or health would list it for ever.
        for old in self.state.replace_failed(ref.key):
            log.info(
                "%s changed since it failed (size or mtime; %s bytes then, %s now): reading it again",
                escape(ref.path), old.size, ref.size,
            )
        self.start(ref)

    def start(self, ref: FileRef, *, ack: bool = True, wait: dict[str, Any] | None = None) -> None:
        start = self.state.start_file(ref.key)
        resumed = resume_point(self.state, ref, self.config.keys.dir) if start == 0 and wait is None else None
        if resumed is not None:
            start = resumed.ordinal
            log.info("%s was read before as %s: reading on after its line ordinal %d",
                     escape(ref.path), escape(resumed.earlier), start)
        task = self._task(ref, start)
        copy = Path(wait["copy"]) if wait and wait.get("copy") and ref.path == wait["copy"] else None
        self.inflight[task.task_id] = _InFlight(
            ref, task, FileTally(ref.path), ack=ack, key_retry=wait is not None, copy=copy, wait=wait,
            resumed=resumed,
        )
        self.metrics.files_pending.set(len(self.inflight))
        self.pool.submit(task)

    def _task(self, ref: FileRef, start: int) -> Task:
        self._next_task += 1
        return Task(
            self._next_task,
            ref,
            str(self.config.keys.dir) if self.config.keys.dir else None,
            start,
            self.config.pipeline.max_line_bytes,
            max_output_bytes=self.config.pipeline.max_output_bytes,
            max_ratio=self.config.pipeline.max_ratio,
            documents=self.documents,
            detections=self.detections,
            redaction=self.config.redaction,
        )

    def _ack(self, ref: FileRef) -> None:
        try:
            self.sources[ref.source].ack(ref)
        except OSError as exc:
            log.warning("could not apply the after-policy to %s: %s", escape(ref.path), escape(exc))
            return
        failpoint("source.after_ack")

    def deliver(self, task_id: int, batch: Batch) -> bool:
        """Write ``batch`` to every sink, checkpoint, finish the file on its final batch. False when
        a full spool made the collector hold the batch (nothing of it was written)."""
        if (flight := self.inflight.get(task_id)) is None:
            return True
        if len(batch) and (full := next((why for why in map(spool_full, self.sinks) if why), None)) is not None:
            self._hold(task_id, batch, full)
            return False
        key, tally = flight.ref.key, flight.tally
        counts: dict[str, int] = {}
        dead: list[dict[str, Any]] = []
        if len(batch) or batch.final:  # an empty final Batch still has the file's facts (and the file)
            counts, dead = write_all(batch, self.sinks, self.primary, self.report, self.metrics, tally)
        if len(batch):
            tally.events += len(batch)
            self.report.events += len(batch)
            self.metrics.events.inc(len(batch))
            for rule, n in batch.redacted.items():
                self.metrics.redacted.labels(rule).inc(n)
            newest = pc.max(column(batch.events, "@timestamp")).as_py()
            if newest is not None and (self.newest_event is None or newest > self.newest_event):
                self.newest_event = newest
                self._update_lag()
        for p in batch.problems:
            self._problem(flight, p, dead)
        self.checkpoints.add(Checkpoint(key, batch.next_ordinal, counts, dead, batch.findings), now=batch.final)
        self.last_success = now = clock.now()
        self.metrics.last_success.set(now)
        if batch.final:
            self._finish(task_id, flight, batch)
        return True

    def _hold(self, task_id: int, batch: Batch, reason: str) -> None:
        self.held = _Held(task_id, batch, reason)
        self.metrics.backpressure.set(1)
        # Also a component of the state's health, so every reader of it (``/api/health``'s
        # problems, doctor) sees the back-pressure, not only this process's live status.
        self.state.set_health(BACKPRESSURE, last_error=time.time(), error=reason)
        flight = self.inflight[task_id]
        log.warning(
            "%s: holding %s and taking no new files until it drains (back-pressure)",
            escape(reason), escape(flight.ref.path),
        )

    def release_held(self) -> bool:
        """Deliver the held batch if every spool has room now; True when it was delivered."""
        held = self.held
        assert held is not None
        full = next((why for why in map(spool_full, self.sinks) if why), None)
        if full is not None:
            held.reason = full
            limit = self.config.pipeline.drain_timeout_s
            if self.once and time.monotonic() - held.since > limit:
                log.warning("%s for %.0f s: giving up; what is left is read by the next run", escape(full), limit)
                self.give_up = True
            return False
        self.held = None
        self.metrics.backpressure.set(0)
        self.state.set_health(BACKPRESSURE, last_success=time.time())
        log.info("spool has room again after %.1f s: resuming", time.monotonic() - held.since)
        return self.deliver(held.task_id, held.batch)

    def _problem(self, flight: _InFlight, p: Problem, dead: list[dict[str, Any]]) -> None:
        self.report.problems[p.kind] += 1
        self.metrics.errors.labels(p.kind).inc()
        flight.tally.problem(p)
        if p.kind in QUARANTINE_KINDS:
            flight.bad.append(p)
        if p.raw is not None:  # a line or a document that a replay can try again
            dead.append(p.record())

    def _finish(self, task_id: int, flight: _InFlight, batch: Batch) -> None:
        ref, key, tally = flight.ref, flight.ref.key, flight.tally
        del self.inflight[task_id]
        self.metrics.files_pending.set(len(self.inflight))
        tally.more()
        if flight.key_retry:
            self.key_waits.resolved(key)
        info = batch.info
        if info is not None:
            self.metrics.bytes.inc(info.body_bytes)
            self.state.set_facts(key, info.facts())
        if batch.error:
            self.report.files_failed += 1
            self.report.problems["io"] += 1
            self.metrics.errors.labels("io").inc()
            self.metrics.files.labels("failed").inc()
            msg = f"{ref.path}: cannot read: {batch.error} — it is read again when it changes, or at the next start"
            log.warning("%s", escape(msg))
            self.last_error = (clock.now(), msg)
            self.state.mark_failed(key, batch.error)
            self._file_line("failed", flight, batch)
            return
        note = ""
        if info is not None and info.identity:
            earlier = [r for r in self.state.find_identity(info.identity) if r.key != key and r.status == "done"]
            self.state.set_identity(key, info.identity)
            self.state.record_header(info.identity.hex(), dict(info.header), source=ref.source, name=ref.name)
            if flight.resumed is not None:
                note = (f"; read before as {flight.resumed.earlier}: resumed after its line ordinal "
                        f"{flight.resumed.ordinal}, {tally.new} new events")
            elif earlier:
                note = reread_note(tally, earlier[0].name, spooling=spools(self.primary))
        if tally.already and not note:
            note = f"; {tally.already} already stored"
        if flight.bad:
            if self._quarantine(flight, info):
                self._file_line("quarantined", flight, batch, note)
                if flight.ack:
                    self._ack(ref)
                return
        elif not note and not tally.events and not tally.problems and info is not None and info.header:
            note = "; header only, no events"  # a legitimate delivery (an empty file is the reader's `empty`)
        self.state.mark_done(key)
        self.report.files_done += 1
        self.metrics.files.labels("done").inc()
        self.state.set_health("pipeline", last_success=time.time())
        self._file_line("done", flight, batch, note)
        copy = self._wait_copy(flight)
        if copy is not None and not flight.bad:  # stored now: the quarantine copy has done its job
            for leftover in (copy, copy.with_name(copy.name + ".reason.json")):
                leftover.unlink(missing_ok=True)
        if flight.ack:
            self._ack(ref)

    def _quarantine(self, flight: _InFlight, info: Any) -> bool:
        """Copy the file to quarantine (once) and remember a missing key; True when the file stops
        here (the fault was fatal to it), False when it is also done (e.g. a checksum mismatch)."""
        ref, bad = flight.ref, flight.bad
        reason = "; ".join(p.message() for p in bad)
        copy = self._wait_copy(flight)
        if copy is not None:  # a retry: the quarantine copy made the first time is still there
            self.state.mark_quarantined(ref.key, reason)
        else:
            copy = self.state.quarantine(ref.path, reason, name=ref.name, key=ref.key, details={"file": ref.path},
                                         render=rendering(self.redactor, info))
        key_id = str((info.header if info is not None else {}).get("publickeyid", "")).strip()
        if key_id and any(p.kind == "missing_key" for p in bad):
            self.key_waits.add(self._original(flight), key_id, copy)
        if not any(p.fatal_to_file for p in bad):
            return False
        self.report.files_quarantined += 1
        self.metrics.files.labels("quarantined").inc()
        return True

    @staticmethod
    def _wait_copy(flight: _InFlight) -> Path | None:
        """The quarantine copy a key-wait retry has (None for a first read)."""
        copy = flight.wait.get("copy") if flight.wait is not None else None
        return Path(copy) if copy and os.path.isfile(copy) else None

    @staticmethod
    def _original(flight: _InFlight) -> FileRef:
        """The original delivery of a file (a retry may read the quarantine copy instead)."""
        ref = flight.ref
        if flight.wait is None:
            return ref
        path = str(flight.wait.get("path") or ref.path)
        return FileRef(ref.source, ref.name, path, ref.size, ref.mtime_ns, ref.key)

    def _file_line(self, outcome: str, flight: _InFlight, batch: Batch, note: str = "") -> None:
        tally = flight.tally
        log.info(
            "%s %s: %s, %d events, %d problems, %.2f s%s",
            outcome, escape(flight.ref.path), escape(batch.format or "format unknown"), tally.events,
            tally.total_problems, time.monotonic() - flight.started, escape(note),
        )

    def worker_died(self, task_id: int, died: WorkerDied) -> None:
        self.metrics.worker_restarts.inc()
        flight = self.inflight.pop(task_id, None)
        if flight is None:
            log.warning("decode worker %s %s; a new worker took its place", died.pid, died.describe())
            return
        ref = flight.ref
        self.checkpoints.commit()  # the file's new worker starts after what was delivered
        rec = self.state.get_file(ref.key)
        resume = rec.next_ordinal if rec is not None else flight.task.start_ordinal
        flight.deaths += 1  # every death counts against the file (see MAX_WORKER_DEATHS)
        if flight.deaths >= MAX_WORKER_DEATHS:
            msg = (f"{ref.path}: decode worker {died.pid} {died.describe()} while reading it; {flight.deaths} "
                   f"decode workers died on this file, so it is marked failed (its lines before ordinal "
                   f"{resume} are stored). It is read again when it changes, or at the next start "
                   "of wafpipe run (after what is stored); if the system log shows the OOM killer, give "
                   "the collector more memory or fewer workers first")
            log.error("%s", escape(msg))
            self.report.files_failed += 1
            self.report.problems["worker_died"] += 1
            self.metrics.errors.labels("worker_died").inc()
            self.metrics.files.labels("failed").inc()
            self.last_error = (clock.now(), msg)
            self.state.mark_failed(ref.key, msg)
            if flight.key_retry:  # read again once the key came, whatever the outcome: no longer waits
                self.key_waits.resolved(ref.key)
            self.metrics.files_pending.set(len(self.inflight))
            return
        log.warning(
            "decode worker %s %s while reading %s; a new worker reads it again from line ordinal %d "
            "(%d of %d workers lost on this file before it is marked failed)",
            died.pid, died.describe(), escape(ref.path), resume, flight.deaths, MAX_WORKER_DEATHS,
        )
        task = self._task(ref, resume)
        flight.task = task
        self.inflight[task.task_id] = flight
        self.pool.submit(task)

    def _update_lag(self) -> None:
        if self.newest_event is not None:
            self.metrics.lag.set(max(0.0, clock.now() - self.newest_event.timestamp()))
