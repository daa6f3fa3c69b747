"""Where an archive's bytes live, behind one small interface, so that the sink (:mod:`.sink`), the
manifest (:mod:`.manifest`) and ``archive verify`` (:mod:`.verify`) have one logic for a local
directory (:class:`LocalStorage`, here) and an S3 bucket (:class:`~.s3.S3Storage`).

One Batch's write, whatever the storage::

    stage(name) → a local file the object's bytes are written to (Parquet)
    begin(seq, objects)     the write is announced (S3: an intent object; local: nothing)
    put(name, file, sha256) each object made durable (local: fsync'd in .pending/; S3: PUT at its
                            final key, with its Object Lock retention)
    append_manifest(...)    the commit: the Batch's manifest lines, in one durable step
    publish(names)          after the commit (local: rename into place; S3: drop the intent)

and on open ``recover(committed, head)`` finishes or undoes what a crash left between ``begin`` and
``publish``. The two storages differ because a directory can rename and append and a bucket can do
neither; what each leaves after a crash at any of these steps is described in its own docstring.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.jsonl"
PENDING = ".pending"
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Stat:
    """An object as stored: its size and SHA-256 (read from its bytes), and its Object Lock (S3)."""

    size: int
    sha256: str
    lock_mode: str | None = None  # "COMPLIANCE" / "GOVERNANCE"
    retain_until: datetime | None = None


@dataclass(frozen=True)
class Part:
    """One piece of the manifest as stored (the local file, or one S3 segment): its name, bytes and
    Object Lock."""

    name: str
    data: bytes
    lock_mode: str | None = None
    retain_until: datetime | None = None


class Storage(ABC):
    """An archive's storage: see the module docstring for the write protocol."""

    where: str  # the archive as a person names it: a directory or s3://bucket/prefix
    manifest_label: str  # where its manifest is, for messages
    locked: bool = False  # every object must carry an Object Lock retention (verify checks it)

    def open(self) -> None:  # noqa: B027 - optional hook
        """Check the target and prepare it for writing (the sink's open)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what ``open`` took."""

    # --- the manifest
    @abstractmethod
    def has_manifest(self) -> bool: ...

    @abstractmethod
    def manifest_parts(self) -> Iterator[Part]:
        """The manifest's pieces in chain order."""

    @abstractmethod
    def cut_manifest(self, part: str, keep: int) -> None:
        """Drop what follows byte ``keep`` of ``part``: lines a crash left without their commit."""

    @abstractmethod
    def append_manifest(self, first_seq: int, data: bytes) -> None:
        """Commit one Batch's manifest lines (``first_seq`` is the seq of the first), durably, at once."""

    # --- objects
    @abstractmethod
    def stage(self, name: str) -> Path:
        """A local file to write the bytes of object ``name`` into before :meth:`put`."""

    def begin(self, seq: int, objects: list[tuple[str, str]]) -> dict[str, Any]:
        """Announce the write of ``objects`` (name, SHA-256) to be committed as ``seq`` onwards;
        returns the fields its manifest lines record about the storage (the Object Lock retention)."""
        return {}

    @abstractmethod
    def put(self, name: str, source: Path, sha256: str, size: int) -> None:
        """Make the bytes of ``source`` durable as object ``name`` (not yet committed)."""

    @abstractmethod
    def publish(self, names: list[str]) -> None:
        """After the manifest commit: what makes the committed objects visible / the write finished."""

    @abstractmethod
    def recover(self, committed: set[str], head_seq: int) -> None:
        """On open: finish the publish of committed objects, remove what was never committed."""

    @abstractmethod
    def stat(self, name: str) -> Stat | None:
        """The object as stored (None: there is none)."""

    @abstractmethod
    def names(self, top: str) -> Iterator[str]:
        """Every object under the top-level folder ``top`` (``events``, ``originals``)."""

    def leftovers(self, head_seq: int) -> dict[str, str]:
        """Objects of a write that was announced but never committed (name → SHA-256): a crash's
        leftovers, removed at the next open; ``verify`` tells them from inserted objects."""
        return {}


class LocalStorage(Storage):
    """A directory. Objects are written into ``.pending/`` and fsync'd (``put``), the manifest lines
    appended to ``manifest.jsonl`` in one fsync'd write (the commit), then the objects renamed into
    place (``publish``). A crash before the commit leaves files in ``.pending/`` and perhaps a line
    cut half way: both are removed on open; after it, the renames are finished on open."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.where = str(self.root)
        self.manifest_label = str(self.root / MANIFEST)

    def open(self) -> None:
        (self.root / PENDING).mkdir(parents=True, exist_ok=True)

    def has_manifest(self) -> bool:
        return (self.root / MANIFEST).exists()

    def manifest_parts(self) -> Iterator[Part]:
        if self.has_manifest():
            yield Part(MANIFEST, (self.root / MANIFEST).read_bytes())

    def cut_manifest(self, part: str, keep: int) -> None:
        with (self.root / MANIFEST).open("r+b") as fh:
            fh.truncate(keep)
            os.fsync(fh.fileno())

    def append_manifest(self, first_seq: int, data: bytes) -> None:
        with (self.root / MANIFEST).open("ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def stage(self, name: str) -> Path:
        return self.root / PENDING / Path(name).name

    def put(self, name: str, source: Path, sha256: str, size: int) -> None:
        pending = self.stage(name)
        if source != pending:
            with open(source, "rb") as src, pending.open("wb") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
        with pending.open("rb+") as fh:
            os.fsync(fh.fileno())
        fsync_dir(pending.parent)

    def publish(self, names: list[str]) -> None:
        for name in names:
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            self.stage(name).replace(target)
            fsync_dir(target.parent)

    def recover(self, committed: set[str], head_seq: int) -> None:
        pending = self.root / PENDING
        for leftover in pending.iterdir():
            target = next((o for o in committed if Path(o).name == leftover.name), None)
            if target is not None and not (self.root / target).exists():
                (self.root / target).parent.mkdir(parents=True, exist_ok=True)
                leftover.replace(self.root / target)
            else:
                leftover.unlink()
        fsync_dir(pending)

    def stat(self, name: str) -> Stat | None:
        path = self.root / name
        if not path.is_file():
            return None
        return Stat(path.stat().st_size, sha256_of(path))

    def names(self, top: str) -> Iterator[str]:
        tree = self.root / top
        if tree.is_dir():
            for path in sorted(p for p in tree.rglob("*") if p.is_file()):
                yield path.relative_to(self.root).as_posix()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
