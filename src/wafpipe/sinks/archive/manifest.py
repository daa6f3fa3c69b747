"""The archive's manifest: one JSON line per object, each chained to the line before it by SHA-256,
so that a change, deletion, insertion or reordering of objects or lines shows (``archive verify``).

A line: ``{"seq", "object", "sha256", "bytes", "rows", "file", "first", "next", "commit", "prev",
"hash"}``. ``hash`` is the SHA-256 of ``prev`` and the line's other fields (canonical JSON, sorted
keys), ``prev`` the previous line's ``hash`` (:data:`GENESIS` for the first). ``file``/``first``/
``next`` are the Batch's file and ordinals: a Batch replayed after a crash is recognised by them
and not archived twice. The lines of one Batch are appended in one write, the last with
``commit``; lines after the last ``commit`` (a write cut by a crash) are cut off when the archive is
opened, so a Batch is in the manifest whole or not at all, and the collector replays it.

Tamper-evident, not tamper-proof: whoever can rewrite the whole manifest from some line on can
forge the rest of the chain. Keep a copy of the last line's ``hash`` elsewhere (the compliance
report prints it), or write the archive to storage that refuses rewrites.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
MANIFEST = "manifest.jsonl"


def line_hash(prev: str, entry: dict[str, Any]) -> str:
    """The chain's hash of one line (``entry`` without ``hash``; its ``prev`` is ``prev``)."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


@dataclass
class Manifest:
    """The manifest of one archive, open for appending (one writer: the archive sink)."""

    path: Path
    head: str = GENESIS
    seq: int = 0
    archived: dict[str, int] = field(default_factory=dict)  # file key → next ordinal archived
    objects: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, root: Path) -> Manifest:
        """Read the manifest, cutting off lines after its last ``commit`` (a crash's half write)."""
        manifest = cls(root / MANIFEST)
        if not manifest.path.exists():
            return manifest
        data = manifest.path.read_bytes()
        keep = 0
        pos = 0
        pending: list[dict[str, Any]] = []
        for raw in data.splitlines(keepends=True):
            pos += len(raw)
            if not raw.endswith(b"\n"):
                break
            try:
                entry = json.loads(raw)
            except ValueError:
                break
            pending.append(entry)
            if entry.get("commit"):
                for e in pending:
                    manifest._take(e)
                pending = []
                keep = pos
        if keep < len(data):
            with manifest.path.open("r+b") as fh:
                fh.truncate(keep)
                os.fsync(fh.fileno())
        return manifest

    def _take(self, entry: dict[str, Any]) -> None:
        self.head, self.seq = str(entry["hash"]), int(entry["seq"])
        self.objects.add(str(entry["object"]))
        if entry.get("file") is not None:
            key = str(entry["file"])
            self.archived[key] = max(self.archived.get(key, 0), int(entry["next"]))

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Chain and append one Batch's lines (the last marked ``commit``), durably."""
        lines = []
        head, seq = self.head, self.seq
        for i, entry in enumerate(entries):
            seq += 1
            chained = {**entry, "seq": seq, "commit": i == len(entries) - 1, "prev": head}
            chained["hash"] = head = line_hash(chained["prev"], chained)
            lines.append(json.dumps(chained, sort_keys=True, separators=(",", ":")) + "\n")
        with self.path.open("ab") as fh:
            fh.write("".join(lines).encode())
            fh.flush()
            os.fsync(fh.fileno())
        for line in lines:
            self._take(json.loads(line))


def entries(root: Path) -> Iterator[tuple[int, str | None, dict[str, Any] | None]]:
    """Each manifest line: ``(line number, the problem with its JSON or None, the entry)``."""
    path = root / MANIFEST
    if not path.exists():
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                entry = json.loads(raw)
            except ValueError as exc:
                yield number, f"not JSON ({exc})", None
                continue
            if not isinstance(entry, dict) or not {"seq", "object", "sha256", "prev", "hash"} <= set(entry):
                yield number, "not a manifest entry", None
                continue
            yield number, None, entry


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
