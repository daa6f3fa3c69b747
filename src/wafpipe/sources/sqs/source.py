"""S3 event notifications on an SQS queue as a source: each message names objects; fetch them
into the spool, and delete the message only once every sink holds the events of all its objects.

Why it works the way it does:

* **Delete last.** A message is deleted after the collector acknowledged every object it names, so
  a collector that dies mid-file loses nothing: the message becomes visible again after its
  visibility timeout and this or another collector takes it; the events already stored are
  recognised (their ids) and not stored twice.
* **Competing consumers.** Several collectors on one queue each receive other messages: this is how
  wafpipe scales past one machine (into a cluster sink; the embedded store has one writer).
* **Visibility is extended** while a message's files are in the pipeline (a big file may take
  longer than the timeout): at every poll, messages held for more than half the timeout get a new
  full timeout.
* **What a message may hold**: S3 notifications (direct, or wrapped by SNS), whose object keys are
  URL-encoded; ``s3:TestEvent`` (sent when the notification is set up) and non-creation events are
  deleted and counted; a body that is not a notification is recorded as a dead letter with the
  body, then deleted (the queue's redrive policy would only bounce it). A notification seen twice
  (S3 delivers at least once) is recognised by the object's key, size and ETag.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import unquote_plus

from wafpipe import clock
from wafpipe.model import FileRef, Problem, StateRecorder
from wafpipe.sources.base import file_key
from wafpipe.sources.remote.base import RemoteError, RemoteSource
from wafpipe.sources.remote.spool import Spool
from wafpipe.sources.s3.client import remote_error
from wafpipe.sources.s3.source import TAG
from wafpipe.sources.sqs.config import SqsSourceConfig

log = logging.getLogger("wafpipe.sources.sqs")
ONCE_WAIT_S = 1  # --once: a short long-poll; an empty answer ends the snapshot


@dataclass
class _Held:
    """A received message: its receipt, when it was last made invisible, and its objects in flight."""

    receipt: str
    hidden_at: float  # clock.now() when it was last hidden (received or extended)
    pending: set[str] = field(default_factory=set)  # file keys not yet acknowledged
    retry_now: bool = False  # an object could not be fetched now (spool full, transient failure)
    retry_after_timeout: bool = False  # an object may not be read (access denied)


@dataclass(frozen=True)
class _Object:
    bucket: str
    key: str
    size: int
    etag: str
    event_ms: int | None  # eventTime of the notification


def objects_of(body: str) -> list[_Object] | None:
    """The created objects a message names; [] for a test event or other events; None when the
    body is not an S3 notification at all."""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
            doc = json.loads(doc["Message"])  # S3 → SNS → SQS
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if doc.get("Event") == "s3:TestEvent":
        return []
    records = doc.get("Records")
    if not isinstance(records, list):
        return None
    out = []
    for rec in records:
        try:
            if not str(rec.get("eventName", "")).startswith("ObjectCreated"):
                continue
            s3 = rec["s3"]
            obj = s3["object"]
            out.append(_Object(s3["bucket"]["name"], unquote_plus(obj["key"]), int(obj.get("size", 0)),
                               str(obj.get("eTag", obj.get("etag", ""))), _event_ms(rec.get("eventTime"))))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
    return out


def _event_ms(text: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


class SqsSource(RemoteSource):
    def __init__(
        self,
        config: SqsSourceConfig,
        sqs: Any,
        s3: Any,
        spool: Spool,
        state: StateRecorder,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(config.name or "sqs", where=config.queue_url, spool=spool, state=state,
                         poll_interval_s=1.0, max_backoff_s=config.max_backoff_s, on_problem=on_problem)
        self.config = config
        self.sqs = sqs
        self.s3 = s3
        self._held: dict[str, _Held] = {}  # message id → what it waits for
        self._message_of: dict[str, str] = {}  # file key → message id
        self._objects: dict[str, _Object] = {}  # file key → object (for after and the spool)
        self._start_ms = self._starting_point(config.start_from, config.start_ms())
        self._books = threading.RLock()  # the three maps above: the poller and the collector's acks

    # -- one poll --------------------------------------------------------------------------------
    def _poll(self, stop: threading.Event, *, block: bool) -> list[FileRef]:
        self._extend_visibility()
        try:
            answer = self.sqs.receive_message(
                QueueUrl=self.config.queue_url, MaxNumberOfMessages=self.config.max_messages,
                WaitTimeSeconds=self.config.wait_time_s if block else ONCE_WAIT_S,
                VisibilityTimeout=self.config.visibility_timeout_s)
        except Exception as exc:  # noqa: BLE001 - remote_error re-raises what is not boto's
            self._failed(remote_error(exc, "receiving", self.where))
            return []
        self._recovered()
        messages = answer.get("Messages", [])
        refs: list[FileRef] = []
        for msg in messages:
            refs += self._message(msg, stop, block=block)
        if messages and not block and not self.gave_up:
            self.has_more = True  # --once: ask again once these are stored, until the queue answers empty
        if not self._failures:
            self._healthy()
        return refs

    def _message(self, msg: dict[str, Any], stop: threading.Event, *, block: bool) -> list[FileRef]:
        mid, receipt = msg["MessageId"], msg["ReceiptHandle"]
        objects = objects_of(msg.get("Body", ""))
        if objects is None:
            self.counters["messages_not_notifications"] += 1
            self.state.add_dead_letters([{"kind": "source_message", "source": self.name, "message_id": mid,
                                          "reason": "not an S3 event notification", "raw": msg.get("Body", "")[:65536]}])
            log.warning("source %s: message %s is not an S3 event notification: kept as a dead letter, deleted",
                        self.name, mid)
            self._delete(receipt)
            return []
        with self._books:
            held = self._held.get(mid)
            if held is None:
                held = self._held[mid] = _Held(receipt, clock.now())
            else:
                held.receipt, held.hidden_at = receipt, clock.now()  # received again: the newest receipt counts
        refs = []
        for obj in objects:
            ref = self._object(mid, held, obj, stop, block=block)
            if ref is not None:
                refs.append(ref)
        if not objects:
            self.counters["messages_without_objects"] += 1  # s3:TestEvent, deletions, …
        with self._books:
            self._settle(mid)
        return refs

    def _object(self, mid: str, held: _Held, obj: _Object, stop: threading.Event, *, block: bool) -> FileRef | None:
        if not any(fnmatchcase(obj.key.rsplit("/", 1)[-1], p) for p in self.config.patterns):
            self.counters["objects_not_wanted"] += 1
            return None
        self._saw_file(obj.event_ms / 1000 if obj.event_ms is not None else None)
        if self._start_ms is not None and obj.event_ms is not None and obj.event_ms < self._start_ms:
            self.counters["objects_before_start"] += 1
            return None
        fkey = file_key(self.name, f"{obj.bucket}/{obj.key}#{obj.etag}", obj.size, 0)
        with self._books:
            taken = fkey in self._message_of
        if taken or self.state.file_done(fkey):
            self.counters["objects_already_taken"] += 1  # a duplicate notification, or done before a crash
            return None
        remote = f"{obj.bucket}/{obj.key}"

        def download(fh: Any) -> None:
            try:
                self.s3.download_fileobj(obj.bucket, obj.key, fh)
            except Exception as exc:  # noqa: BLE001 - remote_error re-raises what is not boto's
                raise remote_error(exc, obj.key, f"s3://{obj.bucket}") from None

        try:
            path = self._take(remote, download, stop, block=block, size=obj.size)
        except RemoteError as exc:
            if exc.kind == "denied":
                self.report("permission", remote, str(exc))
                held.retry_after_timeout = True  # the message comes back after its timeout: retried then
            return None  # "missing": the object is gone; "unsafe": reported. Nothing to ingest.
        if path is None:
            held.retry_now = True  # a full spool or a failed download: the message is wanted back soon
            return None
        with self._books:
            held.pending.add(fkey)
            self._message_of[fkey] = mid
            self._objects[fkey] = obj
        self._handed(remote)
        self.counters["files"] += 1
        return FileRef(self.name, obj.key.rsplit("/", 1)[-1], str(path), path.stat().st_size, 0, fkey)

    def _settle(self, mid: str) -> None:
        """Once nothing of message ``mid`` is in flight: delete it when all its objects were taken;
        otherwise let it go (at once when a full spool or a failed download kept an object back,
        after its timeout when an object was denied) so it is received again. Call under ``_books``."""
        held = self._held.get(mid)
        if held is None or held.pending:
            return
        self._held.pop(mid)
        if held.retry_now or held.retry_after_timeout:
            if held.retry_now and not held.retry_after_timeout:
                self._release(held.receipt)
            return
        self._delete(held.receipt)

    def _release(self, receipt: str) -> None:
        try:
            self.sqs.change_message_visibility(QueueUrl=self.config.queue_url, ReceiptHandle=receipt,
                                               VisibilityTimeout=0)
        except Exception as exc:  # noqa: BLE001 - it comes back after its timeout instead
            log.info("source %s: could not release a message: %s", self.name,
                     remote_error(exc, "releasing", self.where))

    def _delete(self, receipt: str) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.config.queue_url, ReceiptHandle=receipt)
        except Exception as exc:  # noqa: BLE001 - the message comes back; its objects are recognised
            log.warning("source %s: deleting a message failed (it will come back and be skipped): %s",
                        self.name, remote_error(exc, "deleting", self.where))

    def _extend_visibility(self) -> None:
        now, timeout = clock.now(), self.config.visibility_timeout_s
        with self._books:
            held_now = list(self._held.items())
        for mid, held in held_now:
            if now - held.hidden_at < timeout / 2:
                continue
            try:
                self.sqs.change_message_visibility(QueueUrl=self.config.queue_url, ReceiptHandle=held.receipt,
                                                   VisibilityTimeout=timeout)
                held.hidden_at = now
            except Exception as exc:  # noqa: BLE001 - it may come back to us or another collector: recognised
                log.info("source %s: could not keep message %s hidden: %s", self.name, mid,
                         remote_error(exc, "extending visibility", self.where))

    def _after(self, obj: _Object) -> None:
        try:
            if self.config.after == "delete":
                self.s3.delete_object(Bucket=obj.bucket, Key=obj.key)
            elif self.config.after == "tag":
                self.s3.put_object_tagging(Bucket=obj.bucket, Key=obj.key, Tagging=TAG)
        except Exception as exc:  # noqa: BLE001 - reported; the object stays
            log.warning("source %s: after = %s of %s failed: %s", self.name, self.config.after, obj.key,
                        remote_error(exc, obj.key, f"s3://{obj.bucket}"))

    def _details(self) -> dict[str, Any]:
        return {"messages_held": len(self._held), "files_pending": len(self._message_of)}

    # -- the Source API --------------------------------------------------------------------------
    def ack(self, ref: FileRef) -> None:
        with self._books:
            mid = self._message_of.pop(ref.key, None)
            obj = self._objects.pop(ref.key, None)
        if mid is None or obj is None:
            return
        self._after(obj)
        self._released(f"{obj.bucket}/{obj.key}", ref.path)
        with self._books:
            held = self._held.get(mid)
            if held is not None:
                held.pending.discard(ref.key)
                self._settle(mid)
