"""The archive's manifest: one JSON line per object, each chained to the line before it by SHA-256,
so that a change, deletion, insertion or reordering of objects or lines shows (``archive verify``).

A line: ``{"seq", "object", "sha256", "bytes", "rows", "file", "first", "next", "commit", "prev",
"hash"}``. ``hash`` is the SHA-256 of ``prev`` and the line's other fields (canonical JSON, sorted
keys), ``prev`` the previous line's ``hash`` (:data:`GENESIS` for the first). ``file``/``first``/
``next`` are the Batch's file and ordinals: a Batch replayed after a crash is recognised by them
and not archived twice. The lines of one Batch are appended in one write, the last with
``commit``; lines after the last ``commit`` (a write cut by a crash) are cut off when the archive is
opened, so a Batch is in the manifest whole or not at all, and the collector replays it.

The lines are kept by the archive's storage (:mod:`.storage`): in one file, ``manifest.jsonl``, in
a directory; in one immutable segment object per Batch, ``manifest/<20-digit seq>.jsonl``, in an S3
bucket (no append there). The chain runs across segments exactly as across the file's lines.

Tamper-evident, not tamper-proof: whoever can rewrite the whole manifest from some line on can
forge the rest of the chain. Keep a copy of the last line's ``hash`` elsewhere (the compliance
report prints it), or write the archive to storage that refuses rewrites.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wafpipe.sinks.archive.storage import MANIFEST, Part, Storage

GENESIS = "0" * 64
ENTRY_KEYS = frozenset({"seq", "object", "sha256", "prev", "hash"})

__all__ = ["GENESIS", "MANIFEST", "Manifest", "entries", "line_hash", "part_entries"]


def line_hash(prev: str, entry: dict[str, Any]) -> str:
    """The chain's hash of one line (``entry`` without ``hash``; its ``prev`` is ``prev``)."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


@dataclass
class Manifest:
    """The manifest of one archive, open for appending (one writer: the archive sink)."""

    storage: Storage
    head: str = GENESIS
    seq: int = 0
    archived: dict[str, int] = field(default_factory=dict)  # file key → next ordinal archived
    objects: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, storage: Storage) -> Manifest:
        """Read the manifest, cutting off lines after its last ``commit`` (a crash's half write)."""
        manifest = cls(storage)
        for part in storage.manifest_parts():
            pending: list[dict[str, Any]] = []
            keep = pos = 0
            for raw in part.data.splitlines(keepends=True):
                try:
                    entry = json.loads(raw) if raw.endswith(b"\n") else None
                except ValueError:
                    entry = None
                if not isinstance(entry, dict) or not set(entry) >= ENTRY_KEYS:
                    break
                pos += len(raw)
                pending.append(entry)
                if entry.get("commit"):
                    for e in pending:
                        manifest._take(e)
                    pending, keep = [], pos
            if keep < len(part.data):  # nothing after an uncommitted line is taken
                storage.cut_manifest(part.name, keep)
                break
        return manifest

    def _take(self, entry: dict[str, Any]) -> None:
        self.head, self.seq = str(entry["hash"]), int(entry["seq"])
        self.objects.add(str(entry["object"]))
        if entry.get("file") is not None:
            key = str(entry["file"])
            self.archived[key] = max(self.archived.get(key, 0), int(entry["next"]))

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Chain one Batch's lines (the last marked ``commit``) and commit them, durably, at once."""
        lines = []
        head, seq = self.head, self.seq
        for i, entry in enumerate(entries):
            seq += 1
            chained = {**entry, "seq": seq, "commit": i == len(entries) - 1, "prev": head}
            chained["hash"] = head = line_hash(chained["prev"], chained)
            lines.append(json.dumps(chained, sort_keys=True, separators=(",", ":")) + "\n")
        self.storage.append_manifest(self.seq + 1, "".join(lines).encode())
        for line in lines:
            self._take(json.loads(line))


def entries(storage: Storage) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]:
    """Each manifest line: ``(where it is, the problem with its JSON or None, the entry)``; where is
    ``manifest.jsonl line 3`` or ``manifest/00000000000000000041.jsonl line 2``."""
    for part in storage.manifest_parts():
        yield from part_entries(part)


def part_entries(part: Part) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]:
    """The lines of one piece of the manifest, as :func:`entries` gives them."""
    for number, raw in enumerate(part.data.splitlines(keepends=True), 1):
        where = f"{part.name} line {number}"
        try:
            entry = json.loads(raw)
        except ValueError as exc:
            yield where, f"not JSON ({exc})", None
            continue
        if not isinstance(entry, dict) or not set(entry) >= ENTRY_KEYS:
            yield where, "not a manifest entry", None
            continue
        yield where, None, entry
