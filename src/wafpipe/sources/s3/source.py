"""An S3 bucket (and prefix) as a source: list it, fetch each new Imperva file into the spool, and
apply ``after`` (keep, delete, tag) once the file is stored.

Why it works the way it does:

* **The whole prefix is listed at every poll** (1000 keys per page). A ``StartAfter`` cursor would
  skip files: Imperva's names sort ``1_10.log`` before ``1_9.log``, and uploads do not arrive in key
  order. What was already taken is known from the collector's state, by a key made of the object
  key, size and modification time, so a listing downloads only what is new; the same bytes under
  another key are recognised by their Imperva identity and not stored twice.
* **Deleting is the way to keep listings short** (``after = "delete"``): Imperva writes a bucket
  that grows without end. A file is deleted or tagged only after every sink holds its events; one
  stored whose deletion was cut short by a crash is deleted at the next listing.
* **Keys are names from someone else's bucket**: one that would leave the spool (``..``, an absolute
  path, control bytes) is reported and never downloaded.
* ``start_from``: a time takes objects modified at or after it; ``now`` the objects modified after
  the source's first start (kept in the state, so a restart does not move it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from wafpipe.model import FileRef, Problem, StateRecorder
from wafpipe.sources.base import file_key
from wafpipe.sources.remote.base import RemoteError, RemoteSource
from wafpipe.sources.remote.spool import Spool
from wafpipe.sources.s3.client import remote_error
from wafpipe.sources.s3.config import S3SourceConfig

log = logging.getLogger("wafpipe.sources.s3")
TAG = {"TagSet": [{"Key": "wafpipe", "Value": "ingested"}]}


class S3Source(RemoteSource):
    def __init__(
        self,
        config: S3SourceConfig,
        s3: Any,
        spool: Spool,
        state: StateRecorder,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(config.name or "s3", where=f"s3://{config.bucket}/{config.prefix}", spool=spool,
                         state=state, poll_interval_s=config.poll_interval_s, max_backoff_s=config.max_backoff_s,
                         on_problem=on_problem)
        self.config = config
        self.s3 = s3
        self._listed = 0
        self._keys: dict[str, str] = {}  # spool path → object key, for ack
        self._start_ms = self._starting_point(config.start_from, config.start_ms())

    def _listing(self) -> list[dict[str, Any]]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket, Prefix=self.config.prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]

    def _wanted(self, key: str) -> bool:
        name = key.rsplit("/", 1)[-1]
        return any(fnmatchcase(name, p) for p in self.config.patterns)

    def _poll(self, stop: threading.Event, *, block: bool) -> list[FileRef]:
        try:
            objects = self._listing()
        except Exception as exc:  # noqa: BLE001 - remote_error re-raises what is not boto's
            self._failed(remote_error(exc, "listing", self.where))
            return []
        self._recovered()
        wanted = [o for o in objects if self._wanted(o["Key"])]
        self._listed = len(wanted)
        refs: list[FileRef] = []
        for obj in sorted(wanted, key=lambda o: (o["LastModified"], o["Key"])):
            if stop.is_set():
                break
            ref = self._consider(obj, stop, block=block)
            if ref is not None:
                refs.append(ref)
            elif self.has_more or self._failures:
                break
        if not self._failures:
            self._healthy()
        return refs

    def _consider(self, obj: dict[str, Any], stop: threading.Event, *, block: bool) -> FileRef | None:
        key, size = obj["Key"], int(obj["Size"])
        modified: datetime = obj["LastModified"]
        mtime_ns = int(modified.timestamp() * 1_000_000_000)
        if key in self._inflight:
            return None
        if self._start_ms is not None and modified.timestamp() * 1000 < self._start_ms:
            return None
        fkey = file_key(self.name, key, size, mtime_ns)
        if self.state.file_done(fkey):
            if self.config.after != "keep":
                self._after(key)  # stored before, but the delete or tag did not happen (a crash)
            return None
        try:
            path = self._take(key, lambda fh: self._download(key, fh), stop, block=block, size=size)
        except RemoteError as exc:
            if exc.kind == "denied":
                self.report("permission", key, str(exc))
            return None  # gone since the listing: nothing to do
        if path is None:
            return None
        self.resolve(key)
        self._handed(key)
        self._keys[str(path)] = key
        self.counters["files"] += 1
        return FileRef(self.name, key.rsplit("/", 1)[-1], str(path), size, mtime_ns, fkey)

    def _download(self, key: str, fh: Any) -> None:
        try:
            self.s3.download_fileobj(self.config.bucket, key, fh)
        except Exception as exc:  # noqa: BLE001 - remote_error re-raises what is not boto's
            raise remote_error(exc, key, self.where) from None

    def _after(self, key: str) -> None:
        try:
            if self.config.after == "delete":
                self.s3.delete_object(Bucket=self.config.bucket, Key=key)
            elif self.config.after == "tag":
                self.s3.put_object_tagging(Bucket=self.config.bucket, Key=key, Tagging=TAG)
        except Exception as exc:  # noqa: BLE001 - reported; the next listing tries again
            log.warning("source %s: after = %s of %s failed: %s", self.name, self.config.after, key,
                        remote_error(exc, key, self.where))

    def _details(self) -> dict[str, Any]:
        return {"listed": self._listed, "files_pending": len(self._inflight)}

    # -- the Source API --------------------------------------------------------------------------
    def ack(self, ref: FileRef) -> None:
        key = self._keys.pop(ref.path, None)
        if key is None:
            return  # not handed out by this process
        self._after(key)
        self._released(key, ref.path)
