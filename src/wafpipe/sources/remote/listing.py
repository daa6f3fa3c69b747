"""A remote source that finds its files by listing a store (an S3 prefix, an Azure container):
what is new is decided by the collector's state, and ``after`` applies once a file is stored.

Why it works the way it does:

* **The whole prefix is listed at every poll.** A "start after" cursor would skip files: Imperva's
  names sort ``1_10.log`` before ``1_9.log``, and uploads do not arrive in name order. What was
  already taken is known from the collector's state, by a key made of the object's name, size and
  version (ETag) or modification time, so a listing downloads only what is new; the same bytes
  under another name are recognised by their Imperva identity and not stored twice.
* **``after`` runs once every sink holds the file's events** (delete keeps listings short); a
  file stored whose deletion was cut short by a crash is deleted at the next listing.
* **Names come from someone else's store**: one that would leave the spool is reported and never
  downloaded; one that may not be read is reported with the permission it needs and retried.
* ``start_from``: a time takes objects modified at or after it; ``now`` those modified after the
  source's first start (kept in the state).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, BinaryIO

from wafpipe.model import FileRef, Problem, StateRecorder
from wafpipe.sources.base import file_key
from wafpipe.sources.remote.base import RemoteError, RemoteSource
from wafpipe.sources.remote.spool import Spool

log = logging.getLogger("wafpipe.sources.remote")


@dataclass(frozen=True)
class Listed:
    """One object of a listing."""

    name: str  # the object key / blob name
    size: int
    modified: datetime
    version: str = ""  # ETag, when the store gives one


class ListingSource(RemoteSource):
    """Subclasses give :meth:`_list`, :meth:`_download`, :meth:`_delete` (and :meth:`_tag` or
    :meth:`_move` if they offer ``after = "tag"`` or ``"move"``). Their config has ``patterns``,
    ``after``, ``poll_interval_s`` and ``max_backoff_s`` besides the remote keys."""

    def __init__(
        self,
        config: Any,
        *,
        default_name: str,
        where: str,
        spool: Spool,
        state: StateRecorder,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(config.name or default_name, where=where, spool=spool, state=state,
                         poll_interval_s=config.poll_interval_s, max_backoff_s=config.max_backoff_s,
                         on_problem=on_problem)
        self.patterns: list[str] = config.patterns
        self.after: str = config.after
        self._start_ms = self._starting_point(config.start_from, config.start_ms())
        self._listed = 0
        self._names: dict[str, str] = {}  # spool path → object name, for ack

    def _list(self) -> list[Listed]:
        raise NotImplementedError

    def _download(self, name: str, fh: BinaryIO) -> None:
        raise NotImplementedError

    def _delete(self, name: str) -> None:
        raise NotImplementedError

    def _tag(self, name: str) -> None:
        raise NotImplementedError

    def _move(self, name: str) -> None:
        raise NotImplementedError

    def _error(self, exc: Exception, what: str) -> RemoteError:
        """The store's exception as a :class:`RemoteError` (re-raises what is not the store's)."""
        raise NotImplementedError

    # -- one poll --------------------------------------------------------------------------------
    def _poll(self, stop: threading.Event, *, block: bool) -> list[FileRef]:
        try:
            listed = self._list()
        except Exception as exc:  # noqa: BLE001 - _error re-raises what is not the store's
            error = self._error(exc, "listing")
            if error.kind == "denied":  # the source cannot list at all: a setting to fix, said once
                error = RemoteError("auth", str(error))
            self._failed(error)
            return []
        self._recovered()
        wanted = [o for o in listed if any(fnmatchcase(o.name.rsplit("/", 1)[-1], p) for p in self.patterns)]
        self._listed = len(wanted)
        for obj in wanted:
            self._saw_file(obj.modified.timestamp())
        refs: list[FileRef] = []
        for obj in sorted(wanted, key=lambda o: (o.modified, o.name)):
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

    def _consider(self, obj: Listed, stop: threading.Event, *, block: bool) -> FileRef | None:
        mtime_ns = int(obj.modified.timestamp() * 1_000_000_000)
        if obj.name in self._inflight:
            return None
        if self._start_ms is not None and obj.modified.timestamp() * 1000 < self._start_ms:
            return None
        fkey = file_key(self.name, f"{obj.name}#{obj.version}" if obj.version else obj.name, obj.size, mtime_ns)
        if self.state.file_done(fkey):
            if self.after != "keep":
                self._apply_after(obj.name)  # stored before, but the delete or tag did not happen (a crash)
            return None

        def download(fh: BinaryIO) -> None:
            try:
                self._download(obj.name, fh)
            except Exception as exc:  # noqa: BLE001 - _error re-raises what is not the store's
                raise self._error(exc, obj.name) from None

        try:
            path = self._take(obj.name, download, stop, block=block, size=obj.size)
        except RemoteError as exc:
            if exc.kind == "denied":
                self.report("permission", obj.name, str(exc))
            return None  # "missing": gone since the listing, nothing to do
        if path is None:
            return None
        self.resolve(obj.name)
        self._handed(obj.name)
        self._names[str(path)] = obj.name
        self.counters["files"] += 1
        return FileRef(self.name, obj.name.rsplit("/", 1)[-1], str(path), obj.size, mtime_ns, fkey)

    def _apply_after(self, name: str) -> None:
        try:
            if self.after == "delete":
                self._delete(name)
            elif self.after == "tag":
                self._tag(name)
            elif self.after == "move":
                self._move(name)
        except Exception as exc:  # noqa: BLE001 - reported; the next listing tries again
            log.warning("source %s: after = %s of %s failed: %s", self.name, self.after, name, self._error(exc, name))

    def _details(self) -> dict[str, Any]:
        return {"listed": self._listed, "files_pending": len(self._inflight)}

    # -- the Source API --------------------------------------------------------------------------
    def ack(self, ref: FileRef) -> None:
        name = self._names.pop(ref.path, None)
        if name is None:
            return  # not handed out by this process
        self._apply_after(name)
        self._released(name, ref.path)
