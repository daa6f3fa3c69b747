"""The collector: sources → decode workers → every sink → checkpoint → ack (DESIGN §2).

Order of operations for each batch, which is what makes a crash harmless:

1. a decode worker turns a slice of a file into events (ids are deterministic);
2. every sink makes the batch durable (insert-if-absent, so a replay adds nothing);
3. only then the state records the file's resume ordinal and the batch's dead letters and alerts
   (a few batches per commit: :mod:`.checkpoints`);
4. after the last batch of a file the state marks it done and the source may delete/move it.

A crash between 2 and 3 replays at most :data:`~.checkpoints.GROUP_BATCHES` batches, which the
sinks recognise. One file's batches come from one worker, in order.

Named parts: :mod:`.delivery` (a Batch's way to the sinks and the state, back-pressure, dead
workers, missing keys), :mod:`.workers` (decode processes), :mod:`.status` (health, the start-up
line), :mod:`.report` (a run's outcome), :mod:`.keywait` (files waiting for a key),
:mod:`.detections` (Sigma rules → alerts), :mod:`.progress` (``--once``'s bar on a terminal). This
module wires them and runs the loops.

The loops, and why they look as they do (DESIGN §4, issue 18):

* **Nothing blocks for long**: the loops wait on the workers' pipes in slices of at most a fraction
  of a second, so a signal, a key that appears or a spool that drains is acted on at once.
* **Ctrl-C** (SIGINT or SIGTERM) finishes the batch in hand and stops; a second one exits at once
  (what is acknowledged stays acknowledged; the next run resumes). A ``--once`` run stopped with
  files left exits 130 and says how many; a watching collector stopped by a signal exits 0.
* **``--once`` ends**: after the backlog (retention and correlations run once), the spools get
  ``pipeline.drain_timeout_s`` to deliver (exit 3 if not); a missing source path is exit 2.
* **Every second** files waiting for a key are looked at; a source's cleared problems clear its health.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from wafpipe import clock
from wafpipe.collector.delivery import BACKPRESSURE, Delivery
from wafpipe.collector.detections import Detecting, load_detections
from wafpipe.collector.drain import drain_spools
from wafpipe.collector.jobs import Jobs, replay_through
from wafpipe.collector.keywait import KeyWaits
from wafpipe.collector.logs import escape
from wafpipe.collector.memory import pin_mmap_threshold
from wafpipe.collector.metrics import Metrics
from wafpipe.collector.progress import BacklogProgress
from wafpipe.collector.report import RunReport, SinkTotals
from wafpipe.collector.state.store import State
from wafpipe.collector.status import SOURCES, outstanding, problem_text, spools, start_line
from wafpipe.collector.workers import DecodePool, WorkerDied
from wafpipe.config.root import Config
from wafpipe.enrich.redaction import Redactor
from wafpipe.model import Context, FileRef
from wafpipe.sinks import Sink
from wafpipe.sinks.duckdb import DuckDBSink
from wafpipe.sinks.registry import build_sinks
from wafpipe.sources import Source
from wafpipe.sources.registry import build_sources

if TYPE_CHECKING:
    from wafpipe.collector.api import LocalApi

log = logging.getLogger("wafpipe.collector.pipeline")

PERIODIC_S = 1.0  # how often the loops look at the keys directory and the sources' problems


class Collector:
    """``run(once=True)`` for ``wafpipe run --once``; ``run()`` watches until SIGINT/SIGTERM."""

    def __init__(self, config: Config, *, workers: int | None = None, serve_api: bool = True,
                 on_ui: Callable[[str], None] | None = None, pool: DecodePool | None = None) -> None:
        """``on_ui``: serve the web UI too (``wafpipe serve``), and call this with its login URL.
        ``pool``: the decode workers, started earlier (``wafpipe run`` starts the first before this
        module is imported), in place of ``workers``; the collector closes it."""
        self.config = config
        self.state = State(config.data_dir)
        self.metrics = Metrics()
        self.report = RunReport()
        self.stop = threading.Event()
        # Built here so that a missing hash key stops the start; the workers build their own.
        self.redactor = Redactor.from_config(config.redaction)
        keep_raw = self.redactor is None or config.redaction is None or config.redaction.keep_raw
        context = Context(config.data_dir, state=self.state, on_source_problem=self._source_problem,
                          keep_raw_files=keep_raw)
        self.sinks: list[Sink] = build_sinks(config, context)
        self.sources: list[Source] = build_sources(config, context)
        self.store = next((s for s in self.sinks if isinstance(s, DuckDBSink)), None)  # the embedded store
        self.pool = pool if pool is not None else DecodePool.configured(config.pipeline, workers)
        self.workers = self.pool.workers
        self._max_inflight = max(2, self.workers * 2)
        self._refs: queue.Queue[FileRef] = queue.Queue(maxsize=1024)
        self._serve_api = serve_api
        self._on_ui = on_ui
        self.api: LocalApi | None = None
        self.jobs = Jobs()  # what the API asks this loop to do (dead-letter replay)
        self.detecting: Detecting | None = None  # correlations and alert outputs
        self._once = False
        self._missing: list[str] = []  # --once: source paths that do not exist
        self._signals = 0
        self._next_periodic = 0.0
        self._key_waits = KeyWaits(self.state, Path(config.keys.dir) if config.keys.dir else None)
        self.report.sinks = {s.name: SinkTotals("spool" if spools(s) else "store") for s in self.sinks}
        self.flow = Delivery(
            config, self.state, self.sinks, {src.name: src for src in self.sources}, self.pool, self.report,
            self.metrics, self._key_waits,
            primary=self.store or self.sinks[0], detections=load_detections(config),
            redactor=None if keep_raw else self.redactor,
        )

    # -- wiring --------------------------------------------------------------------------------
    def _source_problem(self, problem: Any) -> None:
        kind, text = problem.kind, problem_text(problem)
        if kind == "missing" and self._once:
            self._missing.append(text)  # --once: a usage error (exit 2), reported by run
            return
        self.report.problems[kind] += 1
        self.metrics.errors.labels(kind).inc()
        self.flow.last_error = (clock.now(), text)
        self.state.set_health(SOURCES, last_error=time.time(), error=text)

    # -- health ----------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Everything that needs a person now, one line each (empty: all is well). A problem stays
        until it is resolved: a later success elsewhere does not hide it."""
        held = self.flow.held.reason if self.flow.held is not None else None
        return outstanding(held, self.sinks, self.sources, self.state, self._key_waits)

    def health(self) -> dict[str, Any]:
        """This process's live status, the ``collector`` part of ``/api/health``. Its ``problems``
        become the answer's one list (:mod:`wafpipe.store.health`); the state's gaps, file counts
        and components are given there once, not again here."""
        problems = self.problems()
        pending = len(self.flow.inflight) + self._refs.qsize()
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "backpressure": self.flow.held.reason if self.flow.held is not None else None,
            "last_success": self.flow.last_success,
            "last_error": self.flow.last_error[1] if self.flow.last_error else None,
            "last_error_at": self.flow.last_error[0] if self.flow.last_error else None,
            "files_pending": pending,
            "newest_event": self.flow.newest_event.isoformat(timespec="milliseconds").replace("+00:00", "Z") if self.flow.newest_event else None,
            "lag_seconds": self.metrics.lag._value.get(),  # noqa: SLF001 - the gauge's own value
            "retention": self.store.retention.describe() if self.store is not None else None,
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
        self.flow.offer(ref)

    # -- loops -----------------------------------------------------------------------------------
    def _stopping(self) -> bool:
        return self.stop.is_set() or self.flow.give_up

    def _step(self, timeout: float) -> None:
        """Deliver what the workers have decoded (or retry a held batch), for up to ``timeout``."""
        self.jobs.run_pending()
        if self.flow.held is not None and not self.flow.release_held():
            self.stop.wait(min(timeout, 0.25))
            return
        if self.flow.held is None:
            for task_id, item in self.pool.results(timeout if self.flow.inflight else min(timeout, 0.05)):
                if isinstance(item, WorkerDied):
                    self.flow.worker_died(task_id, item)
                elif not self.flow.deliver(task_id, item):
                    break  # held: read nothing more until the spool drains
                del item  # delivered: not kept alive while the next Batch is read
            self.flow.checkpoints.commit()  # none ready, or one held: what was delivered is recorded now
        self.metrics.queue_depth.labels("decoded").set(self.pool.depth())
        self.metrics.queue_depth.labels("files").set(self._refs.qsize())

    def _periodic(self) -> None:
        now = time.monotonic()
        if now < self._next_periodic:
            return
        self._next_periodic = now + PERIODIC_S
        self._check_keys()
        self._apply_retention()
        rec = self.state.health().get(SOURCES)
        if rec is not None and not rec.ok and not any(getattr(s, "problems", None) for s in self.sources):
            self.state.set_health(SOURCES, last_success=time.time())

    def _apply_retention(self) -> None:
        """The embedded store's retention, when due (hourly; the sink logs what it deleted)."""
        if self.store is not None:
            self.store.maintain()

    def _check_keys(self) -> None:
        if len(self._key_waits) and self.flow.held is None:
            for ref, entry in self._key_waits.restartable({f.ref.key for f in self.flow.inflight.values()}):
                self.flow.start(ref, ack=False, wait=entry)

    def _open(self) -> None:
        rec = self.state.health().get(BACKPRESSURE)
        if rec is not None and not rec.ok:  # left by a process that was killed while held
            self.state.set_health(BACKPRESSURE, last_success=time.time())
        for s in self.sinks:
            s.open()
        self.detecting = Detecting.of(self.flow.detections, self.sinks, self.store, self.state, self.config)
        if not self._once:
            self.detecting.start()

    def _serve(self) -> None:
        """Start the local API (and the UI), once the sinks are open (it reads the store)."""
        if self._serve_api:
            # Imported here, not with this module: the API (FastAPI, the web UI, the read side:
            # ~0.45 s) then loads while the first worker decodes, not before it (run).
            from wafpipe.collector.api import LocalApi
            from wafpipe.store.service import ReadService

            # The read side (DESIGN §4) on this process's store and state: it sees every commit.
            reader = ReadService(self.store.cursor if self.store is not None else None, state=self.state, live=self.health)
            api = self.config.api
            self.api = LocalApi(self.config.data_dir, metrics=lambda: self.metrics.render(self.state.health()),
                                reader=reader, ui=self._on_ui is not None, **api.server_options(),
                                replay=replay_through(self.jobs, self.state, self.sinks, self.config),
                                ack=self.state.acknowledge_alerts)
            self.api.start()
            if self._on_ui is not None:
                self._on_ui(self.api.login_url())

    def _close(self) -> None:
        gc.unfreeze()  # the process may go on (a test, `serve` after a restart): collectable again
        if self.api is not None:
            self.api.stopping()  # its server takes ~0.2 s to end: the workers stop meanwhile
        try:  # also after an error: every sink has these Batches
            self.flow.checkpoints.commit()
        except Exception as exc:  # the state itself failed: they are read again at the next start
            log.error("recording the last delivered batches in the state: %s", escape(exc))
        self.pool.close()
        if self.api is not None:
            self.api.stop()
        self.jobs.cancel_all()  # no request can ask for more now
        if self.detecting is not None:
            self.detecting.stop()
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

    def run(self, *, once: bool = False, progress: bool | None = None) -> RunReport:
        self._once = self.flow.once = once
        self.report.watch = not once
        self._install_signals()
        pin_mmap_threshold()  # the main process receives and appends Batch after Batch too
        try:
            self.pool.prestart(1 if once else 0)  # a backlog: one worker starts while the sinks open
            self._open()
            backlog = self._first_files() if once else None
            self._serve()
            # What is loaded by now (modules, configuration, rules, the API: ~100 000 objects) lives
            # as long as the collector: out of the garbage collector's sight, its full collections
            # no longer walk it (on a 1 M-event backlog: 0.52 → 0.08 s of the main process). The
            # garbage of the start-up is collected first: frozen, it would never be.
            gc.collect()
            gc.freeze()
            url = getattr(self.api, "url", None) if self.api is not None else None
            log.info("%s", start_line(once, self.sources, self.sinks, url, self.workers))
            if once:
                if backlog is not None:  # None: a source's path is missing (a usage error)
                    self._run_once(backlog, progress if progress is not None else sys.stderr.isatty())
            else:
                self._run_forever()
            if not self.report.usage_error:
                drain_spools(self.sinks, self.report, once=once, timeout_s=self.config.pipeline.drain_timeout_s,
                             give_up=self.flow.give_up, stop=self.stop)  # fmt: skip
        finally:
            self._close()
        return self.report

    def _first_files(self) -> tuple[list[FileRef], int] | None:
        """``--once``: the backlog and how many of its files are handed to the workers already;
        None when a source's path is missing (a usage error). Called before the API starts: its
        start-up (FastAPI, ~0.2 s) then overlaps the first file's first pass (inflate and MD5 of
        the whole body, ~0.4 s for 100 000 events) instead of delaying it."""
        refs = [ref for src in self.sources for ref in src.snapshot_complete()]
        if self._missing:
            self.report.usage_error = "; ".join(self._missing)
            return None
        self._check_keys()
        return refs, self._offer_backlog(refs, 0, BacklogProgress(0, show=False), wait=False)

    def _offer_backlog(self, refs: list[FileRef], offered: int, bar: BacklogProgress, *, wait: bool) -> int:
        """Hand ``refs[offered:]`` to the workers while they have room for more files, waiting for
        room (``wait``: delivering what they decode meanwhile) or stopping where there is none;
        the number of ``refs`` offered so far."""
        for ref in refs[offered:]:
            while (len(self.flow.inflight) >= self._max_inflight or self.flow.held is not None) and not self._stopping():
                if not wait:
                    return offered
                self._step(0.2)
            if self._stopping():
                break
            self.offer(ref)
            offered += 1
            bar.update(done=offered - len(self.flow.inflight))
        return offered

    def _run_once(self, backlog: tuple[list[FileRef], int], progress: bool) -> None:
        refs, offered = backlog
        bar = BacklogProgress(len(refs), show=progress)
        try:
            while True:  # a remote source with a full spool (has_more) is asked again once it drained
                offered = self._offer_backlog(refs, offered, bar, wait=True)
                while (self.flow.inflight or self.flow.held is not None) and not self._stopping():
                    self._step(0.2)
                    bar.update(done=offered - len(self.flow.inflight))
                more = [s for s in self.sources if s.has_more] if not self._stopping() else []
                todo = [ref for s in more for ref in s.snapshot_complete()]
                if not todo:
                    break
                refs += todo
                bar.update(total=len(refs))
            self._apply_retention()  # the backlog is in: what it brought past retention goes too
            if self.detecting is not None and not self.detecting.finish(self.config.pipeline.drain_timeout_s):
                self.report.undelivered = True  # alerts wait in the state's outbox for the next run
        finally:
            bar.close()
        left = refs[offered:] + [f.ref for f in self.flow.inflight.values()]
        if left:
            self.report.files_left = len(left)
            self.report.bytes_left = sum(r.size for r in left)
            if self.flow.give_up:
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
            if self.flow.held is None and len(self.flow.inflight) < self._max_inflight:
                try:
                    ref = self._refs.get(timeout=0.05 if self.flow.inflight else 0.5)
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
            self.flow.last_error = (clock.now(), f"source {src.name} stopped: {exc}")
