"""The on-disk spool of a sink that delivers from a background thread (DESIGN §2 "Acknowledgement
and checkpoints"): the Elasticsearch/OpenSearch sinks and the syslog sink share it.

Why a spool at all: a batch is acknowledged to its source as soon as it is fsync'd here, so an
outage of the receiver (a cluster, a syslog server) of hours neither blocks the collector (it keeps
reading and feeding the other sinks) nor loses anything (the sender drains the spool when the
receiver is back).

Layout, under one directory per sink::

    0000000000000001.ndjson   segment files, appended in order, each a run of *records*
    0000000000000002.ndjson
    cursor.json               {"segment": 2, "offset": 81920}: the first byte not yet delivered
    .lock                     flock'd while a process owns the spool

A record is two lines, each a JSON object: for a cluster sink exactly what ``_bulk`` wants (an
action line and a source line, so the sender sends a slice of a segment as the request body without
parsing or re-serialising anything); the syslog sink keeps the event's id and file position in the
first and the framed message in the second. The spool only needs the two-JSON-lines shape to find
whole records and cut a torn tail.

Rules that make a crash harmless:

* ``append`` writes the whole batch, ``fsync``s the segment (and the directory when it created the
  segment) and only then returns; a torn tail (a crash mid-append, or pages that never reached the
  disk) can only follow the last fsync, so :meth:`Spool.open` cuts the newest segment back to its
  last complete, parseable record. Those records were never acknowledged, so the pipeline replays
  them anyway.
* A process never appends to a segment left by an earlier run; it starts a new one.
* The cursor only moves over records that were delivered (201/409) or dead-lettered, and a segment
  is deleted only when the cursor has passed its end. The cursor file is rewritten by rename but not
  fsync'd: losing it (power loss) only resends records, which ``op_type: create`` and our ids turn
  into 409s for a cluster (a syslog receiver sees them again).
* Several sender threads may have chunks in flight; the cursor advances over the contiguous prefix
  of acknowledged chunks only.

Size: ``max_bytes`` bounds the *undelivered* bytes; ``append`` waits (back-pressure) until the sender
frees room, and raises :class:`~wafpipe.errors.SinkError` after ``timeout``. Room is checked before
a batch, so the spool may exceed the budget by one batch (and an empty spool always takes a batch,
so one huge batch cannot deadlock). Disk use is at most that plus one segment of delivered bytes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from wafpipe.errors import SinkError
from wafpipe.failpoints import failpoint

SUFFIX = ".ndjson"
_FLUSH = 1 << 20
CURSOR = "cursor.json"


@dataclass
class Chunk:
    """A run of whole records of one segment (a cluster sink's ``body`` is a ready ``_bulk`` body)."""

    segment: int
    start: int
    end: int
    body: bytes
    records: int


def _write_all(fd: int, data: bytearray) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def complete_records(data: bytes, max_records: int) -> tuple[int, int]:
    """(bytes, records) of the longest prefix of ``data`` made of whole records (two lines each),
    at most ``max_records`` of them."""
    pos = records = 0
    n = len(data)
    while records < max_records:
        a = data.find(b"\n", pos)
        if a < 0 or a + 1 >= n:
            break
        b = data.find(b"\n", a + 1)
        if b < 0:
            break
        pos = b + 1
        records += 1
    return pos, records


def valid_prefix(data: bytes) -> int:
    """Length of the prefix of ``data`` made of whole records whose lines parse as JSON objects.
    Used once at start-up on the newest segment, to cut a torn tail."""
    pos = 0
    n = len(data)
    while pos < n:
        a = data.find(b"\n", pos)
        b = data.find(b"\n", a + 1) if a >= 0 else -1
        if b < 0:
            break
        try:
            action = orjson.loads(data[pos:a])
            source = orjson.loads(data[a + 1 : b])
        except orjson.JSONDecodeError:
            break
        if not isinstance(action, dict) or not isinstance(source, dict):
            break
        pos = b + 1
    return pos


class Spool:
    """Segment files + cursor; thread-safe (one appender, any number of readers)."""

    def __init__(
        self, directory: Path | str, *, max_bytes: int, segment_bytes: int | None = None, sync: bool = True
    ) -> None:
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(64 << 10, min(16 << 20, max_bytes // 4))
        self.sync = sync  # False only for benchmarks that want to measure the sender alone
        self._cond = threading.Condition()
        self._wlock = threading.Lock()  # one append at a time (file I/O happens outside _cond)
        self._rlock = threading.Lock()  # one reader at a time
        self._sizes: dict[int, int] = {}  # segment → committed bytes
        self._head: int | None = None  # segment being appended by this process
        self._head_fd: int | None = None
        self._cursor = (0, 0)  # first undelivered byte
        self._read = (0, 0)  # first byte not handed to a reader
        self._acked: dict[tuple[int, int], int] = {}  # (segment, start) → end, acked ahead of the cursor
        self._pending = 0  # undelivered bytes
        self._lock_fd: int | None = None
        self._closed = True

    # ------------------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise SinkError(
                f"spool {self.dir} is in use by another process",
                hint="two collectors must not share a data_dir/spool_dir; stop the other one",
            ) from exc
        segments = sorted(int(p.stem) for p in self.dir.glob("*" + SUFFIX) if p.stem.isdigit())
        cursor = self._load_cursor()
        for seg in segments:
            if seg < cursor[0]:
                self._path(seg).unlink(missing_ok=True)  # delivered; its deletion was lost
                continue
            self._sizes[seg] = self._path(seg).stat().st_size
        if self._sizes:
            self._repair(max(self._sizes))
        if cursor[0] not in self._sizes:
            # Segment numbers only grow (new ones are numbered after the cursor's), so every
            # remaining segment is at or after the cursor.
            cursor = (min(self._sizes) if self._sizes else max(cursor[0], 1), 0)
        cursor = (cursor[0], min(cursor[1], self._sizes.get(cursor[0], 0)))
        self._cursor = self._read = cursor
        self._pending = sum(self._sizes.values()) - cursor[1]
        self._closed = False
        self._drop_delivered()

    def _repair(self, seg: int) -> None:
        path = self._path(seg)
        data = path.read_bytes()
        good = valid_prefix(data)
        if good != len(data):
            with open(path, "r+b") as fh:
                fh.truncate(good)
                os.fsync(fh.fileno())
            self._sizes[seg] = good

    def close(self) -> None:
        with self._wlock, self._cond:
            if self._closed:
                return
            self._closed = True
            if self._head_fd is not None:
                os.close(self._head_fd)
                self._head_fd = None
            self._head = None
            self._drop_delivered()
            self._save_cursor()
            self._cond.notify_all()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------------------------ append side
    def append(self, pieces: Iterable[bytes | memoryview], *, timeout: float) -> int:
        """Durably add whole records, given as byte pieces that together form them; returns the
        number of bytes written. Blocks while the spool is full (back-pressure).

        The pieces are streamed through a 1 MiB buffer rather than joined first: a batch is then
        never held twice in memory, and each serialised document is dropped as soon as it is
        copied, which keeps the allocator on hot memory (this is the sink's hottest loop)."""
        with self._wlock:
            deadline = time.monotonic() + timeout
            with self._cond:
                # Room is checked before the batch (its size is not known yet), so the spool can
                # exceed max_bytes by at most one batch.
                while not self._closed and self._pending and self._pending >= self.max_bytes:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise SinkError(
                            f"spool {self.dir} is full ({self._pending} undelivered bytes, limit "
                            f"{self.max_bytes}) and did not drain within {timeout:g} s",
                            hint="the receiver is down or too slow; raise spool_max_bytes or fix the receiver",
                        )
                    self._cond.wait(min(left, 1.0))
                if self._closed:
                    raise SinkError(f"spool {self.dir} is closed")
            return self._write(pieces)

    def _write(self, pieces: Iterable[bytes | memoryview]) -> int:
        created = False
        if self._head is None or self._sizes[self._head] >= self.segment_bytes:
            self._roll()
            created = True
        assert self._head is not None and self._head_fd is not None
        seg, fd = self._head, self._head_fd
        size = self._sizes[seg]
        written = 0
        try:
            buf = bytearray()
            for piece in pieces:
                buf += piece
                if len(buf) >= _FLUSH:
                    written += _write_all(fd, buf)
                    buf.clear()
            written += _write_all(fd, buf)
            if written:
                failpoint("spool.after_append")  # whole batch in the segment, not yet fsync'd
            if written and self.sync:
                os.fsync(fd)
                if created:
                    _fsync_dir(self.dir)
            if written:
                failpoint("spool.after_fsync")  # durable on disk; not yet counted, not yet returned
        except BaseException as exc:
            try:
                os.ftruncate(fd, size)  # drop the torn part: the file stays a run of whole records
                os.lseek(fd, size, os.SEEK_SET)
            except OSError:
                pass
            if isinstance(exc, OSError):
                what = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
                raise SinkError(f"cannot write spool segment {self._path(seg)}: {what}") from exc
            raise
        with self._cond:
            self._sizes[seg] = size + written
            self._pending += written
            self._cond.notify_all()
        return written

    def _roll(self) -> None:
        with self._cond:
            if self._head_fd is not None:
                os.close(self._head_fd)
            seg = max([*self._sizes, self._cursor[0] - 1, 0]) + 1
            self._head_fd = os.open(self._path(seg), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._head = seg
            self._sizes[seg] = 0
            self._drop_delivered()

    # ------------------------------------------------------------------------------ reader side
    def read(self, max_records: int, max_bytes: int, timeout: float) -> Chunk | None:
        """The next chunk not yet handed out, waiting up to ``timeout`` for one; None if none."""
        with self._rlock:  # readers take turns, so two never get the same records
            return self._read_chunk(max_records, max_bytes, time.monotonic() + timeout)

    def _read_chunk(self, max_records: int, max_bytes: int, deadline: float) -> Chunk | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                seg, off = self._read
                size = self._sizes.get(seg)
                if size is not None and off < size:
                    break
                later = [s for s in self._sizes if s > seg]
                if later and seg != self._head:
                    self._read = (min(later), 0)  # this segment is sealed and fully handed out
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            path = self._path(seg)
            end_limit = size
        want = min(end_limit - off, max_bytes)
        with open(path, "rb") as fh:
            fh.seek(off)
            data = fh.read(want)
            used, records = complete_records(data, max_records)
            while records == 0 and len(data) < end_limit - off:  # one record larger than max_bytes
                data += fh.read(min(max_bytes, end_limit - off - len(data)))
                used, records = complete_records(data, 1)
        if records == 0:
            raise SinkError(f"spool segment {path} holds a torn record at byte {off}")
        with self._cond:
            self._read = (seg, off + used)
        return Chunk(seg, off, off + used, data[:used], records)

    def ack(self, chunk: Chunk) -> bool:
        """Every record of ``chunk`` is delivered or dead-lettered. True when the cursor moved and
        was written (False: the chunk is ahead of an unacknowledged one, or the spool is closed)."""
        with self._cond:
            if self._closed:
                return False
            self._acked[(chunk.segment, chunk.start)] = chunk.end
            moved = False
            while True:
                seg, off = self._cursor
                end = self._acked.pop((seg, off), None)
                if end is not None:
                    self._pending -= end - off
                    self._cursor = (seg, end)
                    moved = True
                    continue
                later = [s for s in self._sizes if s > seg]
                if later and seg != self._head and off >= self._sizes.get(seg, 0):
                    self._cursor = (min(later), 0)
                    moved = True
                    continue
                break
            if moved:
                self._drop_delivered()
                self._save_cursor()
                self._cond.notify_all()
            return moved

    def wait_empty(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending > 0 and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is None else min(left, 1.0))
            return self._pending == 0

    @property
    def pending_bytes(self) -> int:
        with self._cond:
            return self._pending

    def segments(self) -> list[int]:
        with self._cond:
            return sorted(self._sizes)

    # ------------------------------------------------------------------------------ internals
    def _path(self, seg: int) -> Path:
        return self.dir / f"{seg:016d}{SUFFIX}"

    def _drop_delivered(self) -> None:
        """Delete sealed segments the cursor has passed, moving the cursor to the next segment
        (called with ``_cond`` held). The segment being appended is never deleted."""
        for seg in sorted(self._sizes):
            cur_seg, cur_off = self._cursor
            if seg == self._head or seg > cur_seg or (seg == cur_seg and cur_off < self._sizes[seg]):
                continue
            self._path(seg).unlink(missing_ok=True)
            del self._sizes[seg]
            if seg == cur_seg:
                self._cursor = (min((s for s in self._sizes if s > seg), default=seg + 1), 0)
                self._read = max(self._read, self._cursor)

    def _load_cursor(self) -> tuple[int, int]:
        try:
            raw = orjson.loads((self.dir / CURSOR).read_bytes())
            return int(raw["segment"]), int(raw["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return (0, 0)

    def _save_cursor(self) -> None:
        tmp = self.dir / (CURSOR + ".tmp")
        seg, off = self._cursor
        tmp.write_bytes(orjson.dumps({"segment": seg, "offset": off}))
        os.replace(tmp, self.dir / CURSOR)
