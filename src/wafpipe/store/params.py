"""The read service's arguments, checked and converted before any SQL is built.

Everything here either returns a value that goes into a statement as a ``?`` parameter or raises a
:class:`~wafpipe.errors.QueryError` naming the argument and what it accepts. Times are compared
with the store's ``"@timestamp"`` column (``TIMESTAMPTZ``), so every time becomes an aware UTC
``datetime`` here; a time without a zone is read as UTC, as everywhere in wafpipe. ``since`` and
``until`` also take a duration before now (``15m``, ``24h``, ``7d``), read from the one clock
(:func:`wafpipe.clock.utcnow`, which ``WAFPIPE_NOW`` fixes in tests) where the read runs: in the
collector when the read goes through its API, which is the same machine.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from wafpipe.clock import utcnow
from wafpipe.errors import QueryError
from wafpipe.store.limits import MAX_BUCKETS, MAX_FIELDS
from wafpipe.store.query.fields import FieldRef, allowed_fields, resolve, suggest
from wafpipe.store.query.statements import iso as _iso

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RELATIVE = re.compile(r"^(?:now-)?(\d{1,6})([smhdw])$")
_INTERVAL = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The intervals an automatic histogram picks from: the smallest giving at most _AUTO_BUCKETS.
_NICE_S = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800)
_AUTO_BUCKETS = 120
_CURSOR = re.compile(r"^(-?\d{1,19})?:([A-Za-z0-9_\-]{1,128})$")
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def utc(name: str, value: datetime | str | None) -> datetime | None:
    """An ISO 8601 time, a duration before now (``15m``, ``24h``, ``7d``) or a datetime, as an aware
    UTC datetime; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        rel = _RELATIVE.match(text.lower())
        if text.lower() == "now":
            return utcnow()
        if rel is not None:
            try:
                return utcnow() - timedelta(seconds=int(rel.group(1)) * _UNIT_S[rel.group(2)])
            except OverflowError:
                raise QueryError(f"{name} reaches before the year 1: {text[:40]!r}") from None
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise QueryError(
                f"{name} must be an ISO 8601 time such as 2024-06-10T06:00:00Z, or a duration before "
                f"now such as 15m, 24h or 7d; got {text[:40]!r}"
            ) from None
    if not isinstance(value, datetime):
        raise QueryError(f"{name} must be a time, got {type(value).__name__}")
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def time_range(since: datetime | str | None, until: datetime | str | None) -> tuple[datetime | None, datetime | None]:
    lo, hi = utc("since", since), utc("until", until)
    if lo is not None and hi is not None and hi <= lo:
        raise QueryError("until must be later than since")
    return lo, hi


def iso(ts: datetime | None) -> str | None:
    """A time as the documents write times (:func:`wafpipe.store.query.statements.iso`); None
    stays None."""
    return None if ts is None else _iso(ts)


def interval_seconds(value: str | int | None) -> int | None:
    """``30s``, ``5m``, ``1h``, ``1d``, ``1w`` or a number of seconds; None means "choose"."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        text = str(value)
        m = _INTERVAL.match(text)
        if m is None and text.strip().isdigit() and len(text.strip()) <= 9:
            seconds = int(text)
        elif m is None:
            raise QueryError(f"interval must look like 30s, 5m, 1h, 1d or 1w, got {text[:20]!r}")
        else:
            seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
    if not 1 <= seconds <= 366 * 86400:
        raise QueryError(f"interval must be from 1 s to 366 days, got {seconds} s")
    return seconds


def choose_interval(lo: datetime, hi: datetime) -> int:
    """The smallest "nice" interval giving at most ~120 buckets; whole days past a week."""
    span = max(1.0, (hi - lo).total_seconds())
    nice = next((s for s in _NICE_S if span / s <= _AUTO_BUCKETS), None)
    return nice if nice is not None else math.ceil(span / _AUTO_BUCKETS / 86400) * 86400


def bucket_start(ts: datetime, seconds: int) -> datetime:
    """The start of the bucket holding ``ts``: buckets are aligned on the Unix epoch."""
    micros = (ts - EPOCH) // timedelta(microseconds=1)
    step = seconds * 1_000_000
    return EPOCH + timedelta(microseconds=micros - micros % step)


def check_buckets(lo: datetime, hi: datetime, seconds: int) -> int:
    n = math.ceil((hi - bucket_start(lo, seconds)).total_seconds() / seconds)
    if n > MAX_BUCKETS:
        raise QueryError(
            f"interval {seconds} s over this range makes {n} buckets; at most {MAX_BUCKETS} are allowed",
            hint="choose a longer interval or a shorter range (since/until)",
        )
    return n


def encode_cursor(ts: datetime | None, event_id: str) -> str:
    """The ``next`` of a search page: where the next page starts (keyset paging: it costs the same
    at any depth, unlike an offset). An event without a time has an empty time part."""
    micros = "" if ts is None else str((ts - EPOCH) // timedelta(microseconds=1))
    return f"{micros}:{event_id}"


def decode_cursor(value: str | None) -> tuple[datetime | None, str] | None:
    if value is None or value == "":
        return None
    m = _CURSOR.match(value) if isinstance(value, str) else None
    if m is None:
        raise QueryError("after must be the `next` value of a previous search page")
    if m.group(1) is None:
        return None, m.group(2)
    try:
        ts = EPOCH + timedelta(microseconds=int(m.group(1)))
    except OverflowError:
        raise QueryError("after must be the `next` value of a previous search page") from None
    return ts, m.group(2)


def event_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise QueryError("an event id is 1 to 128 characters of A-Z, a-z, 0-9, '-' and '_'")
    return value


def projection(fields: list[str] | str | None) -> list[tuple[str, FieldRef]] | None:
    """``fields`` → [(name as asked, its field)], every name on the allow-list with a column of its
    own (a key below a JSON field is a filter, not a column: choose the JSON field itself)."""
    if fields is None or fields == "" or fields == []:
        return None
    names = [f.strip() for f in fields.split(",")] if isinstance(fields, str) else [str(f).strip() for f in fields]
    names = [n for n in dict.fromkeys(names) if n]
    if len(names) > MAX_FIELDS:
        raise QueryError(f"at most {MAX_FIELDS} fields may be chosen, got {len(names)}")
    out = []
    for name in names:
        ref = allowed_fields().get(name)
        if ref is None or ref.column is None:
            close = suggest(name)
            did = f"; did you mean {', '.join(close)}?" if close else ""
            raise QueryError(f"unknown field {name[:80]!r} in fields{did}")
        out.append((name, ref))
    return out


def value_field(name: Any, what: str) -> FieldRef:
    """The field ``top`` counts (or groups ``by``): allowed, and a value rather than an object."""
    ref = resolve(name) if isinstance(name, str) and len(name) <= 200 else None
    if ref is None:
        close = suggest(name) if isinstance(name, str) else []
        did = f"; did you mean {', '.join(close)}?" if close else ""
        raise QueryError(f"unknown field {str(name)[:80]!r} for {what}{did}")
    if ref.json or ref.type == "geo_point":
        raise QueryError(f"{ref.name} is an object; {what} counts the values of a field inside it")
    return ref
