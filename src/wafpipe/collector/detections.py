"""The detections a collector runs (:mod:`wafpipe.detect`): the shipped Sigma rules and those of
``[detect] rules_dir``, loaded once at start. A rule that cannot run is a configuration error, named
with its file, title and construct, before any file is read. The decode workers run the single-event
rules on every Batch (:mod:`wafpipe.detect.batch`); the findings become alerts in the state.

Correlations need the events around a Batch, so they read the store: :class:`Correlations` runs
them over the last :data:`LOOKBACK_S` plus their own timespan — Imperva delivers up to 30 minutes
late, so an event can complete a burst that long after it happened — every
``[detect] correlation_interval_s`` in a thread of its own (reads run beside ingestion), and once
at the end of ``wafpipe run --once``. A burst found again by the next run joins its alert (the
larger peak counts), so overlapping windows never double an alert.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from wafpipe.clock import utcnow
from wafpipe.collector.alert_outputs import AlertOutputs
from wafpipe.collector.state.store import State
from wafpipe.config.root import Config
from wafpipe.detect import SHIPPED_RULES, Correlation, Detection, UnsupportedRule, load_paths
from wafpipe.detect.engine import evaluate
from wafpipe.errors import ConfigError, WafpipeError

log = logging.getLogger("wafpipe.collector.detections")

LOOKBACK_S = 45 * 60  # Imperva's delivery delay (≤ 30 min) and a margin


def load_detections(config: Config) -> tuple[Detection, ...]:
    """Every configured detection, in load order."""
    settings = config.detect
    paths = [SHIPPED_RULES] if settings.shipped_rules else []
    if settings.rules_dir is not None:
        if not settings.rules_dir.is_dir():
            raise ConfigError(f"[detect] rules_dir: no directory at {settings.rules_dir}",
                              hint="create it and put Sigma rule files (.yml) in it, or remove the setting")  # fmt: skip
        paths.append(settings.rules_dir)
    try:
        return tuple(load_paths(paths))
    except UnsupportedRule as exc:
        raise ConfigError(f"[detect]: {exc}", hint=exc.hint or "fix or remove that rule file") from None


class Correlations:
    """The correlation rules over the store, now (:meth:`run`) or every ``interval_s`` in a thread
    (:meth:`start`); findings become alerts through :meth:`State.record_alerts`."""

    def __init__(self, detections: tuple[Detection, ...], reader: object, state: State, interval_s: float) -> None:
        self.rules = [d for d in detections if isinstance(d, Correlation)]
        self.reader, self.state, self.interval_s = reader, state, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, detections: tuple[Detection, ...], store: Any, state: State, config: Config) -> Correlations:
        """The collector's: over its embedded store (``store``, a DuckDB sink or None: then nothing runs)."""
        from wafpipe.store.service import ReadService

        reader = ReadService(store.cursor) if store is not None else None
        return cls(detections if reader is not None else (), reader, state, config.detect.correlation_interval_s)

    def run(self) -> int:
        """One pass; returns how many alerts it opened. A failed read is logged, not raised."""
        if not self.rules:
            return 0
        now = utcnow()
        since = now - timedelta(seconds=LOOKBACK_S + max(r.timespan_s for r in self.rules))
        try:
            findings = evaluate(self.reader, self.rules, since=since, until=now + timedelta(seconds=1))
        except WafpipeError as exc:
            log.warning("correlation rules not run: %s", exc)
            return 0
        return self.state.record_alerts([f.record() for f in findings])

    def start(self) -> None:
        if self.rules and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="correlations", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        close = getattr(self.reader, "close", None)
        if close is not None:
            close()


class Detecting:
    """What a collector runs for detections besides the workers' rules: the correlations and the
    alert outputs, started together, finished together."""

    def __init__(self, correlations: Correlations, outputs: AlertOutputs) -> None:
        self.correlations, self.outputs = correlations, outputs

    @classmethod
    def of(cls, detections: tuple[Detection, ...], sinks: list[Any], store: Any, state: State,
           config: Config) -> Detecting:  # fmt: skip
        clusters = [s for s in sinks if hasattr(s, "client")] if config.detect.index_alerts else []
        return cls(Correlations.of(detections, store, state, config),
                   AlertOutputs(config.detect.outputs, state, clusters))  # fmt: skip

    def start(self) -> None:
        self.correlations.start()
        self.outputs.start()

    def finish(self, drain_s: float) -> bool:
        """The end of ``run --once``: correlations once, then the outputs get ``drain_s`` to deliver;
        False when something is still waiting (in the state's outbox: the next run sends it)."""
        self.correlations.run()
        return self.outputs.drain(drain_s)

    def stop(self) -> None:
        self.correlations.stop()
        self.outputs.stop()
