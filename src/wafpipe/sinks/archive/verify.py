"""``wafpipe archive verify``: the archive checked against its manifest (:mod:`.manifest`), every
broken link named.

Checked: each line is JSON and a manifest entry; ``seq`` counts up by one; ``prev`` is the previous
line's ``hash`` and ``hash`` is the line's own (a changed, removed, inserted or reordered line
breaks the chain there); each object exists, with the size and SHA-256 the manifest gives (a
changed or swapped object); no object under ``events/`` or ``originals/`` is missing from the
manifest (an inserted one). ``since``/``until`` limit the object checks to the days in that range; the chain is always
checked whole (it is small: one line per object).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from wafpipe.sinks.archive.manifest import GENESIS, MANIFEST, entries, line_hash, sha256_of
from wafpipe.sinks.archive.sink import EVENTS, ORIGINALS


@dataclass
class Verdict:
    """What ``verify`` found: objects and lines checked, the broken links (empty: intact)."""

    lines: int = 0
    objects: int = 0
    rows: int = 0
    head: str = GENESIS
    broken: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def _day(name: str) -> date | None:
    for part in Path(name).parts:
        if part.startswith("date="):
            try:
                return date.fromisoformat(part[5:])
            except ValueError:
                return None
    return None


def verify(root: Path, since: date | None = None, until: date | None = None) -> Verdict:
    """Check the archive at ``root`` (see the module docstring)."""
    verdict = Verdict()
    if not (root / MANIFEST).exists():
        verdict.broken.append(f"{root / MANIFEST}: no manifest: not an archive, or its manifest was removed")
        return verdict
    prev, seq = GENESIS, 0
    listed: set[str] = set()
    for number, problem, entry in entries(root):
        verdict.lines += 1
        where = f"{MANIFEST} line {number}"
        if entry is None:
            verdict.broken.append(f"{where}: {problem}")
            continue
        name = str(entry["object"])
        listed.add(name)
        if entry["seq"] != seq + 1:
            verdict.broken.append(f"{where} ({name}): seq {entry['seq']} follows {seq}: a line was removed, "
                                  "inserted or moved")  # fmt: skip
        if entry["prev"] != prev:
            verdict.broken.append(f"{where} ({name}): its link to the line before does not match: the line "
                                  "before was changed, removed or moved")  # fmt: skip
        if line_hash(str(entry["prev"]), entry) != entry["hash"]:
            verdict.broken.append(f"{where} ({name}): its hash does not match its content: the line was changed")
        prev, seq = str(entry["hash"]), int(entry["seq"])
        day = _day(name)
        if (since and day and day < since) or (until and day and day > until):
            continue
        verdict.objects += 1
        verdict.rows += int(entry.get("rows") or 0)
        path = root / name
        if not path.is_file():
            verdict.broken.append(f"{name}: missing (listed at {where})")
        elif path.stat().st_size != entry.get("bytes") or sha256_of(path) != entry["sha256"]:
            verdict.broken.append(f"{name}: its content differs from the SHA-256 in {where}: changed or replaced")
    verdict.head = prev
    for tree in (root / EVENTS, root / ORIGINALS):
        if not tree.is_dir():
            continue
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            day = _day(name)
            if name not in listed and not ((since and day and day < since) or (until and day and day > until)):
                verdict.broken.append(f"{name}: not in the manifest: added after it was archived")
    return verdict
