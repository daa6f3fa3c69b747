"""The collector: sources → decode workers → every sink → checkpoint → ack (DESIGN §2).

Order of operations for each batch, which is what makes a crash harmless:

1. a decode worker turns a slice of a file into events (ids are deterministic);
2. every sink makes the batch durable (insert-if-absent, so a replay adds nothing);
3. only then the state records the file's resume ordinal and the batch's dead letters;
4. after the last batch of a file the state marks it done and the source may delete/move it.

A crash between 2 and 3 replays at most one batch; the ids collapse it. Files are decoded in
parallel by worker processes; one file's batches come from one worker, in order.

The runtime rules (DESIGN §4, issue 18), and why:

* **Back-pressure, never a stop.** Before a batch is written, every spooling sink is asked whether
  its spool has room. When one is full the collector *holds* that batch (nothing of it is written
  anywhere), stops reading decoded batches and taking new files, and says so in :meth:`health`
  (``degraded``, with the reason); it retries as the spool drains and resumes by itself. A watch-mode
  collector never exits for it: a cluster outage of hours must not stop the embedded store for good.
  ``--once`` gives up after ``pipeline.drain_timeout_s`` of a full spool and exits 3, leaving the
  rest for the next run.
* **A dead decode worker** (OOM killer, ``kill -9``) is reported by the pool; its file is decoded
  again from its last acknowledged ordinal by a new worker. A file that kills
  :data:`MAX_WORKER_DEATHS` workers is marked failed rather than retried for ever.
* **Ctrl-C** (SIGINT or SIGTERM) finishes the batch in hand and stops; a second one exits at once
  (what is acknowledged stays acknowledged; the next run resumes). A ``--once`` run stopped with
  files left exits 130 and says how many.
* **A file waiting for its private key** is retried when the key appears (:mod:`.keywait`).
* **Messages**: one line at start, one per file, problems of one kind logged a few times per file
  then summarised (:mod:`.report`), data escaped (:func:`~wafpipe.collector.logs.escape`).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import pyarrow.compute as pc

from wafpipe import clock
from wafpipe.collector.api import LocalApi
from wafpipe.collector.keywait import KeyWaits
from wafpipe.collector.logs import escape
from wafpipe.collector.metrics import Metrics
from wafpipe.collector.report import FileTally, RunReport, SinkTotals, _size
from wafpipe.collector.state.store import State
from wafpipe.collector.workers import DecodePool, Task, WorkerDied
from wafpipe.config.root import Config
from wafpipe.failpoints import failpoint
from wafpipe.fields.arrow import column
from wafpipe.model import Batch, Context, FileRef, Problem
from wafpipe.sinks import Sink
from wafpipe.sinks.registry import build_sinks
from wafpipe.sources import Source
from wafpipe.sources.registry import build_sources
from wafpipe.store.service import ReadService

log = logging.getLogger("wafpipe.collector.pipeline")

# Problems after which the file is copied to quarantine (DESIGN §7).
QUARANTINE_KINDS = {"checksum", "compression", "decrypt", "missing_key", "container", "not_imperva"}
MAX_WORKER_DEATHS = 3  # workers lost on one file before it is marked failed
PERIODIC_S = 1.0  # how often the loops look at the keys directory and the sources' problems
HEALTH_LIST = 5  # per category, problems listed one by one in health() before "and N more"


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
    deaths: int = 0
    bad: list[Problem] = field(default_factory=list)  # problems that quarantine the file


@dataclass
class _Held:
    """A decoded Batch that a full spool could not take yet (back-pressure)."""

    task_id: int
    batch: Batch
    reason: str
    since: float = field(default_factory=time.monotonic)


def _spool_full(sink: Sink) -> str | None:
    """Why ``sink`` cannot take a batch now without blocking: its spool is at its limit."""
    pending = getattr(sink, "pending_bytes", None)
    limit = getattr(getattr(sink, "spool", None), "max_bytes", None)
    if not isinstance(pending, int) or not isinstance(limit, int) or not pending or pending < limit:
        return None
    return f"the spool of sink {sink.name} is full ({_size(pending)} undelivered, limit {_size(limit)})"


def _spools(sink: Sink) -> bool:
    return isinstance(getattr(sink, "pending_bytes", None), int)


def _problem_text(p: Any) -> str:
    return p.reason if isinstance(p, Problem) else str(getattr(p, "message", p))


class Collector:
    """``run(once=True)`` for ``wafpipe run --once``; ``run()`` watches until SIGINT/SIGTERM."""

    def __init__(self, config: Config, *, workers: int | None = None, serve_api: bool = True) -> None:
        self.config = config
        self.state = State(config.data_dir)
        self.metrics = Metrics()
        self.report = RunReport()
        self.stop = threading.Event()
        context = Context(config.data_dir, state=self.state, on_source_problem=self._source_problem)
        self.sinks: list[Sink] = build_sinks(config, context)
        self.sources: list[Source] = build_sources(config, context)
        self._sources = {src.name: src for src in self.sources}
        pc_ = config.pipeline
        self.workers = pc_.workers if workers is None else workers
        self.pool = DecodePool(self.workers, pc_.batch_size, pc_.batch_timeout_s, pc_.queue_size)
        self._max_inflight = max(2, self.workers * 2)
        self._inflight: dict[int, _InFlight] = {}
        self._next_task = 0
        self._refs: queue.Queue[FileRef] = queue.Queue(maxsize=1024)
        self._serve_api = serve_api
        self.api: LocalApi | None = None
        self._last_success: float | None = None
        self._last_error: tuple[float, str] | None = None
        self._newest_event: datetime | None = None
        self._held: _Held | None = None
        self._give_up = False  # --once: a spool stayed full past drain_timeout_s
        self._once = False
        self._missing: list[str] = []  # --once: source paths that do not exist
        self._signals = 0
        self._next_periodic = 0.0
        keys_dir = Path(config.keys.dir) if config.keys.dir else None
        self._key_waits = KeyWaits(self.state, keys_dir)
        self.report.sinks = {s.name: SinkTotals("spool" if _spools(s) else "store") for s in self.sinks}
        # The sink whose counts the run report shows: the embedded store when there is one.
        self._primary: Sink = self._duckdb() or self.sinks[0]

    # -- wiring --------------------------------------------------------------------------------
    def _source_problem(self, problem: Any) -> None:
        kind, text = problem.kind, _problem_text(problem)
        if kind == "missing" and self._once:
            self._missing.append(text)  # --once: a usage error (exit 2), reported by run
            return
        self.report.problems[kind] += 1
        self.metrics.errors.labels(kind).inc()
        self._last_error = (clock.now(), text)
        self.state.set_health("sources", last_error=time.time(), error=text)

    def _duckdb(self) -> Any:
        from wafpipe.sinks.duckdb.sink import DuckDBSink

        for s in self.sinks:
            if isinstance(s, DuckDBSink):
                return s
        return None

    # -- health ----------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Everything that needs a person now, one line each (empty: all is well). A problem stays
        until it is resolved: a later success elsewhere does not hide it."""
        out: list[str] = []
        if self._held is not None:
            out.append(f"back-pressure: {self._held.reason}; not taking new files until it drains")
        for sink in self.sinks:
            behind = self._behind(sink)
            if behind:
                out.append(behind)
        waits = self._key_waits.problem()
        if waits:
            out.append(waits)
        for src in self.sources:
            outstanding = list(getattr(src, "problems", {}).values())
            out += [f"source {src.name}: {_problem_text(p)}" for p in outstanding[:HEALTH_LIST]]
            if len(outstanding) > HEALTH_LIST:
                out.append(f"source {src.name}: … and {len(outstanding) - HEALTH_LIST} more problems")
        files = self.state.file_status_counts()
        if files.get("failed"):
            out.append(f"{files['failed']} file(s) failed (they are retried at the next start)")
        quarantined = files.get("quarantined", 0) - len(self._key_waits)
        if quarantined > 0:
            out.append(f"{quarantined} file(s) quarantined (see {self.state.quarantine_dir})")
        dead = self.state.count_dead_letters()
        if dead:
            out.append(f"{dead} dead letter(s) not replayed (wafpipe deadletters list)")
        gaps = self.state.gaps()
        if gaps:
            kinds = ", ".join(sorted({str(g.kind) for g in gaps}))
            out.append(f"{len(gaps)} possible gap(s) in the data ({kinds})")
        return [escape(p) for p in out]

    def _behind(self, sink: Sink) -> str | None:
        pending = getattr(sink, "pending_bytes", None)
        stats = getattr(sink, "stats", None)
        since = getattr(stats, "failing_since", None)
        if not isinstance(pending, int) or not pending or since is None:
            return None
        return (
            f"sink {sink.name} is behind: {_size(pending)} undelivered, failing for {time.time() - since:.0f} s: "
            f"{getattr(stats, 'last_error', None) or 'unknown error'}"
        )

    def health(self) -> dict[str, Any]:
        problems = self.problems()
        pending = len(self._inflight) + self._refs.qsize()
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "backpressure": self._held.reason if self._held is not None else None,
            "last_success": self._last_success,
            "last_error": self._last_error[1] if self._last_error else None,
            "last_error_at": self._last_error[0] if self._last_error else None,
            "files_pending": pending,
            "newest_event": self._newest_event.isoformat(timespec="milliseconds").replace("+00:00", "Z") if self._newest_event else None,
            "lag_seconds": self.metrics.lag._value.get(),  # noqa: SLF001 - the gauge's own value
            "gaps": [g.__dict__ for g in self.state.gaps()],
            "report": {
                "files_done": self.report.files_done,
                "events": self.report.events,
                "stored": self.report.stored,
                "already_stored": self.report.duplicates,
                "problems": dict(self.report.problems),
            },
        }

    # -- files -----------------------------------------------------------------------------------
    def offer(self, ref: FileRef) -> None:
        """Register a file and hand it to a decode worker unless it is already done."""
        rec = self.state.register_file(
            ref.key, source=ref.source, name=ref.name, path=ref.path, size=ref.size, mtime=ref.mtime_ns / 1e9
        )
        if rec.status in ("done", "quarantined"):
            self.report.files_already_done += 1
            self._ack(ref)
            return
        if any(f.ref.key == ref.key for f in self._inflight.values()):
            return
        self._start(ref)

    def _start(self, ref: FileRef, *, ack: bool = True, wait: dict[str, Any] | None = None) -> None:
        start = self.state.start_file(ref.key)
        task = self._task(ref, start)
        copy = Path(wait["copy"]) if wait and wait.get("copy") and ref.path == wait["copy"] else None
        self._inflight[task.task_id] = _InFlight(
            ref, task, FileTally(ref.path), ack=ack, key_retry=wait is not None, copy=copy, wait=wait
        )
        self.metrics.files_pending.set(len(self._inflight))
        self.pool.submit(task)

    def _task(self, ref: FileRef, start: int) -> Task:
        self._next_task += 1
        return Task(
            self._next_task,
            ref,
            str(self.config.keys.dir) if self.config.keys.dir else None,
            start,
            self.config.pipeline.max_line_bytes,
        )

    def _ack(self, ref: FileRef) -> None:
        try:
            self._sources[ref.source].ack(ref)
        except OSError as exc:
            log.warning("could not apply the after-policy to %s: %s", escape(ref.path), escape(exc))
            return
        failpoint("source.after_ack")

    def _deliver(self, task_id: int, batch: Batch) -> bool:
        """Write ``batch`` to every sink, checkpoint, finish the file on its final batch. False when
        a full spool made the collector hold the batch (nothing of it was written)."""
        flight = self._inflight.get(task_id)
        if flight is None:
            return True
        if len(batch):
            full = next((why for why in map(_spool_full, self.sinks) if why), None)
            if full is not None:
                self._hold(task_id, batch, full)
                return False
        key, tally = flight.ref.key, flight.tally
        dead: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        if len(batch):
            for sink in self.sinks:
                result = sink.write(batch)  # durable on return, or raises
                totals = self.report.sinks[sink.name]
                totals.written += result.written
                totals.already += result.duplicates
                totals.spooled += result.spooled
                for name, n in (("written", result.written), ("duplicates", result.duplicates),
                                ("spooled", result.spooled)):
                    counts[f"{sink.name}_{name}"] = counts.get(f"{sink.name}_{name}", 0) + n
                self.metrics.stored.labels(sink.name).inc(result.written)
                self.metrics.duplicates.labels(sink.name).inc(result.duplicates)
                if result.rejected:
                    dead += [r.record() for r in result.rejected]
                    tally.rejected_by(sink.name, result.rejected)
                    for r in result.rejected:
                        self.report.problems[r.kind] += 1
                        self.metrics.errors.labels(r.kind).inc()
                if sink is self._primary:
                    self.report.stored += result.written + result.spooled
                    self.report.duplicates += result.duplicates
                    tally.new += result.written + result.spooled
                    tally.already += result.duplicates
            counts["events"] = len(batch)
            tally.events += len(batch)
            self.report.events += len(batch)
            self.metrics.events.inc(len(batch))
            newest = pc.max(column(batch.events, "@timestamp")).as_py()
            if newest is not None and (self._newest_event is None or newest > self._newest_event):
                self._newest_event = newest
                self._update_lag()
        for p in batch.problems:
            self._problem(flight, p, dead)
        self.state.commit_batch(key, batch.next_ordinal, counts, dead)
        failpoint("state.after_checkpoint")
        now = clock.now()
        self._last_success = now
        self.metrics.last_success.set(now)
        if batch.final:
            self._finish(task_id, flight, batch)
        return True

    def _hold(self, task_id: int, batch: Batch, reason: str) -> None:
        self._held = _Held(task_id, batch, reason)
        self.metrics.backpressure.set(1)
        flight = self._inflight[task_id]
        log.warning(
            "%s: holding %s and taking no new files until it drains (back-pressure)",
            escape(reason), escape(flight.ref.path),
        )

    def _release_held(self) -> bool:
        """Deliver the held batch if every spool has room now; True when it was delivered."""
        held = self._held
        assert held is not None
        full = next((why for why in map(_spool_full, self.sinks) if why), None)
        if full is not None:
            held.reason = full
            limit = self.config.pipeline.drain_timeout_s
            if self._once and time.monotonic() - held.since > limit:
                log.warning("%s for %.0f s: giving up; what is left is read by the next run", escape(full), limit)
                self._give_up = True
            return False
        self._held = None
        self.metrics.backpressure.set(0)
        log.info("spool has room again after %.1f s: resuming", time.monotonic() - held.since)
        return self._deliver(held.task_id, held.batch)

    def _problem(self, flight: _InFlight, p: Problem, dead: list[dict[str, Any]]) -> None:
        self.report.problems[p.kind] += 1
        self.metrics.errors.labels(p.kind).inc()
        flight.tally.problem(p)
        if p.kind in QUARANTINE_KINDS:
            flight.bad.append(p)
        if p.raw is not None or p.kind not in QUARANTINE_KINDS:
            dead.append(p.record())

    def _finish(self, task_id: int, flight: _InFlight, batch: Batch) -> None:
        ref, key, tally = flight.ref, flight.ref.key, flight.tally
        del self._inflight[task_id]
        self.metrics.files_pending.set(len(self._inflight))
        tally.more()
        if flight.key_retry:
            self._key_waits.resolved(key)
        info = batch.info
        if info is not None:
            self.metrics.bytes.inc(info.body_bytes)
        if batch.error:
            self.report.files_failed += 1
            self.report.problems["io"] += 1
            self.metrics.errors.labels("io").inc()
            self.metrics.files.labels("failed").inc()
            msg = f"{ref.path}: cannot read: {batch.error} — it will be retried"
            log.warning("%s", escape(msg))
            self._last_error = (clock.now(), msg)
            self.state.mark_failed(key, batch.error)
            self._file_line("failed", flight, batch)
            return
        note = ""
        if info is not None and info.identity:
            earlier = [r for r in self.state.find_identity(info.identity) if r.key != key and r.status == "done"]
            self.state.set_identity(key, info.identity)
            self.state.record_header(info.identity.hex(), dict(info.header), source=ref.source, name=ref.name)
            if earlier:
                note = self._reread_note(tally, earlier[0].name)
        if tally.already and not note:
            note = f"; {tally.already} already stored"
        if flight.bad:
            if self._quarantine(flight, info):
                self._file_line("quarantined", flight, batch, note)
                if flight.ack:
                    self._ack(ref)
                return
        elif not tally.events and not tally.problems and info is not None and info.header:
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
            copy = self.state.quarantine(ref.path, reason, name=ref.name, key=ref.key, details={"file": ref.path})
        key_id = str((info.header if info is not None else {}).get("publickeyid", "")).strip()
        if key_id and any(p.kind == "missing_key" for p in bad):
            self._key_waits.add(self._original(flight), key_id, copy)
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

    def _reread_note(self, tally: FileTally, earlier: str) -> str:
        """A file whose Imperva identity was read before (a copy, a re-delivery, a file that grew):
        not an error, and not "duplicates" — say what it is and what it added."""
        if _spools(self._primary):
            return f"; re-read (read before as {earlier}): {tally.events} events sent again, the cluster keeps the first copy"
        if not tally.new:
            return f"; same Imperva file as {earlier}, already stored ({tally.already} events)"
        return f"; re-read (read before as {earlier}): {tally.new} new events, {tally.already} already stored"

    def _file_line(self, outcome: str, flight: _InFlight, batch: Batch, note: str = "") -> None:
        tally = flight.tally
        log.info(
            "%s %s: %s, %d events, %d problems, %.2f s%s",
            outcome, escape(flight.ref.path), escape(batch.format or "format unknown"), tally.events,
            tally.total_problems, time.monotonic() - flight.started, escape(note),
        )

    def _worker_died(self, task_id: int, died: WorkerDied) -> None:
        self.metrics.worker_restarts.inc()
        flight = self._inflight.pop(task_id, None)
        if flight is None:
            log.warning("decode worker %s %s; a new worker took its place", died.pid, died.describe())
            return
        ref = flight.ref
        rec = self.state.get_file(ref.key)
        resume = rec.next_ordinal if rec is not None else flight.task.start_ordinal
        # Deaths in a row without progress: a file that kills every worker at the same place is
        # given up on; one whose worker died after acknowledged batches goes on.
        flight.deaths = 1 if resume > flight.task.start_ordinal else flight.deaths + 1
        if flight.deaths >= MAX_WORKER_DEATHS:
            msg = (f"{ref.path}: decode worker {died.pid} {died.describe()}; {flight.deaths} workers were lost "
                   "on this file, so it is marked failed (it is tried again at the next start)")
            log.error("%s", escape(msg))
            self.report.files_failed += 1
            self.report.problems["worker_died"] += 1
            self.metrics.errors.labels("worker_died").inc()
            self.metrics.files.labels("failed").inc()
            self._last_error = (clock.now(), msg)
            self.state.mark_failed(ref.key, msg)
            self.metrics.files_pending.set(len(self._inflight))
            return
        log.warning(
            "decode worker %s %s while reading %s; a new worker reads it again from line ordinal %d",
            died.pid, died.describe(), escape(ref.path), resume,
        )
        task = self._task(ref, resume)
        flight.task = task
        self._inflight[task.task_id] = flight
        self.pool.submit(task)

    def _update_lag(self) -> None:
        if self._newest_event is not None:
            self.metrics.lag.set(max(0.0, clock.now() - self._newest_event.timestamp()))

    # -- loops -----------------------------------------------------------------------------------
    def _stopping(self) -> bool:
        return self.stop.is_set() or self._give_up

    def _step(self, timeout: float) -> None:
        """Deliver what the workers have decoded (or retry a held batch), for up to ``timeout``."""
        if self._held is not None and not self._release_held():
            self.stop.wait(min(timeout, 0.25))
            return
        if self._held is None:
            for task_id, item in self.pool.results(timeout if self._inflight else min(timeout, 0.05)):
                if isinstance(item, WorkerDied):
                    self._worker_died(task_id, item)
                elif not self._deliver(task_id, item):
                    break  # held: read nothing more until the spool drains
        self.metrics.queue_depth.labels("decoded").set(self.pool.depth())
        self.metrics.queue_depth.labels("files").set(self._refs.qsize())

    def _periodic(self) -> None:
        now = time.monotonic()
        if now < self._next_periodic:
            return
        self._next_periodic = now + PERIODIC_S
        self._check_keys()
        rec = self.state.health().get("sources")
        if rec is not None and not rec.ok and not any(getattr(s, "problems", None) for s in self.sources):
            self.state.set_health("sources", last_success=time.time())

    def _check_keys(self) -> None:
        if not len(self._key_waits) or self._held is not None:
            return
        busy = {f.ref.key for f in self._inflight.values()}
        for ref, entry in list(self._key_waits.ready()):
            if ref.key in busy:
                continue
            copy = entry.get("copy")
            from_copy = bool(copy) and ref.path == copy
            log.info(
                "private key %s is there now: reading %s again%s",
                escape(entry.get("key_id")), escape(entry.get("path")),
                f" (from its quarantine copy {escape(copy)})" if from_copy else "",
            )
            self._start(ref, ack=False, wait=entry)

    def _open(self) -> None:
        for s in self.sinks:
            s.open()
        if self._serve_api:
            # The read side (DESIGN §4) over this process's own store connection and state: reads
            # see every committed batch while this process stays the only writer.
            store = self._duckdb()
            reader = ReadService(store.cursor if store is not None else None, state=self.state, live=self.health)
            api = self.config.api
            self.api = LocalApi(
                self.config.data_dir,
                metrics=self.metrics.render,
                reader=reader,
                host=api.host,
                port=api.port,
                metrics_without_token=api.metrics_without_token,
            )
            self.api.start()

    def _close(self) -> None:
        if self.api is not None:
            self.api.stop()
        self.pool.close()
        for s in self.sinks:
            s.close()
        for src in self.sources:
            src.close()
        self.state.close()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self._signals += 1
            if self._signals > 1:
                os.write(2, b"wafpipe: interrupted again: stopping at once; nothing acknowledged is lost, "
                            b"the next run resumes\n")
                os._exit(130)
            log.info("%s: finishing the batch in hand, then stopping", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def _log_start(self, once: bool) -> None:
        sources = "; ".join(self._describe_source(s) for s in self.sources) or "none"
        sinks = ", ".join(self._describe_sink(s) for s in self.sinks)
        url = getattr(self.api, "url", None) if self.api is not None else None
        log.info(
            "collector started (%s): source %s; sinks %s; API %s; %s",
            "--once: what is there now" if once else "watching",
            escape(sources), escape(sinks), escape(url or "off"),
            f"{self.workers} worker process(es)" if self.workers else "no worker processes (decoding in this one)",
        )

    @staticmethod
    def _describe_source(src: Source) -> str:
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

    @staticmethod
    def _describe_sink(sink: Sink) -> str:
        where = getattr(sink, "path", None) or getattr(getattr(sink, "client", None), "display", None)
        return f"{sink.name} ({where})" if where else sink.name

    def run(self, *, once: bool = False, progress: bool | None = None) -> RunReport:
        self._once = once
        self.report.watch = not once
        self._install_signals()
        try:
            self._open()
            self._log_start(once)
            if once:
                self._run_once(progress if progress is not None else sys.stderr.isatty())
            else:
                self._run_forever()
            if not self.report.usage_error:
                self._drain(once)
        finally:
            self._close()
        return self.report

    def _drain(self, once: bool) -> None:
        """Wait for the spools to deliver: up to ``drain_timeout_s`` at the end of ``--once`` (a
        Ctrl-C ends the wait), not at all after an interruption or a full spool that never drained,
        and a moment when a watching collector stops (the spool is durable; the next run sends it)."""
        drain = self.config.pipeline.drain_timeout_s
        for s in self.sinks:
            totals = self.report.sinks[s.name]
            if once and not self.report.interrupted and not self._give_up:
                deadline = time.monotonic() + drain
                while True:
                    left = deadline - time.monotonic()
                    done = s.flush(timeout=max(0.0, min(0.5, left)))
                    if done or left <= 0 or self.stop.is_set():
                        break
            else:
                done = s.flush(timeout=0.0 if once else min(2.0, drain))
            if totals.kind == "spool":
                totals.delivered = done
                totals.pending_bytes = int(getattr(s, "pending_bytes", 0) or 0)
                stats = getattr(s, "stats", None)
                totals.sent_new = int(getattr(stats, "written", 0) or 0)
                totals.sent_already = int(getattr(stats, "duplicates", 0) or 0)
            if not done:
                if once:
                    self.report.undelivered = True
                else:
                    log.info("%s: %s wait in the spool; they are sent by the next run",
                             s.name, _size(int(getattr(s, "pending_bytes", 0) or 0)))
            # Spooling sinks dead-letter asynchronously (into the state); count them here.
            rejected = getattr(getattr(s, "stats", None), "dead_lettered", 0)
            if rejected:
                self.report.problems["sink_rejected"] += rejected

    def _run_once(self, progress: bool) -> None:
        refs: list[FileRef] = []
        for src in self.sources:
            refs.extend(src.snapshot_complete())
        if self._missing:
            self.report.usage_error = "; ".join(self._missing)
            return
        self._check_keys()
        bar = None
        if progress and refs:
            from rich.progress import Progress

            bar = Progress(transient=True)
            bar.start()
            job = bar.add_task("ingesting backlog", total=len(refs))
        offered = 0
        try:
            for ref in refs:
                if self._stopping():
                    break
                self.offer(ref)
                offered += 1
                while (len(self._inflight) >= self._max_inflight or self._held is not None) and not self._stopping():
                    self._step(0.2)
                if bar is not None:
                    bar.update(job, completed=offered - len(self._inflight))
            while (self._inflight or self._held is not None) and not self._stopping():
                self._step(0.2)
                if bar is not None:
                    bar.update(job, completed=offered - len(self._inflight))
        finally:
            if bar is not None:
                bar.stop()
        left = refs[offered:] + [f.ref for f in self._inflight.values()]
        if left:
            self.report.files_left = len(left)
            self.report.bytes_left = sum(r.size for r in left)
            if self._give_up:
                self.report.undelivered = True
            else:
                self.report.interrupted = True

    def _run_forever(self) -> None:
        threads = [
            threading.Thread(target=self._watch, args=(src,), name=f"source-{src.name}", daemon=True)
            for src in self.sources
        ]
        for t in threads:
            t.start()
        while not self.stop.is_set():
            self._periodic()
            if self._held is None and len(self._inflight) < self._max_inflight:
                try:
                    ref = self._refs.get(timeout=0.05 if self._inflight else 0.5)
                    self.offer(ref)
                except queue.Empty:
                    pass
            self._step(0.05)
        for t in threads:
            t.join(timeout=5)

    def _watch(self, src: Source) -> None:
        try:
            for ref in src.watch(self.stop):
                while not self.stop.is_set():
                    try:
                        self._refs.put(ref, timeout=0.5)
                        break
                    except queue.Full:
                        continue
        except Exception as exc:  # a source bug must show, not kill the collector silently
            log.exception("source %s stopped: %s", src.name, escape(exc))
            self._last_error = (clock.now(), f"source {src.name} stopped: {exc}")
