"""The read service: the eight read operations of DESIGN §4, over the embedded store and the state.

``search``, ``count``, ``top``, ``histogram``, ``event``, ``files``, ``dead_letters`` and ``health``
are the whole read side: ``wafpipe query``, the ``/api/*`` routes (one route per method, see
:mod:`wafpipe.collector.api`), and later the UI and detections call these and nothing else, and
:class:`wafpipe.store.client.ApiClient` offers the same methods over HTTP, so a caller does not
care whether a collector runs (:class:`Reader`).

Where the data comes from. Events: a :data:`~wafpipe.store.connection.ConnectionFactory` — cursors
of the collector's own connection inside the collector, a read-only open of the file otherwise
(DESIGN §2 "one writer"). Files, dead letters and health: the collector's state, through the
:class:`~wafpipe.model.StateView` protocol (this package must not import the collector).

Safety. Every argument is checked by :mod:`.limits` and :mod:`.params` before SQL is built; the
expression compiles to a parameterised ``WHERE`` over the allow-list (:mod:`.query`); field names
chosen by a caller only select an expression or JSON path from the allow-list, and paths go in as
parameters. Every query runs under :class:`~wafpipe.store.runner.QueryRunner`'s bounds. Results
are JSON-ready dicts, the same shape here and over HTTP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from wafpipe.errors import QueryError, WafpipeError
from wafpipe.model import StateView
from wafpipe.store.connection import ConnectionFactory
from wafpipe.store.correlate import correlate
from wafpipe.store.documents import rebuild
from wafpipe.store.limits import (
    DEFAULT_CONCURRENCY,
    DEFAULT_OPERATOR_MEMORY,
    DEFAULT_TIMEOUT_S,
    MAX_DEAD_LETTERS,
    MAX_LIST,
    MAX_OFFSET,
    MAX_PAGE_BYTES,
    MAX_SEARCH,
    MAX_TOP,
    bounded_int,
    bounded_query,
)
from wafpipe.store.params import (
    EPOCH,
    bucket_start,
    check_buckets,
    choose_interval,
    decode_cursor,
    encode_cursor,
    event_id,
    interval_seconds,
    iso,
    projection,
    time_range,
    value_field,
)
from wafpipe.store.query import compile_node, compile_query, statements
from wafpipe.store.query.statements import ID, TS, plain
from wafpipe.store.query.tree import Node
from wafpipe.store.rollup import Plan, plan
from wafpipe.store.rollup.table import is_current
from wafpipe.store.runner import QueryRunner

Json = dict[str, Any]
# What the methods of ReadService take as a query: text (``wafpipe query``, the API, the UI), or a
# query tree made in this process (a Sigma rule's detection, :mod:`wafpipe.detect`).
Query = str | Node


class Reader(Protocol):
    """The read side as its callers see it: :class:`ReadService` locally, ``ApiClient`` over HTTP."""

    def search(
        self,
        q: str = "",
        limit: int = 100,
        offset: int = 0,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        fields: list[str] | None = None,
        newest_first: bool = True,
        after: str | None = None,
    ) -> Json: ...

    def count(self, q: str = "", since: datetime | str | None = None, until: datetime | str | None = None) -> Json: ...

    def top(
        self,
        field: str,
        q: str = "",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 10,
        by: str | None = None,
    ) -> Json: ...

    def histogram(
        self,
        q: str = "",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        interval: str | int | None = None,
        by: str | None = None,
    ) -> Json: ...

    def correlate(self, q: Query, group_by: list[str], timespan_s: int, threshold: int, **kw: Any) -> Json: ...

    def event(self, id: str) -> Json | None: ...

    def files(
        self, status: str | None = None, source: str | None = None, limit: int = 100, checksum: str | None = None
    ) -> Json: ...

    def dead_letters(self, kind: str | None = None, limit: int = 100, include_replayed: bool = False) -> Json: ...

    def alerts(self, limit: int = 100, include_acknowledged: bool = False) -> Json: ...

    def health(self) -> Json: ...

    def close(self) -> None: ...


class ReadService:
    """The read operations over one store (and optionally the collector's state).

    ``connect`` returns a fresh DuckDB connection per query (None: no embedded store configured);
    ``state`` answers ``files``/``dead_letters`` and part of ``health``; ``live`` is the running
    collector's own status (files in flight, last error), merged into ``health``."""

    def __init__(
        self,
        connect: ConnectionFactory | None,
        *,
        state: StateView | None = None,
        live: Callable[[], Mapping[str, Any]] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        operator_memory: str | None = DEFAULT_OPERATOR_MEMORY,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._runner = (
            QueryRunner(connect, timeout_s=timeout_s, operator_memory=operator_memory, concurrency=concurrency)
            if connect is not None
            else None
        )
        self._state = state
        self._live = live
        self._rollup_current = False

    # -- events ------------------------------------------------------------------------------------
    def search(
        self,
        q: Query = "",
        limit: int = 100,
        offset: int = 0,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        fields: list[str] | None = None,
        newest_first: bool = True,
        after: str | None = None,
    ) -> Json:
        """Matching events, newest first by default (``@timestamp`` then id: stable pages).

        ``{"events": [...], "next": str | None}``: each event is ``{"_id", **document}`` (rebuilt
        from the columns by :func:`wafpipe.store.documents.rebuild`), or only ``_id`` and the chosen
        ``fields`` (flat, by the names asked). ``next`` is set when more may match; pass it back as
        ``after`` (with no offset) for the next page."""
        limit = bounded_int("limit", limit, 1, MAX_SEARCH)
        offset = bounded_int("offset", offset, 0, MAX_OFFSET)
        chosen = projection(fields)
        start = decode_cursor(after)
        where, params = self._where(q, since, until)
        if start is not None:
            after_sql, after_params = statements.after(start[0], start[1], newest_first=newest_first)
            where, params = f"({where}) AND {after_sql}", [*params, *after_params]
        sql = statements.search(where, chosen, newest_first=newest_first)
        rows, cut = self._run().arrow(sql, [*params, limit + 1, offset], max_bytes=MAX_PAGE_BYTES)
        more = cut or rows.num_rows > limit
        rows = rows.slice(0, limit)
        if chosen is None:
            events = [{"_id": i, **doc} for i, doc in rebuild(rows.drop_columns([statements.TS_ALIAS]))]
        else:
            events = statements.projected(rows, chosen)
        nxt = None
        if more and rows.num_rows:
            last = rows.num_rows - 1
            nxt = encode_cursor(rows.column(statements.TS_ALIAS)[last].as_py(), rows.column("_id")[last].as_py())
        return {"events": events, "next": nxt}

    def count(self, q: Query = "", since: datetime | str | None = None, until: datetime | str | None = None) -> Json:
        where, params = self._where(q, since, until)
        rolled = self._plan(q, since, until)
        sql, params = rolled.count() if rolled else (f"SELECT count(*) FROM events WHERE {where}", params)  # noqa: S608
        n = self._run().scalar(sql, params)
        return {"count": int(n or 0)}

    def top(
        self,
        field: str,
        q: Query = "",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 10,
        by: str | None = None,
    ) -> Json:
        """The most frequent values of one allow-listed field among matching events:
        ``{"field", "values": [{"value", "count"}]}``; for a list field each element counts.
        With ``by``, the most frequent pairs: ``{"field", "by", "values": [{"value", "by",
        "count"}]}`` (which source addresses per attack type, say)."""
        limit = bounded_int("limit", limit, 1, MAX_TOP)
        ref = value_field(field, "top")
        by_ref = value_field(by, "by") if by else None
        where, params = self._where(q, since, until)
        rolled = self._plan(q, since, until)
        statement = rolled.top(ref, by_ref, limit) if rolled else None
        sql, sql_params = statement or statements.top(ref, by_ref, where, params, limit)
        rows, _ = self._run().fetch(sql, sql_params)
        if by_ref is None:
            return {"field": field, "values": [{"value": plain(ref, v), "count": int(n)} for v, n in rows]}
        return {
            "field": field,
            "by": by,
            "values": [{"value": plain(ref, v), "by": plain(by_ref, b), "count": int(n)} for v, b, n in rows],
        }

    def histogram(
        self,
        q: Query = "",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        interval: str | int | None = None,
        by: str | None = None,
    ) -> Json:
        """Matching events per ``@timestamp`` bucket, empty buckets included:
        ``{"interval_seconds", "buckets": [{"time", "count"}]}``. Without an interval one is
        chosen for about a hundred buckets; without since/until the matching events' span is used.
        Buckets are aligned on the Unix epoch, in UTC. With ``by`` (a single-valued field) each
        bucket also counts per value, ``"by": {value: count}``, in the same one pass over the rows
        (a stacked chart in one query instead of one per value)."""
        by_ref = value_field(by, "by") if by else None
        if by_ref is not None and by_ref.is_list:
            raise QueryError(f"{by_ref.name} holds lists; histogram by needs a field with one value per event")
        seconds = interval_seconds(interval)
        lo, hi = time_range(since, until)
        where, params = self._where(q, since, until)
        if lo is None or hi is None:
            rows, _ = self._run().fetch(f"SELECT min({TS}), max({TS}) FROM events WHERE {where}", params)  # noqa: S608
            first, last = rows[0] if rows else (None, None)
            if first is None:
                return {"interval_seconds": seconds, "buckets": []}
            lo = lo or first.astimezone(UTC)
            hi = hi or last.astimezone(UTC) + timedelta(microseconds=1)
        seconds = seconds or choose_interval(lo, hi)
        check_buckets(lo, hi, seconds)
        value = statements.group_operand(by_ref) if by_ref is not None else "NULL"
        step_us = seconds * 1_000_000
        by_params = list(by_ref.params) if by_ref is not None else []
        rolled = self._plan(q, lo, hi)
        statement = rolled.histogram(seconds, by_ref) if rolled else None
        sql, sql_params = statement or (statements.histogram(value, where), [step_us, step_us, *by_params, *params])
        rows, _ = self._run().fetch(sql, sql_params)
        counts: dict[datetime, int] = {}
        split: dict[datetime, dict[str, int]] = {}
        for b, v, n in rows:
            t = EPOCH + timedelta(seconds=int(b) * seconds)
            counts[t] = counts.get(t, 0) + int(n)
            if by_ref is not None and v is not None:
                split.setdefault(t, {})[str(plain(by_ref, v))] = int(n)
        buckets, t, step = [], bucket_start(lo, seconds), timedelta(seconds=seconds)
        while t < hi:
            bucket: dict[str, Any] = {"time": iso(t), "count": counts.get(t, 0)}
            if by_ref is not None:
                bucket["by"] = split.get(t, {})
            buckets.append(bucket)
            t += step
        return {"interval_seconds": seconds, "buckets": buckets, **({"by": by} if by else {})}

    def correlate(self, q: Query, group_by: list[str], timespan_s: int, threshold: int, **kw: Any) -> Json:
        """Groups (``group_by``) of matching events that form a pattern over time — Sigma's
        correlations and more: :func:`wafpipe.store.correlate.correlate` says which and how."""
        return correlate(self._run(), self._where, q, group_by, timespan_s, threshold, **kw)

    def event(self, id: str) -> Json | None:  # noqa: A002 - the DESIGN's name
        """One event by its id (the rebuilt document), or None."""
        rows, _ = self._run().arrow(f"SELECT * FROM events WHERE {ID} = ? LIMIT 1", [event_id(id)])  # noqa: S608
        return next(({"_id": i, **doc} for i, doc in rebuild(rows)), None)

    # -- collector state ---------------------------------------------------------------------------
    def files(
        self, status: str | None = None, source: str | None = None, limit: int = 100, checksum: str | None = None
    ) -> Json:
        """Files the collector has seen, in the order it first saw them: ``{"files": [...]}``;
        ``checksum`` keeps those whose MD5 check came out so (``mismatch``…)."""
        limit = bounded_int("limit", limit, 1, MAX_LIST)
        records = self._need_state().list_files(status=status or None, source=source or None, limit=limit,
                                                checksum=checksum or None)
        return {"files": [_plain(r) for r in records]}

    def dead_letters(self, kind: str | None = None, limit: int = 100, include_replayed: bool = False) -> Json:
        """Dead letters in the order they were recorded: ``{"dead_letters": [...]}``; those already
        replayed only with ``include_replayed``."""
        limit = bounded_int("limit", limit, 1, MAX_DEAD_LETTERS)
        records = self._need_state().list_dead_letters(
            limit=limit, kind=kind or None, include_replayed=bool(include_replayed)
        )
        return {"dead_letters": [_plain(r) for r in records]}

    def alerts(self, limit: int = 100, include_acknowledged: bool = False) -> Json:
        """What the detections found, most recently updated first: ``{"alerts": [...]}``."""
        limit = bounded_int("limit", limit, 1, MAX_LIST)
        records = self._need_state().list_alerts(limit, include_acknowledged=bool(include_acknowledged))
        return {"alerts": [_plain(r) for r in records]}

    def health(self) -> Json:
        """``status`` ``ok`` or ``degraded`` with every outstanding ``problems`` line, each once:
        errors newer than the last success, failed or quarantined files, dead letters not replayed,
        gaps. A running collector's own list (``live``) is the authority when there is one; the
        state's view otherwise (:mod:`wafpipe.store.health` says why)."""
        from wafpipe.store.health import build_health

        return build_health(self._runner, self._state, self._live)

    def close(self) -> None:
        """Stop running reads and refuse new ones (the collector calls this before closing the store)."""
        if self._runner is not None:
            self._runner.close()

    # -- helpers -----------------------------------------------------------------------------------
    def _run(self) -> QueryRunner:
        if self._runner is None:
            raise WafpipeError("no embedded store is configured", hint='add a [[sinks]] table with type = "duckdb"')
        return self._runner

    def _plan(self, q: Query, since: datetime | str | None, until: datetime | str | None) -> Plan | None:
        """How to read a count, top list or histogram from the rollup, when the store has a current
        one and it can answer (:mod:`wafpipe.store.rollup`); None: count the events."""
        if not self._rollup_current:
            # once current, always (it is rebuilt only when a collector opens the store)
            self._rollup_current = is_current(lambda sql, params: self._run().fetch(sql, params)[0])
            if not self._rollup_current:
                return None
        lo, hi = time_range(since, until)
        return plan(q or "", lo, hi) if isinstance(q, str) else None

    def _need_state(self) -> StateView:
        if self._state is None:
            raise WafpipeError("the collector's state is not available here")
        return self._state

    @staticmethod
    def _where(q: Query | None, since: datetime | str | None, until: datetime | str | None) -> tuple[str, list[Any]]:
        where, params = compile_query(bounded_query(q)) if q is None or isinstance(q, str) else compile_node(q)
        lo, hi = time_range(since, until)
        if lo is not None:
            where, params = f"({where}) AND {TS} >= ?", [*params, lo]
        if hi is not None:
            where, params = f"({where}) AND {TS} < ?", [*params, hi]
        return where, list(params)


def _plain(record: Any) -> Json:
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    return dict(record)
