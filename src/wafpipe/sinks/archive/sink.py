"""The archive sink: every event as Parquet, partitioned by day and site, each object named in a
hash-chained manifest (:mod:`.manifest`). The Parquet files are the Batch's Arrow columns as they
are (nested ECS structs, ``event.original`` inside), written by pyarrow without re-serialising, and
readable by DuckDB, Spark, Trino and Athena (``read_parquet('events/*/*/*.parquet',
hive_partitioning = true)``).

Layout under ``path`` (a directory) or ``s3://bucket/prefix/`` (:mod:`.s3`)::

    events/date=2026-11-01/site=shop.example.com/<file>-<first ordinal>-<part>.parquet
    originals/date=2026-11-01/<file name>~<file identity>   the file as received, byte for byte
    manifest.jsonl   (S3: manifest/<20-digit seq>.jsonl, one segment per Batch)
    .pending/        objects written but not yet in the manifest (S3: pending/<seq>.json intents)

The original file is kept with the file's final Batch (``Batch.path``: the local file it was read
from, still in place then), dated by its header's ``endTime``; encrypted files stay encrypted.
Under redaction without ``keep_raw`` (``Context.keep_raw_files`` false) plain files are not kept:
they hold every value the redaction removes from the events.

Exactly once (DESIGN §2). A Batch's objects are made durable aside (a directory: in ``.pending/``;
a bucket: at their final keys, announced by an intent object), then its manifest lines are
committed in one step (appended in one fsync'd write; a bucket: one new segment object), then the
write is finished (renamed into place; the intent removed) — the storage's protocol,
:mod:`.storage`; the Batch is durable when ``write`` returns. A Batch of a file the manifest
already holds up to its ``next`` ordinal is a replay and is skipped; one that overlaps is cut at the
archived ordinal. On open, what a crash left between the steps is finished or removed — so a crash
at any point leaves an archive that verifies and holds every acknowledged event once. Events not read from a file in order (dead-letter
replay) are named by a hash of their ids, and an object already in the manifest is not added again.

Site names come from the data: each is percent-encoded into one path component (``/`` included),
so none can leave the archive's directory.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wafpipe.errors import SinkError
from wafpipe.failpoints import failpoint
from wafpipe.fields.arrow import column
from wafpipe.model import Batch, FileInfo
from wafpipe.sinks.archive.manifest import Manifest
from wafpipe.sinks.archive.storage import PENDING, LocalStorage, Storage, sha256_of
from wafpipe.sinks.base import Sink, WriteResult

EVENTS = "events"
ORIGINALS = "originals"
NO_SITE = "_none"
MAX_SITE_CHARS = 120

__all__ = ["EVENTS", "NO_SITE", "ORIGINALS", "PENDING", "ArchiveSink", "site_component"]


def site_component(site: str | None) -> str:
    """``site=<name>``: the name percent-encoded (``/`` too) and bounded; long names end in a hash."""
    if not site:
        return f"site={NO_SITE}"
    encoded = quote(site, safe="")
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")
    if encoded.startswith("_"):  # keeps "_none" for events without a site
        encoded = "%5F" + encoded[1:]
    if len(encoded) > MAX_SITE_CHARS:
        encoded = encoded[:MAX_SITE_CHARS] + "~" + hashlib.sha256(site.encode()).hexdigest()[:16]
    return f"site={encoded}"


class ArchiveSink(Sink):
    """``type = "archive"``: see the module docstring. ``target`` is a directory or a :class:`Storage`."""

    needs_documents = False

    def __init__(self, target: Path | Storage, *, compression: str = "zstd", row_group_rows: int = 100_000,
                 keep_originals: bool = True) -> None:
        self.storage = target if isinstance(target, Storage) else LocalStorage(Path(target))
        # False under redaction without keep_raw: a file as received holds every value unredacted
        # (an encrypted one is still kept: its ciphertext shows nothing without the key).
        self.keep_originals = keep_originals
        self.compression = None if compression == "none" else compression
        self.row_group_rows = row_group_rows
        self._manifest: Manifest | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        try:
            self.storage.open()
            self._manifest = Manifest.open(self.storage)
            self.storage.recover(self._manifest.objects, self._manifest.seq)
        except OSError as exc:
            raise SinkError(f"archive {self.storage.where}: cannot be opened: {exc}",
                            hint="check that the directory exists and wafpipe may write to it") from None  # fmt: skip

    def write(self, batch: Batch) -> WriteResult:
        with self._lock:
            if self._manifest is None:
                self.open()
            assert self._manifest is not None
            rows, key, start = self._new_rows(batch)
            try:
                written = self._write_objects(batch, rows, key, start) if rows.num_rows else None
                if batch.final and batch.path and (self.keep_originals or (batch.info and batch.info.encrypted)):
                    self._keep_original(batch, key)
            except OSError as exc:
                self._manifest = None  # read again before the retry: the commit may have happened
                raise SinkError(f"archive {self.storage.where}: {exc}", hint="free space or fix permissions; the "
                                "Batch is retried") from None  # fmt: skip
            except SinkError:
                self._manifest = None
                raise
            if written is None:
                return WriteResult(duplicates=len(batch))
            return WriteResult(written=rows.num_rows, duplicates=len(batch) - rows.num_rows)

    def _keep_original(self, batch: Batch, key: str | None) -> None:
        """The file the Batch was read from, copied byte for byte (once: a replayed final Batch
        finds it in the manifest) and listed in the manifest like the events."""
        assert self._manifest is not None and batch.path is not None
        info = batch.info
        identity = info.identity.hex() if info is not None and info.identity else hashlib.sha256(
            batch.file_key.encode()).hexdigest()  # fmt: skip
        name = f"{ORIGINALS}/date={_header_day(info)}/{quote(Path(batch.path).name, safe='')[:150]}~{identity[:24]}"
        if name in self._manifest.objects:
            return
        source = Path(batch.path)
        digest, size = sha256_of(source), source.stat().st_size
        extra = self.storage.begin(self._manifest.seq + 1, [(name, digest)])
        self.storage.put(name, source, digest, size)
        self._manifest.append([{"object": name, "sha256": digest, "bytes": size, "rows": 0, "file": key,
                                "first": batch.next_ordinal, "next": batch.next_ordinal, "original": True,
                                **extra}])  # fmt: skip
        self.storage.publish([name])

    def _new_rows(self, batch: Batch) -> tuple[pa.RecordBatch, str | None, int]:
        """The rows not yet archived, the file key they are tracked by (None: not read in order),
        and the first ordinal they hold (a Batch cut at the archived ordinal starts there: its
        objects are named by it, never by another Batch's)."""
        assert self._manifest is not None
        rows = batch.events
        if not batch.file_read or not len(batch):
            return rows, None, batch.first_ordinal
        identities = pc.unique(column(rows, "imperva.waf.file.identity")).to_pylist()
        if len(identities) != 1 or identities[0] is None:
            return rows, None, batch.first_ordinal
        key = str(identities[0])
        done = self._manifest.archived.get(key, 0)
        if done >= batch.next_ordinal:
            return rows.slice(0, 0), key, done
        if done > batch.first_ordinal:
            rows = rows.filter(pc.greater_equal(column(rows, "imperva.waf.file.ordinal"), done))
            return rows, key, done
        return rows, key, batch.first_ordinal

    def _write_objects(self, batch: Batch, rows: pa.RecordBatch, key: str | None, start: int) -> list[str] | None:
        assert self._manifest is not None
        stem = (f"{hashlib.sha256(key.encode()).hexdigest()[:24]}-{start}" if key is not None
                else "replay-" + hashlib.sha256("\n".join(batch.ids).encode()).hexdigest()[:24])  # fmt: skip
        lines: list[dict[str, Any]] = []
        staged: list[tuple[str, Path]] = []
        for n, (place, part) in enumerate(_partitions(rows)):
            name = f"{EVENTS}/{place}/{stem}-{n}.parquet"
            if key is None and name in self._manifest.objects:
                return None  # this replay is archived already
            path = self.storage.stage(name)
            pq.write_table(pa.Table.from_batches([part]), path, compression=self.compression,
                           row_group_size=self.row_group_rows)  # fmt: skip
            lines.append({"object": name, "sha256": sha256_of(path), "bytes": path.stat().st_size,
                          "rows": part.num_rows, "file": key, "first": batch.first_ordinal,
                          "next": batch.next_ordinal})  # fmt: skip
            staged.append((name, path))
        extra = self.storage.begin(self._manifest.seq + 1, [(line["object"], line["sha256"]) for line in lines])
        for (name, path), line in zip(staged, lines, strict=True):
            self.storage.put(name, path, line["sha256"], line["bytes"])
        failpoint("sink.archive.after_write")
        self._manifest.append([{**line, **extra} for line in lines])
        names = [name for name, _ in staged]
        self.storage.publish(names)
        return names

    def close(self) -> None:
        self._manifest = None
        self.storage.close()


def _header_day(info: FileInfo | None) -> str:
    """The day of the file's header ``endTime``, or ``unknown`` (a headerless file, or a time no
    calendar holds): from the file alone, so a replayed final Batch names the same object."""
    end_ms = str((info.header.get("endtime") if info is not None else None) or "")
    try:
        return datetime.fromtimestamp(int(end_ms) / 1000, UTC).strftime("%Y-%m-%d") if end_ms.isdigit() else "unknown"
    except (ValueError, OverflowError, OSError):
        return "unknown"


def _partitions(rows: pa.RecordBatch) -> list[tuple[str, pa.RecordBatch]]:
    """The rows by ``date=YYYY-MM-DD/site=<url.domain>``, in order of first appearance."""
    days = pc.strftime(column(rows, "@timestamp"), format="%Y-%m-%d").to_pylist()
    sites = column(rows, "url.domain").to_pylist()
    order: dict[tuple[str, str | None], list[int]] = {}
    for i, (day, site) in enumerate(zip(days, sites, strict=True)):
        order.setdefault((day or "unknown", site), []).append(i)
    return [(f"date={day}/{site_component(site)}", rows.take(pa.array(index, pa.int64())))
            for (day, site), index in order.items()]  # fmt: skip
