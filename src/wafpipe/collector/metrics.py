"""Prometheus metrics of the collector (served at ``/metrics`` by the local API)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from wafpipe.collector.state.schema import HealthRecord
from wafpipe.model import SOURCE_HEALTH_PREFIX


class Metrics:
    """One registry per collector, so tests can run several collectors in one process."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.events = Counter("wafpipe_events_total", "Events decoded", registry=r)
        self.stored = Counter("wafpipe_events_stored_total", "Events newly stored", ["sink"], registry=r)
        self.duplicates = Counter(
            "wafpipe_events_duplicate_total", "Events a sink already had (first write wins)", ["sink"], registry=r
        )
        self.bytes = Counter("wafpipe_bytes_total", "Decoded body bytes read", registry=r)
        self.files = Counter("wafpipe_files_total", "Files finished", ["status"], registry=r)
        self.errors = Counter("wafpipe_errors_total", "Problems by kind", ["kind"], registry=r)
        self.redacted = Counter("wafpipe_redacted_values_total", "Values replaced by redaction", ["rule"], registry=r)
        self.lag = Gauge("wafpipe_lag_seconds", "Age of the newest stored event", registry=r)
        self.queue_depth = Gauge("wafpipe_queue_depth", "Items waiting", ["queue"], registry=r)
        self.files_pending = Gauge("wafpipe_files_pending", "Files seen but not yet done", registry=r)
        self.backpressure = Gauge(
            "wafpipe_backpressure", "1 while a full sink spool holds the collector back", registry=r
        )
        self.worker_restarts = Counter(
            "wafpipe_decode_worker_restarts_total", "Decode workers that died and were replaced", registry=r
        )
        self.last_success = Gauge(
            "wafpipe_last_success_timestamp_seconds", "When a batch was last acknowledged", registry=r
        )

        by_source = ["source"]
        self.source_up = Gauge("wafpipe_source_up", "1 while a remote source's last attempt succeeded",
                               by_source, registry=r)
        self.source_last_success = Gauge("wafpipe_source_last_success_timestamp_seconds",
                                         "When a remote source last reached its server", by_source, registry=r)
        self.source_last_error = Gauge("wafpipe_source_last_error_timestamp_seconds",
                                       "When a remote source last failed", by_source, registry=r)
        self.source_lag = Gauge("wafpipe_source_lag_seconds", "Age of the newest file a remote source has seen",
                                by_source, registry=r)
        self.source_pending = Gauge("wafpipe_source_files_pending", "Files a remote source handed on, not yet stored",
                                    by_source, registry=r)
        self.source_gaps = Gauge("wafpipe_source_gaps", "Gaps (files lost before they could be fetched) a "
                                 "remote source found since the collector started", by_source, registry=r)
        self.source_spool_bytes = Gauge("wafpipe_source_spool_bytes", "Bytes in a remote source's spool",
                                        by_source, registry=r)

    def update_sources(self, health: Mapping[str, HealthRecord]) -> None:
        """The remote sources' gauges from their health records in the state (read at each scrape)."""
        now = time.time()
        for component, rec in health.items():
            if not component.startswith(SOURCE_HEALTH_PREFIX):
                continue
            name, details = component[len(SOURCE_HEALTH_PREFIX):], rec.details
            self.source_up.labels(name).set(1 if rec.ok else 0)
            if rec.last_success is not None:
                self.source_last_success.labels(name).set(rec.last_success)
            if rec.last_error is not None:
                self.source_last_error.labels(name).set(rec.last_error)
            if details.get("newest_file_s") is not None:
                self.source_lag.labels(name).set(max(0.0, now - float(details["newest_file_s"])))
            self.source_pending.labels(name).set(float(details.get("files_pending", 0)))
            self.source_gaps.labels(name).set(float(details.get("gaps", 0)))
            self.source_spool_bytes.labels(name).set(float(details.get("bytes_in_spool", 0)))

    def render(self, health: Mapping[str, HealthRecord] | None = None) -> bytes:
        """The Prometheus text; with the state's ``health`` records, the sources' gauges first."""
        if health is not None:
            self.update_sources(health)
        return generate_latest(self.registry)
