"""Prometheus metrics of the collector (served at ``/metrics`` by the local API)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


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

    def render(self) -> bytes:
        return generate_latest(self.registry)
