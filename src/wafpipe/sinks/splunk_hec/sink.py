"""The Splunk HEC sink: the shared fsync'd spool (:mod:`wafpipe.sinks.common.spool`) in front of one
sender thread that posts events to ``/services/collector/event``.

Why this shape (DESIGN §2, :mod:`wafpipe.sinks.common.spooling`): ``write`` returns once a
Batch's HEC events are fsync'd in the spool; the sender posts them in order, ``batch_size`` per request,
and moves the cursor only when a request is answered 200 — and, with ``ack = true``, only when the
indexers acknowledged it on the sink's channel (a request unacknowledged after ``ack_timeout_s`` is
sent again). Answers:

* 503 (server busy), 429, other 5xx, no answer, 401/403 (a token problem an operator can fix) →
  retried with exponential backoff and jitter, for as long as it takes (the spool is the buffer);
* 400 naming ``invalid-event-number`` n → HEC took the n events before it: they are delivered, the
  n-th becomes a ``sink_rejected`` dead letter with HEC's reason, the rest are sent again;
  a 400 without a number is split in halves until the culprit is alone.

HEC cannot tell a repeat, so Batches replayed after a crash are not spooled twice
(:class:`~wafpipe.sinks.common.marks.Marks`); each event carries its id as the indexed field
``wafpipe_id`` so a search can tell one sent twice (a crash between a post and the cursor).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from wafpipe.errors import SinkError
from wafpipe.fields.arrow import column
from wafpipe.model import Batch, Problem
from wafpipe.sinks.common.sending import backoff_delay
from wafpipe.sinks.common.spool import Chunk
from wafpipe.sinks.common.spooling import SpoolingSink
from wafpipe.sinks.splunk_hec.client import EVENT_PATH, HecClient, Transient

if TYPE_CHECKING:
    from wafpipe.model import StateRecorder

log = logging.getLogger("wafpipe.sinks.splunk_hec")
_RETRIED = {401, 403, 408, 429}  # besides every 5xx


@dataclass(frozen=True)
class HecOptions:
    sourcetype: str = "imperva:waf"
    index: str | None = None
    source: str | None = None
    host: str | None = None
    ack: bool = False
    ack_timeout_s: float = 300.0
    batch_size: int = 500
    spool_max_bytes: int = 1 << 30
    retry_backoff_s: float = 0.5
    retry_max_backoff_s: float = 30.0
    spool_block_timeout_s: float = 300.0


class SplunkHecSink(SpoolingSink):
    """Spool + one sender for one ``[[sinks]]`` entry of type splunk_hec."""

    def __init__(self, client: HecClient, *, name: str, spool_dir: Path, options: HecOptions,
                 state: StateRecorder | None = None) -> None:  # fmt: skip
        super().__init__(name=name, spool_dir=spool_dir, spool_max_bytes=options.spool_max_bytes, log=log, state=state,
                         batch_size=options.batch_size, read_bytes=8 << 20, max_backoff_s=options.retry_max_backoff_s,
                         spool_block_timeout_s=options.spool_block_timeout_s, after_write="sink.splunk_hec.after_write",
                         redact=client.redact)  # fmt: skip
        self.hec = client
        self.opt = options
        self._state = state
        meta = {"sourcetype": options.sourcetype, "index": options.index, "source": options.source,
                "host": options.host}  # fmt: skip
        self._meta = orjson.dumps({k: v for k, v in meta.items() if v is not None})[1:-1]

    def _prepare(self, batch: Batch) -> tuple[list[int | None], list[int | None]]:
        if batch.documents is None:
            raise SinkError(f"{self.name}: the batch has no documents", hint="the HEC sink needs them (a bug)")
        ordinals = column(batch.events, "imperva.waf.file.ordinal").to_pylist()
        return ordinals, ordinals

    def _records(self, batch: Batch, ordinals: list[int | None], keep: list[bool]) -> Iterator[bytes]:
        """Per event: where it comes from, then the HEC event object (``time``, the settings,
        ``fields.wafpipe_id``, ``event``: the document as the decode worker rendered it)."""
        assert batch.documents is not None
        stamps = column(batch.events, "@timestamp")
        millis = pc.cast(stamps, pa.int64()).to_pylist() if pa.types.is_timestamp(stamps.type) else [None] * len(batch)
        file_key = batch.file_key if batch.file_read else ""
        dumps = orjson.dumps
        rows = zip(batch.ids, ordinals, batch.documents, millis, keep, strict=True)
        for event_id, ordinal, document, ms, wanted in rows:
            if not wanted:
                continue
            yield dumps({"id": event_id, "f": file_key, "o": ordinal}) + b"\n"
            head = b'{"time":' + (b"%.3f" % (ms / 1000) if ms is not None else b"null")
            yield head + b"," + self._meta + b',"fields":{"wafpipe_id":' + dumps(event_id) + b'},"event":'
            yield document + b"}\n"

    def _close_client(self) -> None:
        self.hec.close()

    def _deliver(self, chunk: Chunk) -> bool:
        """Deliver or dead-letter every event of ``chunk``; False when stopped first."""
        lines = chunk.body.split(b"\n")
        records = [(lines[i], lines[i + 1]) for i in range(0, 2 * chunk.records, 2)]
        groups = [records]
        attempt = 0
        while groups:
            if self._stop.is_set():
                return False
            group = groups.pop()
            with self.stats.lock:
                self.stats.requests += 1
            try:
                status, answer = self.hec.post(EVENT_PATH, b"".join(event for _, event in group))
            except Transient as exc:
                status, answer = 0, {"text": str(exc)}
            if status == 200 and (not self.opt.ack or self._acknowledged(answer.get("ackId"))):
                self.health.delivered(len(group))
                attempt = 0
                continue
            if status == 400:
                bad = answer.get("invalid-event-number")
                if isinstance(bad, int) and 0 <= bad < len(group):
                    self.health.delivered(bad)  # HEC indexed the events before the invalid one
                    self._dead_letter(group[bad], self._reason(status, answer))
                    if group[bad + 1 :]:
                        groups.append(group[bad + 1 :])
                elif len(group) == 1:
                    self._dead_letter(group[0], self._reason(status, answer))
                else:
                    half = len(group) // 2
                    groups += [group[half:], group[:half]]
                continue
            self.health.failed(self._reason(status, answer) if status else str(answer.get("text")))
            groups.append(group)
            if status and status not in _RETRIED and status < 500:
                log.error("%s: HEC answered %s; the events stay in the spool until that is fixed", self.name,
                          self._reason(status, answer))  # fmt: skip
            if not self._backoff(attempt):
                return False
            attempt += 1
        return True

    def _acknowledged(self, ack_id: Any) -> bool:
        """Poll ``/services/collector/ack`` until the indexers confirm ``ack_id``; False when they
        did not within ``ack_timeout_s`` (the request is then sent again) or the sink stops."""
        if not isinstance(ack_id, int):
            self.health.failed("HEC answered without an ackId although ack = true (is acknowledgement enabled on the token?)")
            return False
        deadline = time.monotonic() + self.opt.ack_timeout_s
        wait = 0.05
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self.hec.acked(ack_id):
                return True
            self._stop.wait(wait)
            wait = min(wait * 2, 2.0)
        return False

    def _reason(self, status: int, answer: dict[str, Any]) -> str:
        text = f"HTTP {status}: {answer.get('text', '')}"
        if "code" in answer:
            text += f" (code {answer['code']})"
        return self.hec.redact(text)

    def _dead_letter(self, record: tuple[bytes, bytes], reason: str) -> None:
        meta = orjson.loads(record[0])
        try:
            document = orjson.loads(record[1]).get("event") or {}
        except orjson.JSONDecodeError:
            document = {}
        path = ((document.get("log") or {}).get("file") or {}).get("path") if isinstance(document, dict) else None
        problem = Problem("sink_rejected", path or "", reason, "fix the cause, then run `wafpipe deadletters replay`",
                          raw=orjson.dumps(document), event_id=meta.get("id"), sink=self.name)  # fmt: skip
        log.warning("%s: event %s rejected: %s", self.name, meta.get("id"), reason)
        if self._state is not None:
            self._state.add_dead_letters([problem.record()])
        with self.stats.lock:
            self.stats.dead_lettered += 1

    def _backoff(self, attempt: int) -> bool:
        return not self._stop.wait(backoff_delay(attempt, self.opt.retry_backoff_s, self.opt.retry_max_backoff_s))
