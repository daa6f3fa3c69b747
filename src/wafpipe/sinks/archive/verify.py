"""``wafpipe archive verify``: the archive checked against its manifest (:mod:`.manifest`), every
broken link named.

Checked: each line is JSON and a manifest entry; ``seq`` counts up by one; ``prev`` is the previous
line's ``hash`` and ``hash`` is the line's own (a changed, removed, inserted or reordered line
breaks the chain there); each object exists, with the size and SHA-256 the manifest gives (a
changed or swapped object); no object under ``events/`` or ``originals/`` is missing from the
manifest (an inserted one). ``since``/``until`` limit the object checks to the days in that range;
the chain is always checked whole (it is small: one line per object).

The same checks run on any storage (:mod:`.storage`): a directory or an S3 bucket. On a bucket,
objects of a write that was announced but never committed (a crash's leftovers, named with their
SHA-256 by an intent still pending) are counted, not broken: the sink removes
them when it next opens; any other object the manifest does not name is. Where the bucket has
Object Lock, every object and manifest segment must carry a retention, of the mode and at least
until the time its manifest line records; one without, weaker or shorter is a broken link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wafpipe.sinks.archive.manifest import GENESIS, line_hash, part_entries
from wafpipe.sinks.archive.sink import EVENTS, ORIGINALS
from wafpipe.sinks.archive.storage import LocalStorage, Storage

MODES = {"GOVERNANCE": 1, "COMPLIANCE": 2}  # a compliance lock satisfies a governance requirement


@dataclass
class Verdict:
    """What ``verify`` found: objects and lines checked, the broken links (empty: intact), and the
    leftovers of an unacknowledged write (not broken: removed when the sink next opens)."""

    lines: int = 0
    objects: int = 0
    rows: int = 0
    head: str = GENESIS
    broken: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

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


def _lock_problem(mode: str | None, until: datetime | None, entry: dict[str, Any] | None) -> str | None:
    """Why an object's Object Lock falls short of what its manifest line records (None: it does not)."""
    if mode is None or until is None:
        return "has no Object Lock retention"
    want_mode = str((entry or {}).get("lock") or "")
    if want_mode and MODES.get(mode.upper(), 0) < MODES.get(want_mode.upper(), 0):
        return f"is locked in {mode.upper()} mode, weaker than the {want_mode.upper()} it was archived with"
    want = (entry or {}).get("retain_until")
    if want:
        required = datetime.fromisoformat(str(want).replace("Z", "+00:00"))
        if until < required:
            return (f"is retained until {until.isoformat()}, shorter than the {required.isoformat()} it was "
                    "archived with")  # fmt: skip
    return None


def verify(target: Path | Storage, since: date | None = None, until: date | None = None) -> Verdict:
    """Check the archive at ``target`` (a directory or a storage; see the module docstring)."""
    storage = target if isinstance(target, Storage) else LocalStorage(Path(target))
    verdict = Verdict()
    if not storage.has_manifest():
        verdict.broken.append(f"{storage.manifest_label}: no manifest: not an archive, or its manifest was removed")
        return verdict
    prev, seq = GENESIS, 0
    listed: set[str] = set()
    for part in storage.manifest_parts():
        strongest: dict[str, Any] | None = None  # the line asking the most of its retention
        for where, problem, entry in part_entries(part):
            verdict.lines += 1
            if entry is None:
                verdict.broken.append(f"{where}: {problem}")
                continue
            if strongest is None or _demand(entry) > _demand(strongest):
                strongest = entry
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
            if not _in_range(name, since, until):
                continue
            verdict.objects += 1
            verdict.rows += int(entry.get("rows") or 0)
            stat = storage.stat(name)
            if stat is None:
                verdict.broken.append(f"{name}: missing (listed at {where})")
            elif stat.size != entry.get("bytes") or stat.sha256 != entry["sha256"]:
                verdict.broken.append(f"{name}: its content differs from the SHA-256 in {where}: changed or replaced")
            elif storage.locked and (why := _lock_problem(stat.lock_mode, stat.retain_until, entry)):
                verdict.broken.append(f"{name}: {why} (listed at {where})")
        if storage.locked and (why := _lock_problem(part.lock_mode, part.retain_until, strongest)):
            verdict.broken.append(f"{part.name}: {why}")
    verdict.head = prev
    leftovers = storage.leftovers(seq)
    for tree in (EVENTS, ORIGINALS):
        for name in storage.names(tree):
            if name in listed or not _in_range(name, since, until):
                continue
            stat = storage.stat(name) if name in leftovers else None
            if stat is not None and stat.sha256 == leftovers[name]:
                verdict.leftovers.append(name)
            else:
                verdict.broken.append(f"{name}: not in the manifest: added after it was archived")
    return verdict


def _in_range(name: str, since: date | None, until: date | None) -> bool:
    day = _day(name)
    return not ((since and day and day < since) or (until and day and day > until))


def _demand(entry: dict[str, Any]) -> tuple[int, str]:
    """How much retention a line records: its mode's strength, then its retain-until (ISO, UTC)."""
    return MODES.get(str(entry.get("lock") or "").upper(), 0), str(entry.get("retain_until") or "")
