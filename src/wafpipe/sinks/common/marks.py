"""Which events a spooling sink already holds, so a Batch the pipeline replays after a crash is not
spooled (and sent) twice — for receivers that cannot tell a repeat as a cluster does with a 409
(syslog, Splunk HEC).

``spooled.json`` in the spool directory holds, per file key, the next line ordinal not yet
spooled; events of a file's own read below it are skipped. A sink using it writes records whose
first line is a JSON object with ``"f"`` (the file key) and ``"o"`` (the event's ordinal). The
marks are written after each append; a crash between the two is repaired at start-up from the
newest segment, which still holds that append (a segment is deleted only once a later append
started, which is after its marks were written).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from wafpipe.model import Batch
from wafpipe.sinks.common.spool import SUFFIX, valid_prefix

MARKS = "spooled.json"
MAX_MARKS = 10_000  # files remembered; a file is replayed only soon after it was read


class Marks:
    """Per file key, the next ordinal already in the spool (see the module's docstring)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / MARKS
        self.dir = directory
        self.next: dict[str, int] = {}

    def load(self) -> None:
        """Read the marks, then raise them from the newest segment's records. Called before the
        spool opens, which may delete that segment when everything in it was delivered."""
        try:
            self.next = {str(k): int(v) for k, v in orjson.loads(self.path.read_bytes()).items()}
        except (OSError, ValueError, AttributeError):
            self.next = {}
        segments = sorted(p for p in self.dir.glob("*" + SUFFIX) if p.stem.isdigit())
        if segments:
            data = segments[-1].read_bytes()
            data = data[: valid_prefix(data)]
            for action in data.split(b"\n")[0::2]:
                if action:
                    self._raise(orjson.loads(action))

    def _raise(self, action: dict[str, object]) -> None:
        key, ordinal = action.get("f"), action.get("o")
        if isinstance(key, str) and key and isinstance(ordinal, int):
            self.next[key] = max(self.next.get(key, 0), ordinal + 1)

    def keep(self, batch: Batch, ordinals: list[int | None]) -> list[bool]:
        """Which events of ``batch`` are not in the spool yet (only a file's own read is judged)."""
        start = self.next.get(batch.file_key, 0) if batch.file_read and batch.file_key else 0
        return [o is None or o >= start for o in ordinals]

    def save(self, batch: Batch, last: int | None) -> None:
        if not (batch.file_read and batch.file_key and last is not None):
            return
        self.next.pop(batch.file_key, None)  # re-inserted last: the dict keeps the newest files
        self.next[batch.file_key] = max(last + 1, batch.next_ordinal)
        while len(self.next) > MAX_MARKS:
            del self.next[next(iter(self.next))]
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(self.next))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
