"""The collector: sources → decode workers → every sink → checkpoint → ack (DESIGN §2).

Order of operations for each batch, which is what makes a crash harmless:

1. a decode worker turns a slice of a file into events (ids are deterministic);
2. every sink makes the batch durable (insert-if-absent, so a replay adds nothing);
3. only then the state records the file's resume ordinal and the batch's dead letters;
4. after the last batch of a file the state marks it done and the source may delete/move it.

A crash between 2 and 3 replays at most one batch; the ids collapse it. Files are decoded in
parallel by worker processes; one file's batches come from one worker, in order.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

import pyarrow.compute as pc

from wafpipe import clock
from wafpipe.collector.api import LocalApi
from wafpipe.collector.metrics import Metrics
from wafpipe.collector.state.store import State
from wafpipe.collector.workers import DecodePool, Task
from wafpipe.config.root import Config
from wafpipe.failpoints import failpoint
from wafpipe.fields.arrow import column
from wafpipe.model import Batch, Context, FileRef, Problem
from wafpipe.sinks import Sink
from wafpipe.sinks.registry import build_sinks
from wafpipe.sources import Source
from wafpipe.sources.registry import build_sources

log = logging.getLogger("wafpipe.collector.pipeline")

# Problems after which the file is copied to quarantine (DESIGN §7).
QUARANTINE_KINDS = {"checksum", "compression", "decrypt", "missing_key", "container"}


@dataclass
class _InFlight:
    ref: FileRef
    task: Task
    started: float = field(default_factory=time.monotonic)


@dataclass
class RunReport:
    files_done: int = 0
    files_failed: int = 0
    files_quarantined: int = 0
    files_already_done: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    undelivered: bool = False

    @property
    def exit_code(self) -> int:
        if self.undelivered:
            return 3
        return 1 if (self.problems or self.files_failed) else 0


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
        pc = config.pipeline
        self.workers = pc.workers if workers is None else workers
        self.pool = DecodePool(self.workers, pc.batch_size, pc.batch_timeout_s, pc.queue_size)
        self._inflight: dict[int, _InFlight] = {}
        self._next_task = 0
        self._refs: queue.Queue[FileRef] = queue.Queue(maxsize=1024)
        self._serve_api = serve_api
        self.api: LocalApi | None = None
        self._last_success: float | None = None
        self._last_error: tuple[float, str] | None = None
        self._newest_event: datetime | None = None
        # The sink whose counts the run report shows: the embedded store when there is one.
        self._primary: Sink = self._duckdb() or self.sinks[0]

    # -- wiring --------------------------------------------------------------------------------
    def _source_problem(self, problem: Problem) -> None:
        self.metrics.errors.labels(problem.kind).inc()
        self._last_error = (clock.now(), problem.reason)
        self.state.set_health("sources", last_error=clock.now(), error=problem.reason)

    def _duckdb(self) -> Any:
        from wafpipe.sinks.duckdb.sink import DuckDBSink

        for s in self.sinks:
            if isinstance(s, DuckDBSink):
                return s
        return None

    def query(self, expr: str, limit: int, count: bool) -> dict[str, Any]:
        from wafpipe.store.query import compile_query

        store = self._duckdb()
        if store is None:
            return {"error": "no duckdb sink configured"}
        where, params = compile_query(expr)
        if count:
            return {"count": store.count(where, params)}
        events = store.search(where, params, limit=limit)
        return {"events": [{"_id": e.id, **e.doc} for e in events]}

    def health(self) -> dict[str, Any]:
        gaps = self.state.gaps()
        pending = len(self._inflight) + self._refs.qsize()
        return {
            "status": "ok" if not self._last_error or (self._last_success or 0) > self._last_error[0] else "degraded",
            "last_success": self._last_success,
            "last_error": self._last_error[1] if self._last_error else None,
            "last_error_at": self._last_error[0] if self._last_error else None,
            "files_pending": pending,
            "newest_event": self._newest_event.isoformat(timespec="milliseconds").replace("+00:00", "Z") if self._newest_event else None,
            "lag_seconds": self.metrics.lag._value.get(),  # noqa: SLF001 - the gauge's own value
            "gaps": [g.__dict__ for g in gaps],
            "report": {
                "files_done": self.report.files_done,
                "events": self.report.events,
                "stored": self.report.stored,
                "duplicates": self.report.duplicates,
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
        start = self.state.start_file(ref.key)
        self._next_task += 1
        task = Task(
            self._next_task,
            ref,
            str(self.config.keys.dir) if self.config.keys.dir else None,
            start,
            self.config.pipeline.max_line_bytes,
        )
        self._inflight[task.task_id] = _InFlight(ref, task)
        self.metrics.files_pending.set(len(self._inflight))
        self.pool.submit(task)

    def _ack(self, ref: FileRef) -> None:
        try:
            self._sources[ref.source].ack(ref)
        except OSError as exc:
            log.warning("could not apply the after-policy to %s: %s", ref.path, exc)
            return
        failpoint("source.after_ack")

    def _deliver(self, task_id: int, batch: Batch) -> None:
        flight = self._inflight.get(task_id)
        if flight is None:
            return
        key = flight.ref.key
        dead: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        if len(batch):
            for sink in self.sinks:
                result = sink.write(batch)  # durable on return, or raises
                counts[f"{sink.name}_written"] += result.written
                counts[f"{sink.name}_duplicates"] += result.duplicates
                counts[f"{sink.name}_spooled"] += result.spooled
                self.metrics.stored.labels(sink.name).inc(result.written)
                self.metrics.duplicates.labels(sink.name).inc(result.duplicates)
                for rejected in result.rejected:
                    dead.append(rejected.record())
                    self.report.problems[rejected.kind] += 1
                if sink is self._primary:
                    self.report.stored += result.written + result.spooled
                    self.report.duplicates += result.duplicates
            counts["events"] = len(batch)
            self.report.events += len(batch)
            self.metrics.events.inc(len(batch))
            newest = pc.max(column(batch.events, "@timestamp")).as_py()
            if newest is not None and (self._newest_event is None or newest > self._newest_event):
                self._newest_event = newest
                self._update_lag()
        for p in batch.problems:
            self._problem(p, dead)
        self.state.commit_batch(key, batch.next_ordinal, counts, dead)
        failpoint("state.after_checkpoint")
        now = clock.now()
        self._last_success = now
        self.metrics.last_success.set(now)
        if batch.final:
            self._finish(task_id, flight, batch)

    def _problem(self, p: Problem, dead: list[dict[str, Any]]) -> None:
        self.report.problems[p.kind] += 1
        self.metrics.errors.labels(p.kind).inc()
        log.warning("%s", p.message())
        if p.raw is not None or p.kind not in QUARANTINE_KINDS:
            dead.append(p.record())

    def _finish(self, task_id: int, flight: _InFlight, batch: Batch) -> None:
        ref, key = flight.ref, flight.ref.key
        del self._inflight[task_id]
        self.metrics.files_pending.set(len(self._inflight))
        info = batch.info
        if info is not None:
            self.metrics.bytes.inc(info.body_bytes)
        if batch.error:
            self.report.files_failed += 1
            self.report.problems["io"] += 1
            self.metrics.errors.labels("io").inc()
            self.metrics.files.labels("failed").inc()
            msg = f"{ref.path}: cannot read: {batch.error} — it will be retried"
            log.warning(msg)
            self._last_error = (clock.now(), msg)
            self.state.mark_failed(key, batch.error)
            return
        if info is not None and info.identity:
            self.state.set_identity(key, info.identity)
            self.state.record_header(info.identity.hex(), dict(info.header), source=ref.source, name=ref.name)
        bad = [p for p in batch.problems if p.kind in QUARANTINE_KINDS]
        if bad:
            reason = "; ".join(p.message() for p in bad)
            self.state.quarantine(ref.path, reason, name=ref.name, key=key, details={"file": ref.path})
            if any(p.fatal_to_file for p in bad):
                self.report.files_quarantined += 1
                self.metrics.files.labels("quarantined").inc()
                self._ack(ref)
                return
        self.state.mark_done(key)
        self.report.files_done += 1
        self.metrics.files.labels("done").inc()
        self.state.set_health("pipeline", last_success=clock.now())
        self._ack(ref)

    def _update_lag(self) -> None:
        if self._newest_event is not None:
            self.metrics.lag.set(max(0.0, clock.now() - self._newest_event.timestamp()))

    # -- loops -----------------------------------------------------------------------------------
    def _pump(self, timeout: float) -> None:
        for task_id, batch in self.pool.results(timeout):
            self._deliver(task_id, batch)
        self.metrics.queue_depth.labels("decoded").set(self.pool.depth())
        self.metrics.queue_depth.labels("files").set(self._refs.qsize())

    def _open(self) -> None:
        for s in self.sinks:
            s.open()
        if self._serve_api:
            self.api = LocalApi(
                self.config.data_dir,
                health=self.health,
                metrics=self.metrics.render,
                query=self.query,
                port=self.config.api.port,
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
            log.info("signal %s: finishing the batch in hand, then stopping", signum)
            self.stop.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def run(self, *, once: bool = False, progress: bool | None = None) -> RunReport:
        self._install_signals()
        self._open()
        try:
            if once:
                self._run_once(progress if progress is not None else sys.stderr.isatty())
            else:
                self._run_forever()
            drain = self.config.pipeline.drain_timeout_s
            for s in self.sinks:
                if not s.flush(timeout=drain):
                    self.report.undelivered = True
                # Spooling sinks dead-letter asynchronously (into the state); count them here.
                rejected = getattr(getattr(s, "stats", None), "dead_lettered", 0)
                if rejected:
                    self.report.problems["sink_rejected"] += rejected
        finally:
            self._close()
        return self.report

    def _run_once(self, progress: bool) -> None:
        refs: list[FileRef] = []
        for src in self.sources:
            refs.extend(src.snapshot_complete())
        bar = None
        if progress and refs:
            from rich.progress import Progress

            bar = Progress(transient=True)
            bar.start()
            job = bar.add_task("ingesting backlog", total=len(refs))
        for ref in refs:
            if self.stop.is_set():
                break
            self.offer(ref)
            while len(self._inflight) >= max(2, self.workers * 2) and not self.stop.is_set():
                self._pump(0.2)
        while self._inflight and not self.stop.is_set():
            self._pump(0.2)
            if bar is not None:
                bar.update(job, completed=len(refs) - len(self._inflight))
        if bar is not None:
            bar.stop()

    def _run_forever(self) -> None:
        threads = [
            threading.Thread(target=self._watch, args=(src,), name=f"source-{src.name}", daemon=True)
            for src in self.sources
        ]
        for t in threads:
            t.start()
        while not self.stop.is_set():
            try:
                ref = self._refs.get(timeout=0.05 if self._inflight else 0.5)
                self.offer(ref)
            except queue.Empty:
                pass
            self._pump(0.05)
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
            log.exception("source %s stopped: %s", src.name, exc)
            self._last_error = (clock.now(), f"source {src.name} stopped: {exc}")
