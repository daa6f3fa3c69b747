"""``health``: one answer to "is everything fine, and if not, what needs me?" (DESIGN §4).

Version 1's ``/health`` said ``ok`` while problems were outstanding (issue 18). Here the status is
``degraded`` whenever something needs a person, and ``problems`` lists each thing in one line:
a component whose last error is newer than its last success, files that failed or were
quarantined, dead letters not yet replayed, and possible gaps in the data. The counts and the
store's totals come along so a dashboard needs no second call.

**One list, from one authority.** Two views could list the same problem: the state's (the
component rows, file counts, dead letters and gaps below) and a running collector's own list
(``collector/status.py``'s ``outstanding``, handed in through ``live()['problems']``). Each
problem appears once, so the answer has exactly one ``problems`` list:

* while a collector runs, **its list is the authority** and the state's view adds no line. It reads
  the same state (failed and quarantined files, dead letters, gaps, files waiting for a key) and
  knows what the state only echoes: the batch a full spool holds *now*, a cluster sink's
  undelivered spool, each source's current problems, and which quarantined files are the ones
  waiting for a key (counted once, not as "quarantined" and again as "waiting"). The state's
  component rows are that same process's record of those live facts, kept for readers when no
  collector runs; a component row the collector does not cover is listed by it too. The collector's
  list is moved to the top (not repeated under ``collector``), and its ``last_error`` stays a field
  of ``collector`` — a past event, not a problem of its own (the failed file it caused is listed);
* without a collector the state's view is the only one, and is listed as described above.

Problems of the store itself (its totals cannot be read) come from here in both cases: no
collector knows them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from wafpipe.errors import WafpipeError
from wafpipe.model import StateView
from wafpipe.store.query.statements import iso
from wafpipe.store.runner import QueryRunner


def _iso(ts: datetime | None) -> str | None:
    return iso(ts) if ts is not None else None


def store_stats(runner: QueryRunner) -> dict[str, Any]:
    """Events, security events, the time span and the file size of the store."""
    rows, _ = runner.fetch(
        'SELECT count(*), count(*) FILTER (WHERE "imperva"."waf"."security_event"), '
        'min("@timestamp"), max("@timestamp") FROM events'
    )
    n, sec, first, last = rows[0]
    size, _ = runner.fetch("SELECT database_size, wal_size FROM pragma_database_size()")
    return {
        "events": int(n),
        "security_events": int(sec),
        "first": _iso(first),
        "last": _iso(last),
        "database_size": size[0][0] if size else None,
        "wal_size": size[0][1] if size else None,
    }


def checksum_problem(files: int) -> str:
    """The one wording of MD5 mismatches, for the state's view and the running collector's list."""
    return (f"{files} file(s) failed their MD5 checksum: their events are stored, but the files may be damaged "
            "(fetch them again; /health lists them)")


def _record(r: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(r) and not isinstance(r, type):
        return dataclasses.asdict(r)
    return dict(r) if isinstance(r, Mapping) else {"value": r}


def _component_ok(rec: dict[str, Any]) -> bool:
    return rec.get("last_error") is None or (rec.get("last_success") or 0) > rec["last_error"]


def build_health(
    runner: QueryRunner | None, state: StateView | None, live: Callable[[], Mapping[str, Any]] | None
) -> dict[str, Any]:
    """The health answer; see the module docstring for whose ``problems`` are listed."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    authority: list[str] | None = None  # a running collector's own list: then the only one
    if live is not None:
        collector = dict(live())
        out["collector"] = collector
        listed = collector.pop("problems", None)
        if isinstance(listed, list):
            authority = [str(p) for p in listed]
        elif collector.get("status") not in (None, "ok") and collector.get("last_error"):
            problems.append(f"collector: {collector['last_error']}")  # a status without a list
    if runner is not None:
        try:
            out["store"] = store_stats(runner)
        except WafpipeError as exc:
            out["store"] = {"error": str(exc)}
            problems.append(f"store: {exc}")
    if state is not None:
        from_state: list[str] = []
        components = {name: _record(rec) for name, rec in state.health().items()}
        out["components"] = components
        for name, rec in components.items():
            if not _component_ok(rec):
                from_state.append(f"{name}: {rec.get('error') or 'failing'}")
        files = state.file_status_counts()
        out["files"] = files
        header_end = state.newest_header_end_ms()
        out["newest_header_end"] = iso(datetime.fromtimestamp(header_end / 1000, UTC)) if header_end else None
        for status in ("failed", "quarantined"):
            if files.get(status):
                from_state.append(f"{files[status]} file(s) {status}")
        mismatched = state.checksum_mismatches()
        out["checksum_mismatches"] = mismatched
        if mismatched:
            from_state.append(checksum_problem(mismatched))
        dead = state.count_dead_letters()
        out["dead_letters"] = dead
        if dead:
            from_state.append(f"{dead} dead letter(s) not replayed (wafpipe deadletters list)")
        gaps = [_record(g) for g in state.gaps()]
        out["gaps"] = gaps
        if gaps:
            kinds = sorted({str(g.get("kind")) for g in gaps})
            from_state.append(f"{len(gaps)} possible gap(s) in the data ({', '.join(kinds)})")
        if authority is None:
            problems += from_state
    if authority is not None:
        problems = authority + problems
    return {"status": "degraded" if problems else "ok", "problems": problems, **out}
