"""The facts of a compliance report, gathered once into one JSON-able dict (the ``json`` format as
is; ``md`` and ``html`` are renderings of it, so the three never disagree).

Every number is read, none estimated: files, header times and gaps from the collector's state;
events, attack types and outcomes from the read side (:class:`wafpipe.store.service.ReadService` or
the running collector's API, the same answers ``wafpipe query`` gives); retention from the
configuration and the store's ``prunes`` table; the archive from its own ``verify()``. A part that
cannot be read is said to be unavailable, with why, rather than shown as zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from wafpipe import clock
from wafpipe.errors import WafpipeError
from wafpipe.tools.report.period import Period, iso
from wafpipe.tools.report.sections import archive_section, redaction_section, requirements, retention_section

SECURITY = "imperva.waf.security_event:true"
ACCESS = "not imperva.waf.security_event:true"
GRACE_S = 300.0  # a hole shorter than this between two files is Imperva's normal jitter, not a gap
MAX_DELAY_S = 1800.0  # Imperva's slowest normal delivery (access logs): older than this is stale
MAX_ROWS = 100_000  # files of one status read from the state: far beyond any real period


def spread(values: list[float]) -> dict[str, float | None]:
    """Median, 95th percentile (nearest rank: a value that occurred) and maximum, in seconds."""
    if not values:
        return {"median_s": None, "p95_s": None, "max_s": None}
    ordered = sorted(values)
    rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 n)
    return {"median_s": round(statistics.median(ordered), 3), "p95_s": round(ordered[rank - 1], 3),
            "max_s": round(ordered[-1], 3)}  # fmt: skip


def _file(rec: Any, times: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A state file record as the report lists it: name, where from, when seen, why."""
    header = times.get(rec.identity or "") or {}
    return {"name": rec.name, "source": rec.source, "seen_at": iso(rec.first_seen), "status": rec.status,
            "reason": rec.error, "config_id": header.get("config_id"),
            "header_start": iso(header.get("start_ms"), ms=True), "header_end": iso(header.get("end_ms"), ms=True),
            "checksum": (rec.facts or {}).get("checksum_status")}  # fmt: skip


