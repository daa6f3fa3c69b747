"""The syslog sink: the shared fsync'd spool (:mod:`wafpipe.sinks.common.spool`) in front of one
sender thread that forwards each event as a syslog message.

Why this shape (DESIGN §2, :mod:`wafpipe.sinks.common.spooling`): ``write`` must return only when
a Batch is durable, yet a receiver can be down for hours. So ``write`` renders each event's whole
message (:mod:`wafpipe.sinks.syslog.messages`) into the spool; the sender sends in order and moves
the cursor only after a send succeeded; while the receiver is down it retries with exponential
backoff and jitter, the spool being the buffer.

Syslog cannot say "already have it" as a cluster answers 409, so Batches already spooled are not
spooled again when the pipeline replays them after a crash. What stays at-least-once: a crash after a send and
before its cursor moved sends those messages again (RFC 5424 messages carry the event id so a
receiver can tell), and UDP confirms nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from wafpipe.model import Batch
from wafpipe.sinks.common.sending import backoff_delay
from wafpipe.sinks.common.spool import Chunk
from wafpipe.sinks.common.spooling import SpoolingSink
from wafpipe.sinks.syslog.messages import Header, messages
from wafpipe.sinks.syslog.transport import Connection, TransportError

if TYPE_CHECKING:
    from wafpipe.model import StateRecorder

log = logging.getLogger("wafpipe.sinks.syslog")


class SyslogSink(SpoolingSink):
    """Spool + one sender for one ``[[sinks]]`` entry of type syslog."""

    def __init__(
        self, connection: Connection, *, name: str, spool_dir: Path, header: Header, fmt: str = "cef",
        batch_size: int = 500, spool_max_bytes: int = 1 << 30, state: StateRecorder | None = None,
        retry_backoff_s: float = 0.5, retry_max_backoff_s: float = 30.0, spool_block_timeout_s: float = 300.0,
    ) -> None:
        super().__init__(name=name, spool_dir=spool_dir, spool_max_bytes=spool_max_bytes, log=log, state=state,
                         batch_size=batch_size, read_bytes=4 << 20, max_backoff_s=retry_max_backoff_s,
                         spool_block_timeout_s=spool_block_timeout_s, after_write="sink.syslog.after_write")  # fmt: skip
        self.connection = connection
        self.header = header
        self.format = fmt
        self.needs_documents = fmt == "json"  # CEF is built from the typed columns
        self.backoff = (retry_backoff_s, retry_max_backoff_s)

    def _prepare(self, batch: Batch) -> tuple[list[int | None], list[tuple[str, int | None, bytes]]]:
        rendered = list(messages(batch, self.header, self.format))
        return [o for _, o, _ in rendered], rendered

    def _records(self, batch: Batch, prepared: list[tuple[str, int | None, bytes]], keep: list[bool]) -> Iterator[bytes]:
        """Two JSON lines per event: where it comes from, then the message (as a JSON string, so a
        message can hold any character and the spool still finds whole records)."""
        file_key = batch.file_key if batch.file_read else ""
        dumps = orjson.dumps
        for (event_id, ordinal, message), wanted in zip(prepared, keep, strict=True):
            if wanted:
                yield dumps({"id": event_id, "f": file_key, "o": ordinal}) + b"\n"
                yield b'{"m":' + dumps(message.decode("utf-8", "replace")) + b"}\n"

    def _close_client(self) -> None:
        self.connection.close()

    def _deliver(self, chunk: Chunk) -> bool:
        """Send the chunk's messages until they go through (retried with backoff while the receiver
        is down); False when the sink stops first."""
        lines = chunk.body.split(b"\n")
        batch = [orjson.loads(line)["m"].encode() for line in lines[1 : 2 * chunk.records : 2]]
        attempt = 0
        while not self._stop.is_set():
            with self.stats.lock:
                self.stats.requests += 1
            try:
                self.connection.send(batch)
            except TransportError as exc:
                self.health.failed(str(exc))
                self._stop.wait(backoff_delay(attempt, *self.backoff))
                attempt += 1
                continue
            self.health.delivered(len(batch))
            return True
        return False
