"""The read service's arguments, checked and converted before any SQL is built.

Everything here either returns a value that goes into a statement as a ``?`` parameter or raises a
:class:`~wafpipe.errors.QueryError` naming the argument and what it accepts. Times are compared
with the store's ``ts`` column, which holds UTC without a zone, so every time becomes a naive UTC
``datetime`` here; a time without a zone is read as UTC, as everywhere in wafpipe.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from wafpipe.errors import QueryError
from wafpipe.store.limits import MAX_BUCKETS, MAX_FIELDS
from wafpipe.store.query.fields import document_path, suggest

EPOCH = datetime(1970, 1, 1)
_INTERVAL = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The intervals an automatic histogram picks from: the smallest giving at most _AUTO_BUCKETS.
_NICE_S = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800)
_AUTO_BUCKETS = 120
_CURSOR = re.compile(r"^(-?\d{1,19}):([A-Za-z0-9_\-]{1,128})$")
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def utc(name: str, value: datetime | str | None) -> datetime | None:
    """An ISO 8601 time (or datetime) as naive UTC; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise QueryError(
                f"{name} must be an ISO 8601 time such as 2024-06-10T06:00:00Z, got {text[:40]!r}"
            ) from None
    if not isinstance(value, datetime):
        raise QueryError(f"{name} must be a time, got {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def time_range(since: datetime | str | None, until: datetime | str | None) -> tuple[datetime | None, datetime | None]:
    lo, hi = utc("since", since), utc("until", until)
    if lo is not None and hi is not None and hi <= lo:
        raise QueryError("until must be later than since")
    return lo, hi


def iso(ts: datetime | None) -> str | None:
    """A ``ts`` value as the documents write times: ISO 8601 UTC with milliseconds and ``Z``."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="milliseconds") + "Z"


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


def encode_cursor(ts: datetime, event_id: str) -> str:
    """The ``next`` of a search page: where the next page starts (keyset paging: it costs the same
    at any depth, unlike an offset)."""
    return f"{(ts - EPOCH) // timedelta(microseconds=1)}:{event_id}"


def decode_cursor(value: str | None) -> tuple[datetime, str] | None:
    if value is None or value == "":
        return None
    m = _CURSOR.match(value) if isinstance(value, str) else None
    if m is None:
        raise QueryError("after must be the `next` value of a previous search page")
    try:
        ts = EPOCH + timedelta(microseconds=int(m.group(1)))
    except OverflowError:
        raise QueryError("after must be the `next` value of a previous search page") from None
    return ts, m.group(2)


def event_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise QueryError("an event id is 1 to 128 characters of A-Z, a-z, 0-9, '-' and '_'")
    return value


def projection(fields: list[str] | str | None) -> list[tuple[str, str]] | None:
    """``fields`` → [(name as asked, JSON path or ``$id``)], every name on the allow-list."""
    if fields is None or fields == "" or fields == []:
        return None
    names = [f.strip() for f in fields.split(",")] if isinstance(fields, str) else [str(f).strip() for f in fields]
    names = [n for n in dict.fromkeys(names) if n]
    if len(names) > MAX_FIELDS:
        raise QueryError(f"at most {MAX_FIELDS} fields may be chosen, got {len(names)}")
    out = []
    for name in names:
        path = document_path(name)
        if path is None:
            close = suggest(name)
            did = f"; did you mean {', '.join(close)}?" if close else ""
            raise QueryError(f"unknown field {name[:80]!r} in fields{did}")
        out.append((name, path))
    return out