def coverage(state: Any, period: Period, now: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Files per log configuration, gaps, files set aside and checksum failures in ``period``; and
    the per-configuration delays. A file set aside counts when it was seen in the period or its
    header window meets it (a file without a readable header has only the time it was seen)."""
    rows = state.file_times_between(period.start_ms, period.end_ms)
    by_config: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_config.setdefault(str(row["config_id"]), []).append(row)
    in_period = {str(r["identity"]): r for r in rows}
    configs, delays = [], []
    for config_id, files in sorted(by_config.items()):
        configs.append({"config_id": config_id, "accounts": sorted({str(f["account_id"]) for f in files
                                                                   if f["account_id"] is not None}),
                        "files": len(files), "first_start": iso(min(f["start_ms"] for f in files), ms=True),
                        "last_end": iso(max(f["end_ms"] for f in files), ms=True)})  # fmt: skip
        seen = [f["seen_at"] - f["end_ms"] / 1000 for f in files]
        stored = [f["done_at"] - f["end_ms"] / 1000 for f in files if f["done_at"] is not None]
        delays.append({"config_id": config_id, "files": len(files), "stored_files": len(stored),
                       "seen": spread(seen), "stored": spread(stored)})  # fmt: skip
    gaps = [{"kind": g.kind, "scope": g.scope, "start": iso(g.start_ms, ms=True), "end": iso(g.end_ms, ms=True),
             "seconds": g.seconds, "detail": g.detail}
            for g in state.gaps(grace_s=GRACE_S, max_delay_s=MAX_DELAY_S, now=now)
            if period.meets(g.start_ms, g.end_ms)]  # fmt: skip

    def listed(records: Iterable[Any]) -> list[dict[str, Any]]:
        return [_file(r, in_period) for r in records
                if period.holds(r.first_seen) or (r.identity or "") in in_period]  # fmt: skip

    facts = {
        "configurations": configs,
        "files": len(rows),
        "gaps": gaps,
        "quarantined": listed(state.list_files(status="quarantined", limit=MAX_ROWS)),
        "failed": listed(state.list_files(status="failed", limit=MAX_ROWS)),
        "checksum_failures": listed(state.list_files(checksum="mismatch", limit=MAX_ROWS)),
        "grace_s": GRACE_S,
        "max_delay_s": MAX_DELAY_S,
    }
    return facts, delays


def alerts(state: Any, period: Period) -> list[dict[str, Any]]:
    """Alerts whose events fall in the period (acknowledged or not), oldest first."""
    out = []
    for a in state.list_alerts(MAX_ROWS, include_acknowledged=True):
        first, last = a.record.get("first"), a.record.get("last")
        lo = _parse_ms(first)
        hi = _parse_ms(last)
        if not period.meets(lo, hi) and not period.holds(a.created_at):
            continue
        out.append({"id": a.id, "rule_id": a.rule_id, "title": a.title, "level": a.level, "events": a.count,
                    "first_event": first, "last_event": last, "opened_at": iso(a.created_at),
                    "acknowledged_at": iso(a.acknowledged_at)})  # fmt: skip
    return sorted(out, key=lambda a: (a["first_event"] or "", a["id"]))


def _parse_ms(value: Any) -> int | None:
    if not value:
        return None
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def security(reader: Any, period: Period) -> dict[str, Any]:
    """Events in the period and, among the security events, each attack type (``rule.category``)
    by what Imperva did (``event.action``: blocked, passed…) — the read side's own counts."""
    since, until = period.start, period.end
    pairs = reader.top("rule.category", SECURITY, since=since, until=until, limit=1000, by="event.action")
    return {
        "events": reader.count("", since=since, until=until)["count"],
        "security_events": reader.count(SECURITY, since=since, until=until)["count"],
        "by_category": reader.top("rule.category", SECURITY, since=since, until=until, limit=1000)["values"],
        "by_action": reader.top("event.action", SECURITY, since=since, until=until, limit=1000)["values"],
        "by_category_and_action": pairs["values"],
    }


def oldest(reader: Any) -> dict[str, str | None]:
    """The oldest event each dataset still holds (what retention has left)."""
    out: dict[str, str | None] = {}
    for dataset, q in (("security", SECURITY), ("access", ACCESS)):
        found = reader.search(q, limit=1, fields=["@timestamp"], newest_first=False)["events"]
        stamp = found[0].get("@timestamp") if found else None
        out[dataset] = iso(_parse_ms(stamp), ms=True) if stamp else None
    return out


def build(config: Any, period: Period, *, state: Any | None, reader: Any | None,
          prunes: Callable[[], list[dict[str, Any]]] | None, version: str = "",
          why: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The whole report. ``state``: the collector's state (None: nothing was collected yet);
    ``reader``: the read side (None: no store to read, with the reason in ``unavailable``);
    ``prunes``: reads the store's deletion history (None: the store is held by a running collector);
    ``why``: the reason a part could not be opened, by part."""
    now = clock.now()
    unavailable: dict[str, str] = {}
    report: dict[str, Any] = {
        "title": "wafpipe compliance report",
        "wafpipe_version": version,
        "generated_at": iso(now),
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat(), "start": iso(period.start),
                   "end": iso(period.end)},  # fmt: skip
    }
    if state is not None:
        report["coverage"], report["delays"] = coverage(state, period, now)
        report["alerts"] = alerts(state, period)
    else:
        unavailable["coverage"] = "no collector state: nothing has been collected with this configuration yet"
        report["coverage"], report["delays"], report["alerts"] = None, [], []
    kept: dict[str, str | None] = {}
    report["security"] = None
    if reader is not None:
        try:
            report["security"] = security(reader, period)
            kept = oldest(reader)
        except WafpipeError as exc:
            unavailable["security"] = f"the store could not be read: {exc}"
    else:
        unavailable["security"] = (why or {}).get("security") or "no store could be read"
    history: list[dict[str, Any]] | None = None
    if prunes is not None:
        try:
            history = prunes()
        except WafpipeError as exc:
            unavailable["prunes"] = f"the store's prunes table could not be read: {exc}"
    elif reader is not None:
        unavailable["prunes"] = "a running collector holds the store: stop it to include the deletions recorded"
    report["retention"] = retention_section(config, period, kept, history)
    report["archive"] = archive_section(config, period)
    report["redaction"] = redaction_section(config)
    report["requirements"] = requirements()
    report["unavailable"] = unavailable
    report["missing"] = missing(report)
    report["complete"] = not report["missing"]
    return report


def missing(report: dict[str, Any]) -> list[str]:
    """What keeps the record from being complete, one line each (empty: complete)."""
    out: list[str] = []
    cov = report.get("coverage")
    if cov is None:
        out.append("coverage: no collector state to show what was received")
    else:
        if not cov["files"]:
            out.append("coverage: no file received in the period")
        for g in cov["gaps"]:
            out.append(f"gap ({g['kind']}) in {g['scope']} from {g['start'] or '?'} to {g['end'] or '?'}: {g['detail']}")
        for what in ("quarantined", "failed"):
            for f in cov[what]:
                out.append(f"file {what}: {f['name']} (seen {f['seen_at']}): {f['reason'] or 'no reason recorded'}")
        for f in cov["checksum_failures"]:
            out.append(f"checksum mismatch: {f['name']} (seen {f['seen_at']})")
    for sink in report["archive"]["sinks"]:
        out += [f"archive {sink['name']} broken: {problem}" for problem in sink["broken"]]
    if "security" in report["unavailable"]:
        out.append(f"security events: {report['unavailable']['security']}")
    return out
