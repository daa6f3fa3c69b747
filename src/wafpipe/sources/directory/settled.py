"""Whether a listed file is complete at the first look, so that ``--once`` need not wait.

The directory source takes a file when it has not changed for ``poll_interval_s``: under
``wafpipe run --once``, two listings that far apart. A file whose mtime is already that old at the
first listing has shown the same, over the interval just past instead of the one to come, provided
its mtime was stamped by this machine's clock. On a local filesystem it was (the kernel stamps every
write with the clock we read); on a network filesystem the server stamps it, and a server clock
behind ours would make a file still being written look settled. So the early answer is given only
on filesystems known to be local, and a file stamped in the future is never settled early.

Every way files usually land keeps the rule sound: a file is written with current mtimes and renamed
into place (rsync, ``.filepart`` uploads: the rename does not change its mtime, and the content was
complete before it); ``cp -p``, ``scp -p`` and ``sftp put -p`` set an old mtime only after the last
byte. A writer that stalls for longer than the interval mid-file fools both checks alike.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# Filesystems whose mtimes come from this machine's clock.
LOCAL_FILESYSTEMS = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "bcachefs", "tmpfs", "ramfs",
    "overlay",
})
MOUNTINFO = Path("/proc/self/mountinfo")
_OCTAL = re.compile(r"\\([0-7]{3})")  # mountinfo writes a space in a path as \040


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem ``path`` is on (the mount whose point is its longest prefix, the
    last one mounted there when several are), from Linux's ``/proc/self/mountinfo``; None when that
    cannot be read."""
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text()
        except OSError:
            return None
    target = os.path.realpath(path)
    found: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        before, dash, after = line.partition(" - ")
        fields, kind = before.split(), after.split()
        if not dash or len(fields) < 5 or not kind:
            continue
        point = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = point == "/" or target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (found is None or len(point) >= found[0]):
            found = (len(point), kind[0])
    return found[1] if found is not None else None


def is_local(path: Path) -> bool:
    """``path`` is on a filesystem whose mtimes come from this machine's clock."""
    return filesystem_type(path) in LOCAL_FILESYSTEMS


def settled(mtime_ns: int, now_ns: int, interval_s: float) -> bool:
    """Last changed at least ``interval_s`` before ``now_ns`` (so never when stamped in the future)."""
    return now_ns - mtime_ns >= interval_s * 1e9
