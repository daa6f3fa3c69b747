"""The archive sink: every event as Parquet, partitioned by day and site, each object named in a
hash-chained manifest (:mod:`.manifest`). The Parquet files are the Batch's Arrow columns as they
are (nested ECS structs, ``event.original`` inside), written by pyarrow without re-serialising, and
readable by DuckDB, Spark, Trino and Athena (``read_parquet('events/*/*/*.parquet',
hive_partitioning = true)``).

Layout under ``path``::

    events/date=2026-11-01/site=shop.example.com/<file>-<first ordinal>-<part>.parquet
    originals/date=2026-11-01/<file name>~<file identity>   the file as received, byte for byte
    manifest.jsonl
    .pending/        objects written but not yet in the manifest

The original file is kept with the file's final Batch (``Batch.path``: the local file it was read
from, still in place then), dated by its header's ``endTime``; encrypted files stay encrypted.

Exactly once (DESIGN §2). A Batch's objects are written to ``.pending/`` and fsync'd, then its
manifest lines are appended in one fsync'd write, then the objects are renamed into place; the
Batch is durable when ``write`` returns. A Batch of a file the manifest already holds up to its
``next`` ordinal is a replay and is skipped; one that overlaps is cut at the archived ordinal. On
open, objects of committed lines still in ``.pending/`` are moved into place and the rest of
``.pending/`` (never acknowledged) is removed — so a crash at any point leaves an archive that
verifies and holds every acknowledged event once. Events not read from a file in order (dead-letter
replay) are named by a hash of their ids, and an object already in the manifest is not added again.

Site names come from the data: each is percent-encoded into one path component (``/`` included),
so none can leave the archive's directory.
"""

from __future__ import annotations

import hashlib
import os
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
from wafpipe.sinks.archive.manifest import Manifest, sha256_of
from wafpipe.sinks.base import Sink, WriteResult

EVENTS = "events"
ORIGINALS = "originals"
PENDING = ".pending"
COPY_CHUNK = 1 << 20
NO_SITE = "_none"
MAX_SITE_CHARS = 120


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
    """``type = "archive"``: see the module docstring."""

    needs_documents = False

    def __init__(self, root: Path, *, compression: str = "zstd", row_group_rows: int = 100_000) -> None:
        self.root = Path(root)
        self.compression = None if compression == "none" else compression
        self.row_group_rows = row_group_rows
        self._manifest: Manifest | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        try:
            (self.root / PENDING).mkdir(parents=True, exist_ok=True)
            self._manifest = Manifest.open(self.root)
            self._recover()
        except OSError as exc:
            raise SinkError(f"archive {self.root}: cannot be opened: {exc}",
                            hint="check that the directory exists and wafpipe may write to it") from None  # fmt: skip

    def _recover(self) -> None:
        """Finish the renames of committed objects a crash left in ``.pending/``; drop the rest."""
        assert self._manifest is not None
        pending = self.root / PENDING
        for leftover in pending.iterdir():
            target = next((o for o in self._manifest.objects if Path(o).name == leftover.name), None)
            if target is not None and not (self.root / target).exists():
                (self.root / target).parent.mkdir(parents=True, exist_ok=True)
                leftover.replace(self.root / target)
            else:
                leftover.unlink()
        _fsync_dir(pending)

    def write(self, batch: Batch) -> WriteResult:
        if self._manifest is None:
            self.open()
        assert self._manifest is not None
        with self._lock:
            rows, key, start = self._new_rows(batch)
            try:
                written = self._write_objects(batch, rows, key, start) if rows.num_rows else None
                if batch.final and batch.path:
                    self._keep_original(batch, key)
            except OSError as exc:
                raise SinkError(f"archive {self.root}: {exc}", hint="free space or fix permissions; the Batch is "
                                "retried") from None  # fmt: skip
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
        pending = self.root / PENDING / Path(name).name
        digest = hashlib.sha256()
        with open(batch.path, "rb") as src, pending.open("wb") as dst:
            while chunk := src.read(COPY_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        _fsync_dir(self.root / PENDING)
        self._manifest.append([{"object": name, "sha256": digest.hexdigest(), "bytes": pending.stat().st_size,
                                "rows": 0, "file": key, "first": batch.next_ordinal, "next": batch.next_ordinal,
                                "original": True}])  # fmt: skip
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        pending.replace(target)
        _fsync_dir(target.parent)

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
        moves: list[tuple[Path, Path]] = []
        for n, (place, part) in enumerate(_partitions(rows)):
            name = f"{EVENTS}/{place}/{stem}-{n}.parquet"
            if key is None and name in self._manifest.objects:
                return None  # this replay is archived already
            pending = self.root / PENDING / Path(name).name
            pq.write_table(pa.Table.from_batches([part]), pending, compression=self.compression,
                           row_group_size=self.row_group_rows)  # fmt: skip
            with pending.open("rb") as fh:
                os.fsync(fh.fileno())
            lines.append({"object": name, "sha256": sha256_of(pending), "bytes": pending.stat().st_size,
                          "rows": part.num_rows, "file": key, "first": batch.first_ordinal,
                          "next": batch.next_ordinal})  # fmt: skip
            moves.append((pending, self.root / name))
        _fsync_dir(self.root / PENDING)
        failpoint("sink.archive.after_write")
        self._manifest.append(lines)
        for pending, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            pending.replace(target)
            _fsync_dir(target.parent)
        return [line["object"] for line in lines]

    def close(self) -> None:
        self._manifest = None


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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
