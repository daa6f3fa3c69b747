"""The bounds of every read (issue 18: a read must never stop ingest or the process).

A probe ran ``limit=100000000`` twice during an ingest: DuckDB ran out of memory and the collector
exited; ``limit=-1`` and ``2**64`` reached DuckDB as a ``BinderException``. So every number a caller
gives is checked here, before any SQL, against a range that keeps one answer small, and refused
with a message that names the allowed range (a :class:`~wafpipe.errors.QueryError`: HTTP 400,
CLI exit 2). What a number cannot bound — how long a query runs, how much memory its sorts and
hash tables take — is bounded by :mod:`wafpipe.store.runner`.

Why these numbers: a search page of 10 000 events is ~20 MB of JSON on generated data, already more
than a person reads; deeper pages use the ``after`` cursor, which costs the same at any depth,
while ``OFFSET`` makes DuckDB keep ``offset + limit`` rows, hence its own small bound.
"""

from __future__ import annotations

from typing import Any

from wafpipe.errors import QueryError

MAX_SEARCH = 10_000  # events per search page
MAX_OFFSET = 100_000  # beyond this, page with ``after``
MAX_TOP = 1_000  # values per ``top``
MAX_LIST = 10_000  # files per ``files`` page
MAX_DEAD_LETTERS = 1_000  # records per ``dead_letters`` page (each may hold a 1 MiB line)
MAX_BUCKETS = 2_000  # histogram buckets
MAX_FIELDS = 64  # names in ``fields``
MAX_QUERY_CHARS = 16_384  # the expression (a 300-value OR is ~9 000); the parser bounds its depth
MAX_PAGE_BYTES = 32 << 20  # documents per search page: a page ends early (with ``next``) past this

DEFAULT_TIMEOUT_S = 30.0  # per query, then DuckDB is interrupted
DEFAULT_OPERATOR_MEMORY = "128MB"  # sorts and hash tables of one read (DuckDB spills past it)
DEFAULT_MEMORY_LIMIT = "256MB"  # the whole read-only instance of ``wafpipe query`` without a collector
DEFAULT_CONCURRENCY = 2  # reads at once; more wait (then "busy"), so reads cannot crowd out ingest


def bounded_int(name: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int in ``[lo, hi]``, else a QueryError saying the allowed range.

    Accepts ints and decimal strings (query parameters); refuses bools, floats and anything huge
    before it can reach SQL (``2**64`` does not fit DuckDB's BIGINT)."""
    if isinstance(value, bool):
        raise QueryError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdigit() or len(text) > 30:
            raise QueryError(f"{name} must be a whole number from {lo} to {hi}, got {value[:40]!r}")
        value = int(text)
    if not isinstance(value, int):
        raise QueryError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    if not lo <= value <= hi:
        shown = value if abs(value) < 10**30 else f"{str(value)[:12]}…"
        raise QueryError(f"{name} must be from {lo} to {hi}, got {shown}")
    return value


def bounded_query(q: str | None) -> str:
    """The query text, or a QueryError when it is longer than :data:`MAX_QUERY_CHARS`."""
    q = q or ""
    if not isinstance(q, str):
        raise QueryError("q must be text")
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(q)} characters long; at most {MAX_QUERY_CHARS} are allowed")
    return q
