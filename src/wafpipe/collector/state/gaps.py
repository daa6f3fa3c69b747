"""Gap detection over the state database (DESIGN §2 Gaps).

Imperva sequence numbers skip values on purpose, so an integer hole in file names is *not* a gap.
The three kinds that are:

* ``index_missed`` — a file left ``logs.index`` before we fetched it; the source that saw it records
  it (:meth:`GapDetection.add_gap`);
* ``time_hole`` — a hole in time between consecutive files of one log configuration, from the
  header times recorded for each file (:meth:`GapDetection.record_header`);
* ``stale`` — no new file for longer than Imperva's normal delivery delay.

The last two are computed on demand from ``file_times``, never stored, so they follow the grace
period and delay the caller asks for. A mixin of :class:`wafpipe.collector.state.store.State`: it uses the state's
connection through ``_tx``/``_query``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wafpipe import clock
from wafpipe.collector.state.schema import _hex

if TYPE_CHECKING:
    import sqlite3


@dataclass
class Gap:
    """A possible hole in the data (DESIGN §2 Gaps). Times are epoch milliseconds."""

    kind: str  # index_missed | time_hole | stale
    scope: str  # config id (time_hole, stale) or source name (index_missed)
    start_ms: int | None
    end_ms: int | None
    detail: str

    @property
    def seconds(self) -> float | None:
        return None if self.start_ms is None or self.end_ms is None else (self.end_ms - self.start_ms) / 1000


class GapDetection:
    """The gap methods of :class:`wafpipe.collector.state.store.State`."""

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]: ...

    def record_header(
        self, identity: bytes | str, header: Mapping[str, str], *, source: str = "", name: str = ""
    ) -> bool:
        """Remember a file's ``configId``/``startTime``/``endTime`` (header names compared without case)
        for gap detection; False when the header lacks them."""
        low = {k.lower(): v.strip() for k, v in header.items()}
        try:
            start, end = int(low["starttime"]), int(low["endtime"])
            config_id = low["configid"]
        except (KeyError, ValueError):
            return False
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO file_times VALUES (?,?,?,?,?,?,?,?)",
                (_hex(identity), config_id, low.get("accountid"), source, name, start, end, time.time()),
            )
        return True

    def newest_header_end_ms(self) -> int | None:
        """The latest header ``endTime`` of any file read: how far the files say time has come
        (``wafpipe doctor`` compares it with the local clock)."""
        rows = self._query("SELECT MAX(end_ms) FROM file_times")
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def file_end_ms(self, source: str, name: str) -> int | None:
        """The header ``endTime`` of the file ``name`` that ``source`` delivered, if it had one."""
        rows = self._query("SELECT MAX(end_ms) FROM file_times WHERE source=? AND name=?", (source, name))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def file_times_between(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Every file whose header window meets ``[start_ms, end_ms)``, per log configuration in time
        order, with when wafpipe read its header (``seen_at``) and when its events were all stored
        (``done_at``, None while not done): what a compliance report counts and times. The join is
        by identity, so the same Imperva file delivered twice is one row."""
        rows = self._query(
            "SELECT t.identity, t.config_id, t.account_id, t.source, t.name, t.start_ms, t.end_ms, t.seen_at, "
            "(SELECT MIN(f.done_at) FROM files f WHERE f.identity = t.identity AND f.status = 'done') AS done_at "
            "FROM file_times t WHERE t.start_ms < ? AND t.end_ms >= ? ORDER BY t.config_id, t.start_ms, t.end_ms",
            (end_ms, start_ms),
        )
        return [dict(r) for r in rows]

    def add_gap(
        self, kind: str, source: str, detail: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> None:
        """Record a gap seen by a source, e.g. ``index_missed``: a file left logs.index before we fetched it."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO gaps (kind, source, detail, start_ms, end_ms, created_at) VALUES (?,?,?,?,?,?)",
                (kind, source, detail, start_ms, end_ms, time.time()),
            )

    def time_gaps(self, *, grace_s: float = 300.0, config_id: str | None = None) -> list[Gap]:
        """Holes longer than ``grace_s`` between one file's endTime and the next file's startTime, per
        log configuration. Files may overlap, so the hole starts at the latest endTime so far. A quiet
        site makes holes too: these are *possible* gaps for a person to check."""
        rows = self._query(
            "SELECT config_id, name, start_ms, end_ms FROM file_times WHERE (?1 IS NULL OR config_id=?1) "
            "ORDER BY config_id, start_ms, end_ms",
            (config_id,),
        )
        gaps: list[Gap] = []
        cur, last_end, last_name = None, 0, ""
        for cfg, name, start, end in rows:
            if cfg != cur:
                cur, last_end, last_name = cfg, end, name
                continue
            if start - last_end > grace_s * 1000:
                gaps.append(
                    Gap("time_hole", cfg, last_end, start, f"no events between {last_name} and {name}")
                )
            if end > last_end:
                last_end, last_name = end, name
        return gaps

    def stale(self, *, now: float | None = None, max_delay_s: float = 1800.0) -> list[Gap]:
        """Log configurations whose newest event time (header endTime) is older than ``max_delay_s``:
        Imperva delivers security logs within 3–5 min and access logs within 10–30 min, so a longer
        silence means files are missing or stuck upstream (or the site had no traffic)."""
        now_ms = int((clock.now() if now is None else now) * 1000)
        rows = self._query(
            "SELECT config_id, MAX(end_ms) FROM file_times GROUP BY config_id ORDER BY config_id"
        )
        return [
            Gap(
                "stale",
                cfg,
                end,
                now_ms,
                f"no file newer than {(now_ms - end) / 60000:.0f} min for configId {cfg}",
            )
            for cfg, end in rows
            if now_ms - end > max_delay_s * 1000
        ]

    def gaps(
        self, *, grace_s: float = 300.0, max_delay_s: float = 1800.0, now: float | None = None
    ) -> list[Gap]:
        """All three kinds of DESIGN §2: recorded (index_missed), time holes, and staleness."""
        recorded = [
            Gap(r[0], r[1], r[3], r[4], r[2])
            for r in self._query("SELECT kind, source, detail, start_ms, end_ms FROM gaps ORDER BY id")
        ]
        return recorded + self.time_gaps(grace_s=grace_s) + self.stale(now=now, max_delay_s=max_delay_s)
