"""Where a delivery of a file already read resumes (DESIGN §2: progress is (file identity, last
ordinal stored); a file that grew resumes after its last ordinal).

A new delivery — another path, name, size or mtime, so another key of the state — may be a file
already read: a copy, a re-delivery, a file that grew after it was read (a headerless log most of
all). Its identity (read from its first bytes, :func:`wafpipe.decode.reader.file_identity`)
finds the reads of the same file that are ``done``; the new read starts after the furthest line
they stored, so the lines before it are not decoded again (their ids would be the same: every sink
keeps the first copy anyway, but decoding and sending them again is the slow backfill users
complain of). Lines after it — what the file gained — are read as usual.

Which earlier reads count: only ``done`` ones (a read that stopped at a fault is quarantined, and
its resume point may lie past the line the fault cut, which the complete copy must give back); for
a file with an Imperva header, any (the header, with its checksum
and period, names that one file, whatever its path or name; a changed body under the same header
fails the checksum and is flagged as usual); for a headerless file, only one at the same path (a log
growing in place — two headerless files elsewhere may begin with the same line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wafpipe.collector.state.store import State
from wafpipe.decode.reader import file_identity
from wafpipe.model import FileRef


@dataclass(frozen=True)
class Resume:
    """A read that starts after ``ordinal`` because ``earlier`` (a file name) stored the lines before it."""

    ordinal: int
    earlier: str


def resume_point(state: State, ref: FileRef, keys_dir: Path | None) -> Resume | None:
    """The resume point of the new delivery ``ref`` (None: read it from its start). Records the
    identity and the resume point in the state, so a crash before the first Batch resumes there too."""
    try:
        found = file_identity(Path(ref.path), keys_dir)
    except OSError:
        return None  # the read itself meets it and says so
    if found is None:
        return None
    identity, has_header = found
    earlier = [
        rec for rec in state.find_identity(identity)
        if rec.key != ref.key and rec.status == "done" and rec.next_ordinal > 0 and (has_header or rec.path == ref.path)
    ]  # fmt: skip
    best = max(earlier, key=lambda rec: rec.next_ordinal, default=None)
    state.set_identity(ref.key, identity)
    if best is None:
        return None
    state.commit_batch(ref.key, best.next_ordinal)
    return Resume(best.next_ordinal, best.name)
