"""Document helpers of the transformations: paths in a document, times, and the parts of the
core's mapping that a transformation rebuilds after changing a value."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from typing import Any

from tests.native.version1.events import Version1Event, Version1File
from tests.native.version1.records import NOW_MS, Doc


# ----------------------------------------------------------------------- document helpers
def get_at(doc: Doc, path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_at(doc: Doc, path: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def remove_at(doc: Doc, path: tuple[str, ...]) -> None:
    """Remove ``path``'s leaf and every parent it leaves empty (the core writes no empty object)."""
    nodes = [doc]
    for part in path[:-1]:
        nxt = nodes[-1].get(part)
        if not isinstance(nxt, dict):
            return
        nodes.append(nxt)
    nodes[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 0, -1):
        if nodes[depth]:
            break
        del nodes[depth - 1][path[depth - 1]]


def drop_value(f: Version1File, ev: Version1Event, key: str) -> None:
    for place in f.spec.places(key):
        remove_at(ev.doc, place)


def _iso_ms(ms: int) -> str:
    """Epoch milliseconds → ``2016-01-20T11:42:01.336Z`` (years 1–9999)."""
    d = datetime(1970, 1, 1) + timedelta(milliseconds=ms)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{ms % 1000:03d}Z"
    )


_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)
ASCII_INT = re.compile(r"-?[0-9]+", re.ASCII)
_PLAUSIBLE_MS = range(946_684_800_000, 4_102_444_800_000)  # 2000-01-01 ≤ t < 2100-01-01
LONG_RANGE = range(-(1 << 63), 1 << 63)


def epoch_ms(raw: str) -> int | str:
    """The core's ``to_date``: the time, or its Invalid message."""
    v = raw.strip()
    if not _ASCII_DIGITS.fullmatch(v):
        return f"{raw!r} is not epoch milliseconds"
    if int(v) not in _PLAUSIBLE_MS:
        return f"{raw!r} is not a plausible epoch-milliseconds time (expected between 2000 and 2100)"
    return int(v)


_W3C_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_W3C_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,3}))?", re.ASCII)


def _w3c_date(date: str) -> int | None:
    """Days since 1970 of a real ``YYYY-MM-DD`` (year 0001–9999), else None."""
    m = _W3C_DATE.fullmatch(date)
    if m is None:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if y == 0 or not 1 <= mo <= 12 or not 1 <= d <= calendar.monthrange(y, mo)[1]:
        return None
    return (datetime(y, mo, d) - datetime(1970, 1, 1)).days


def _w3c_time(time: str) -> int | None:
    """Milliseconds into the day of ``HH:MM:SS[.f{1,3}]``, else None."""
    m = _W3C_TIME.fullmatch(time)
    if m is None:
        return None
    h, mi, s = (int(g) for g in m.groups()[:3])
    if h > 23 or mi > 59 or s > 59:
        return None
    frac = m.group(4) or ""
    return ((h * 60 + mi) * 60 + s) * 1000 + (int(frac.ljust(3, "0")) if frac else 0)


def header_start_ms(f: Version1File) -> int | None:
    """The header's ``startTime`` when the core uses it: ASCII digits, a plausible time."""
    value = f.header.get("starttime", "")
    ms = epoch_ms(value) if _ASCII_DIGITS.fullmatch(value) else None
    return ms if isinstance(ms, int) else None


def core_timestamp(f: Version1File, ev: Version1Event) -> bool:
    """Set ``@timestamp`` and its source as the core does (``native/src/mapping/time.rs``):
    ``start``, else a valid W3C ``date`` + ``time`` (a bad one is rejected with its warning), else
    the header's plausible ``startTime``, else the ingest time. True when that changed the event."""
    before = (ev.doc.get("@timestamp"), ev.waf.get("timestamp_source"), dict(ev.waf.get("invalid", {})))
    before_warnings = list(ev.timestamp)
    invalid = ev.waf.setdefault("invalid", {})
    for key in ("date", "time"):
        invalid.pop(key, None)
    ev.timestamp = []
    ts: str | None = ev.waf.get("start")
    source = "start"
    if ts is None:
        date, time = ev.typed.get("date", ""), ev.typed.get("time", "")
        if date and time:
            day, ms = _w3c_date(date), _w3c_time(time)
            if day is not None and ms is not None:
                ts, source = _iso_ms(day * 86_400_000 + ms), "date_time"
            else:
                if day is None:
                    invalid["date"] = date
                    ev.timestamp.append(
                        f"date: {date!r} is not a calendar date (expected YYYY-MM-DD, year 0001 to 9999)"
                    )
                if ms is None:
                    invalid["time"] = time
                    ev.timestamp.append(
                        f"time: {time!r} is not a time of day (expected HH:MM:SS or HH:MM:SS.mmm, UTC)"
                    )
    if ts is None:
        header_ms = header_start_ms(f)
        if header_ms is not None:
            ts, source = _iso_ms(header_ms), "file_start_time"
        else:
            ts, source = _iso_ms(NOW_MS), "ingest_time"
    ev.doc["@timestamp"] = ts
    ev.waf["timestamp_source"] = source
    if not invalid:
        del ev.waf["invalid"]
    after = (ev.doc.get("@timestamp"), ev.waf.get("timestamp_source"), dict(ev.waf.get("invalid", {})))
    return after != before or ev.timestamp != before_warnings


def core_network(f: Version1File, ev: Version1Event) -> None:
    """``source.address``, ``source.geo.location``, ``destination.*`` and ``related.ip`` again from
    the (transformed) converted values, as version 1 and the core build them
    (``native/src/mapping/network.rs``): after a transformation removed or changed one of them."""
    doc = ev.doc
    spec = f.spec
    source_ip = get_at(doc, ("source", "ip"))
    if source_ip is not None:
        set_at(doc, ("source", "address"), source_ip)
    else:
        remove_at(doc, ("source", "address"))
    lat, lon = get_at(doc, spec.vendor("cs7")), get_at(doc, spec.vendor("cs8"))
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        set_at(doc, ("source", "geo", "location"), {"lat": lat, "lon": lon})
    else:
        remove_at(doc, ("source", "geo", "location"))
    sip = get_at(doc, spec.vendor("sip"))
    doc.pop("destination", None)
    destination = sip if sip is not None and sip not in ("0.0.0.0", "::") else None
    if destination is not None:
        doc["destination"] = {"ip": destination, "address": destination}
        port = get_at(doc, spec.vendor("spt"))
        if port:
            doc["destination"]["port"] = port
    related: list[str] = []
    for ip in [destination, source_ip, *(get_at(doc, spec.vendor("xff")) or [])]:
        if ip is not None and ip not in related:
            related.append(ip)
    if related:
        set_at(doc, ("related", "ip"), related)
    else:
        remove_at(doc, ("related", "ip"))


