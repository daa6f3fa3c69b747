"""Running one read with bounds on time, memory, concurrency and result size.

Why each bound, and how (issue 18: reads ran the collector out of memory and stopped it):

* **Time.** A watchdog thread interrupts the query's own connection
  (``DuckDBPyConnection.interrupt``) once the deadline has passed. DuckDB has no statement
  timeout; an interrupt stops only that connection's query, never the writer's. The caller gets
  :class:`ReadLimitError` ``timeout``. (One watchdog per running read: at most ``concurrency``.)
* **Memory.** Each read runs on a fresh connection with ``operator_memory_limit`` (a
  per-connection DuckDB setting): its sorts and hash tables spill to disk past it instead of
  taking the memory the writer needs. What cannot spill fails with :class:`ReadLimitError`
  ``memory``; the writer's connection is untouched. (``memory_limit`` is per instance, so it is
  set only on the read-only instance of :class:`~wafpipe.store.connection.ReadOnlyStore`.)
* **Concurrency.** At most ``concurrency`` reads run at once; another waits for a free slot up to
  the query timeout, then gets ``busy`` — so no burst of requests multiplies the two bounds above.
* **Result size.** Rows are fetched in small chunks (tuples, or Arrow record batches for the
  event columns a document is rebuilt from) and a caller may stop at a byte budget, so Python
  never holds more than one page of documents.

Each read connection also gets ``TimeZone = 'UTC'`` (a per-connection setting): the store's times
are ``TIMESTAMPTZ``, and what DuckDB hands back, and how it renders a time, must not depend on the
machine's zone.

Every DuckDB error becomes a :class:`~wafpipe.errors.WafpipeError` subclass with a one-line
message: a read never raises a bare engine exception into a web server or a terminal.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from wafpipe.errors import QueryError, WafpipeError
from wafpipe.store.connection import ConnectionFactory
from wafpipe.store.limits import DEFAULT_CONCURRENCY, DEFAULT_OPERATOR_MEMORY, DEFAULT_TIMEOUT_S

log = logging.getLogger("wafpipe.store")

_T = TypeVar("_T")
_CHUNK = 64  # rows per fetch: small, because one document may be a megabyte
_TICK_S = 0.05  # how often a running read's deadline is checked


class ReadLimitError(QueryError):
    """A read stopped at a bound (``timeout``, ``memory``, ``busy``); nothing else is affected."""

    def __init__(self, message: str, *, kind: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind


class StoreReadError(WafpipeError):
    """The store could not answer for a reason that is not the query's (closed, I/O)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class QueryRunner:
    """Runs parameterised SQL built by the read service; see the module docstring."""

    def __init__(
        self,
        connect: ConnectionFactory,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        operator_memory: str | None = DEFAULT_OPERATOR_MEMORY,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._connect = connect
        self.timeout_s = timeout_s
        self.operator_memory = operator_memory
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._lock = threading.Lock()
        self._active: set[duckdb.DuckDBPyConnection] = set()
        self._closed = False

    def fetch(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        size: Callable[[tuple[Any, ...]], int] | None = None,
        max_bytes: int | None = None,
    ) -> tuple[list[tuple[Any, ...]], bool]:
        """(rows, cut): every row, or — with ``size`` and ``max_bytes`` — the rows up to the first
        one that passes the byte budget (``cut`` is then True; at least one row is returned)."""
        with self._slot():
            return self._run(sql, params, size, max_bytes)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows, _ = self.fetch(sql, params)
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: Sequence[Any] = (), *, max_bytes: int | None = None) -> tuple[pa.Table, bool]:
        """(rows as an Arrow table, cut): every row, or the record batches up to the first one that
        passes ``max_bytes`` (``cut`` is then True; at least one batch is returned). Event rows
        go to :func:`wafpipe.store.documents.rebuild` as Arrow, with no Python object per value
        on the way."""
        with self._slot():
            return self._guarded(lambda cur: _arrow_rows(cur, sql, params, max_bytes))

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.timeout_s):
            raise ReadLimitError(
                f"the store is busy: no read finished within {self.timeout_s:g} s",
                kind="busy",
                hint="retry in a moment",
            )
        try:
            yield
        finally:
            self._slots.release()

    def _run(
        self,
        sql: str,
        params: Sequence[Any],
        size: Callable[[tuple[Any, ...]], int] | None,
        max_bytes: int | None,
    ) -> tuple[list[tuple[Any, ...]], bool]:
        def rows(cur: duckdb.DuckDBPyConnection) -> tuple[list[tuple[Any, ...]], bool]:
            res = cur.execute(sql, list(params))
            out: list[tuple[Any, ...]] = []
            used = 0
            while True:
                chunk = res.fetchmany(_CHUNK)
                if not chunk:
                    return out, False
                for row in chunk:
                    out.append(row)
                    if size is not None and max_bytes is not None:
                        used += size(row)
                        if used >= max_bytes:
                            return out, True

        return self._guarded(rows)

    def _guarded(self, read: Callable[[duckdb.DuckDBPyConnection], _T]) -> _T:
        """``read`` on a fresh connection under the deadline; engine errors become ours."""
        cur = self._open_cursor()
        done = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(cur, done), name="wafpipe-read-deadline", daemon=True)
        watchdog.start()
        try:
            return read(cur)
        except duckdb.InterruptException:
            raise self._stopped() from None
        except duckdb.OutOfMemoryException as exc:
            raise _memory_error(_first_line(exc)) from None
        except duckdb.Error as exc:
            log.warning("store read failed: %s", _first_line(exc))
            raise StoreReadError(f"the store could not answer: {_first_line(exc)}") from None
        except pa.ArrowException as exc:  # an engine error met while streaming record batches
            text = _first_line(exc)
            if "interrupt" in text.lower():
                raise self._stopped() from None
            if "out of memory" in text.lower():
                raise _memory_error(text) from None
            log.warning("store read failed: %s", text)
            raise StoreReadError(f"the store could not answer: {text}") from None
        finally:
            done.set()
            watchdog.join()
            self._release(cur)

    def _stopped(self) -> WafpipeError:
        """The error of an interrupted read: the runner is closing, or the read hit its deadline."""
        if self._closed:
            return StoreReadError("the store is closing; the query was stopped")
        return ReadLimitError(
            f"the query took longer than {self.timeout_s:g} s and was stopped",
            kind="timeout",
            hint="narrow it: a time range (--since/--until) or a typed field such as status or source.ip",
        )

    def _watch(self, cur: duckdb.DuckDBPyConnection, done: threading.Event) -> None:
        """Interrupt the query once it passes its deadline or the runner closes — and again every
        tick until it ends: an interrupt that lands before DuckDB has started the statement is
        forgotten by it, so one attempt is not enough."""
        deadline = time.monotonic() + self.timeout_s
        while not done.wait(_TICK_S):
            if self._closed or time.monotonic() >= deadline:
                _interrupt(cur)

    def _open_cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._closed:
                raise StoreReadError("the store is closing")
        try:
            cur = self._connect()
        except WafpipeError:
            raise
        except duckdb.Error as exc:
            raise StoreReadError(f"the store cannot be read: {_first_line(exc)}") from None
        try:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute("SET enable_progress_bar = false")
            if self.operator_memory:
                cur.execute("SET operator_memory_limit = ?", [self.operator_memory])
        except duckdb.Error as exc:  # an engine without the setting still gets the time bound
            log.debug("read connection setting refused: %s", _first_line(exc))
        with self._lock:
            self._active.add(cur)
        return cur

    def _release(self, cur: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._active.discard(cur)
        with contextlib.suppress(duckdb.Error):
            cur.close()

    def close(self) -> None:
        """Refuse new reads and interrupt the running ones (shutdown must not wait for a scan)."""
        with self._lock:
            self._closed = True
            active = list(self._active)
        for cur in active:
            _interrupt(cur)


def _memory_error(text: str) -> ReadLimitError:
    return ReadLimitError(
        f"the query needs more memory than a read may use: {text}",
        kind="memory",
        hint="narrow it, or ask for fewer or smaller results",
    )


def _arrow_rows(
    cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any], max_bytes: int | None
) -> tuple[pa.Table, bool]:
    reader = cur.sql(sql, params=list(params)).to_arrow_reader(_CHUNK)
    batches: list[pa.RecordBatch] = []
    used = 0
    for batch in reader:
        batches.append(batch)
        used += batch.nbytes
        if max_bytes is not None and used >= max_bytes:
            return pa.Table.from_batches(batches, schema=reader.schema), True
    return pa.Table.from_batches(batches, schema=reader.schema), False


def _interrupt(cur: duckdb.DuckDBPyConnection) -> None:
    """Runs on the watchdog thread: the connection may be closed by now, which is fine."""
    with contextlib.suppress(Exception):
        cur.interrupt()
