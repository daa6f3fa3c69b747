"""The background sender of a cluster sink: drains the spool into ``_bulk`` requests.

Why per-item handling and not ``helpers.streaming_bulk``: the spool already holds ready NDJSON, so
a chunk of a segment *is* the request body (no re-serialising), and each item needs its own fate —
201/409 delivered, 429/5xx/401/403 retried with backoff and jitter for as long as it takes (the spool
is the buffer, so nothing is dropped), mapping errors dead-lettered at once with the cluster's
reason, anything else retried ``max_retries`` times and then dead-lettered. A request refused as a
whole (400/413) is split in halves until the culprit is alone. A chunk is acknowledged to the spool
only when every one of its records has a final fate.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from wafpipe.failpoints import failpoint
from wafpipe.model import Problem
from wafpipe.sinks.common.sending import SenderHealth, SenderStats, backoff_delay
from wafpipe.sinks.common.spool import Chunk, Spool
from wafpipe.sinks.elasticsearch.assets.templates import TEMPLATE
from wafpipe.sinks.elasticsearch.client import ClusterClient, Rejected, Transient, classify, error_reason
from wafpipe.sinks.elasticsearch.client import item as bulk_item

if TYPE_CHECKING:
    from wafpipe.model import StateRecorder

log = logging.getLogger("wafpipe.sinks.elasticsearch.sink")
_WAKE_CHECK_S = 0.1  # how often a backoff sleep looks whether another thread saw the cluster recover


@dataclass
class SinkOptions:
    """Tuning knobs; the config model supplies the first ones, the rest have safe defaults."""

    batch_size: int = 1000  # records per _bulk request
    max_bulk_bytes: int = 8 << 20
    max_retries: int = 5  # for per-item errors that are neither transient nor mapping errors
    retry_backoff_s: float = 0.5
    retry_max_backoff_s: float = 30.0
    spool_max_bytes: int = 1 << 30
    spool_block_timeout_s: float = 300.0
    senders: int = 2  # bulk requests in flight
    fsync: bool = True


class Sender:
    """Shared by every sender thread of one sink (the threads only share thread-safe parts)."""

    def __init__(self, name: str, client: ClusterClient, spool: Spool, opt: SinkOptions, stats: SenderStats,
                 stop: threading.Event) -> None:
        self.name = name
        self.client = client
        self.spool = spool
        self.opt = opt
        self.stats = stats
        self.stop = stop
        self.health = SenderHealth(lambda: self.name, log, lambda: self.spool.pending_bytes, None, client.redact, stats)
        self._bootstrapped: set[str] = set()
        self._checked_template = False
        self._recoveries = 0  # bumped when the cluster answers again after failures: wakes backoffs

    def run(self) -> None:
        """Thread body: read a chunk, deliver it, acknowledge it, until stopped. A chunk handed out
        is never abandoned: after an unexpected error (a bug, the dead-letter store failing) the
        same chunk is delivered again — re-sent documents come back 409 — because the spool's
        cursor cannot move past a chunk that is not acknowledged."""
        while not self.stop.is_set():
            try:
                chunk = self.spool.read(self.opt.batch_size, self.opt.max_bulk_bytes, timeout=0.5)
            except Exception as exc:
                self._failed(f"cannot read the spool: {type(exc).__name__}: {exc}")
                self.stop.wait(self.opt.retry_max_backoff_s)
                continue
            if chunk is None:
                continue
            while not self.stop.is_set():
                try:
                    if not self._checked_template:
                        self._check_template()
                    if self._deliver(chunk):
                        failpoint("sender.after_send")  # every record answered; chunk not acked
                        if self.spool.ack(chunk):
                            failpoint("sender.after_cursor")  # the spool's cursor is written
                    break
                except Exception as exc:
                    self._failed(f"sender error: {type(exc).__name__}: {self.client.redact(str(exc))}")
                    self.stop.wait(self.opt.retry_backoff_s)

    def _deliver(self, chunk: Chunk) -> bool:
        """Deliver or dead-letter every record of ``chunk``; False when stopped first.

        The common case costs one request and no per-record work: the chunk is the request body
        and an answer with ``errors: false`` means every document was created. Records are split
        out only when some item needs a retry or a dead letter."""
        Records = list[tuple[bytes, bytes]]
        groups: list[tuple[Records | None, bytes | None]] = [(None, chunk.body)]  # None: the whole chunk
        tries: dict[bytes, int] = {}
        attempt = 0
        while groups:
            group, body = groups.pop()
            if body is None:
                assert group is not None
                body = b"".join(a + b"\n" + s + b"\n" for a, s in group)
            size = chunk.records if group is None else len(group)
            if self.stop.is_set():
                return False
            with self.stats.lock:
                self.stats.requests += 1
            try:
                errors, items = self.client.bulk(body)
                if len(items) != size:
                    raise Transient(f"the _bulk answer has {len(items)} items for {size} documents")
            except Transient as exc:
                self._failed(str(exc))
                groups.append((group, body))
                if not self._backoff(attempt):
                    return False
                attempt += 1
                continue
            except Rejected as exc:
                group = _records(chunk) if group is None else group
                if len(group) == 1:
                    self._dead_letter([(group[0], f"HTTP {exc.status}: {exc}")])
                else:
                    half = len(group) // 2
                    groups += [(group[half:], None), (group[:half], None)]
                continue
            if not errors:
                with self.stats.lock:
                    self.stats.written += size
                self._recovered()
                continue
            group = _records(chunk) if group is None else group
            retry, dead, progress = self._sort(group, [bulk_item(i) for i in items], tries)
            if dead:
                self._dead_letter(dead)
            if progress:
                self._recovered()
            if retry:
                groups.append((retry, None))
                attempt = 0 if progress else attempt + 1
                if not self._backoff(attempt):
                    return False
        return True

    def _sort(
        self, group: list[tuple[bytes, bytes]], items: list[dict[str, Any]], tries: dict[bytes, int]
    ) -> tuple[list[tuple[bytes, bytes]], list[tuple[tuple[bytes, bytes], str]], bool]:
        retry: list[tuple[bytes, bytes]] = []
        dead: list[tuple[tuple[bytes, bytes], str]] = []
        written = duplicates = 0
        for record, item in zip(group, items, strict=True):
            kind = classify(item)
            if kind == "ok":
                written += 1
            elif kind == "duplicate":
                duplicates += 1
            elif kind == "retry":
                retry.append(record)
            elif kind == "rejected":
                dead.append((record, error_reason(item.get("error"))))
            else:
                if kind == "no_alias":
                    self._bootstrap(str(item.get("_index", "")))
                n = tries[record[0]] = tries.get(record[0], 0) + 1
                if n > self.opt.max_retries:
                    dead.append((record, f"HTTP {item.get('status')}: {error_reason(item.get('error'))} "
                                         f"(gave up after {n} attempts)"))
                else:
                    retry.append(record)
        with self.stats.lock:
            self.stats.written += written
            self.stats.duplicates += duplicates
        if retry and not written and not duplicates:
            first = next(i for r, i in zip(group, items, strict=True) if r is retry[0])
            self._failed(f"{len(retry)} documents to retry, e.g. HTTP {first.get('status')}: "
                         f"{error_reason(first.get('error'))}")
        return retry, dead, bool(written or duplicates or dead)

    def _dead_letter(self, dead: list[tuple[tuple[bytes, bytes], str]]) -> None:
        records = []
        for (action, source), reason in dead:
            meta = next(iter(orjson.loads(action).values()))
            try:
                document: Any = orjson.loads(source)
            except orjson.JSONDecodeError:
                document = source.decode("utf-8", "replace")
            path = ((document.get("log") or {}).get("file") or {}).get("path") if isinstance(document, dict) else None
            records.append(Problem(
                "sink_rejected", path or "", reason,
                "fix the cause (the index mapping or template), then run `wafpipe deadletters replay`",
                raw=source, event_id=meta.get("_id"), sink=self.name, context={"index": meta.get("_index")},
            ).record())
        if records:  # one line per bulk answer, not one per document (issue 18)
            log.warning("%s: %d document(s) dead-lettered, e.g. %s: %s", self.name, len(records),
                        records[0].get("id"), records[0].get("reason"))
        if self.state is not None:
            self.state.add_dead_letters(records)
        with self.stats.lock:
            self.stats.dead_lettered += len(records)

    def _backoff(self, attempt: int) -> bool:
        """Sleep for exponential backoff with jitter; False when the sink is stopping.

        The sleep ends early when another thread of this sink sees the cluster answer again: the
        chunk this thread holds is the oldest undelivered one more often than not, and the spool's
        cursor (so its pending bytes, its back-pressure and the end of ``--once``) cannot move past
        it — without this a recovered cluster could wait ``retry_max_backoff_s`` for it."""
        delay = backoff_delay(attempt, self.opt.retry_backoff_s, self.opt.retry_max_backoff_s)
        seen = self._recoveries
        deadline = time.monotonic() + delay
        while not self.stop.wait(min(_WAKE_CHECK_S, max(0.0, deadline - time.monotonic()))):
            if self._recoveries != seen or time.monotonic() >= deadline:
                return True
        return False

    def _bootstrap(self, alias: str) -> None:
        """Rollover-alias mode (OpenSearch ``use_data_stream = false``): create ``<alias>-000001``
        as the alias's write index the first time a write finds no alias."""
        if not alias or alias in self._bootstrapped:
            return
        try:
            status, body = self.client.request(
                "PUT", f"/{alias}-000001", {"aliases": {alias: {"is_write_index": True}}})
        except Transient as exc:
            self._failed(str(exc))
            return
        if status < 300 or "already_exists" in str(body):
            self._bootstrapped.add(alias)
            log.info("%s: created %s-000001 as the write index of %s", self.name, alias, alias)

    def _check_template(self) -> None:
        """Warn once when our index template is missing (documents would get another mapping)."""
        self._checked_template = True
        try:
            status, _ = self.client.request("GET", f"/_index_template/{TEMPLATE}")
        except Transient:
            self._checked_template = False
            return
        if status == 404:
            log.warning("%s: index template %s is not installed on %s; run `wafpipe elastic setup` so "
                        "documents get wafpipe's mappings", self.name, TEMPLATE, self.client.display)

    # ------------------------------------------------------------------------------ health
    @property
    def state(self) -> StateRecorder | None:
        """Where dead letters and health go (set by the sink once it has the collector's state)."""
        return self.health.state

    @state.setter
    def state(self, value: StateRecorder | None) -> None:
        self.health.state = value

    def _failed(self, message: str) -> None:
        self.health.failed(message)

    def _recovered(self) -> None:
        if self.health.recovered():
            with self.stats.lock:
                self._recoveries += 1  # the other threads stop their backoff and retry their chunk


def _records(chunk: Chunk) -> list[tuple[bytes, bytes]]:
    lines = chunk.body.split(b"\n")
    return [(lines[i], lines[i + 1]) for i in range(0, 2 * chunk.records, 2)]
