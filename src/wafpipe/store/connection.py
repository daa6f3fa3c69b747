"""Connections to the embedded store for reading (DESIGN §2 "one writer").

DuckDB lets one process open a file read-write, and the collector is that process. So the read
side never opens the store on its own while a collector runs: it reads through a
:data:`ConnectionFactory`, a function that returns a fresh DuckDB connection for one query.

* In the collector the factory returns cursors of the writer's connection (``DuckDBSink.cursor``):
  a cursor is a connection of its own to the same database, so a read sees every committed batch,
  can be interrupted alone, and gets its own per-connection memory cap for sorts and hash tables
  (see :mod:`wafpipe.store.runner`).
* Without a collector, :class:`ReadOnlyStore` opens the file ``read_only=True`` in a DuckDB instance
  of its own, with a memory limit for the whole instance; it cannot change the store. A store of
  another schema version (version 1 kept a JSON ``doc`` column) is refused at open with the
  command that migrates it, rather than failing query by query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import duckdb

from wafpipe.errors import WafpipeError
from wafpipe.store.limits import DEFAULT_MEMORY_LIMIT
from wafpipe.store.schema import SCHEMA_VERSION, OldStoreError, stored_version

ConnectionFactory = Callable[[], duckdb.DuckDBPyConnection]

# Spilled sorts of a read-only query go next to the store (DuckDB's default ``<file>.tmp``);
# bounded so that one query cannot fill the disk the collector writes to.
_MAX_SPILL = "1GB"


class ReadOnlyStore:
    """The store file opened ``read_only=True``: ``wafpipe query`` and friends when no collector runs.

    Use as a context manager, and pass :meth:`cursor` as the read service's connection factory."""

    def __init__(self, path: Path | str, *, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None):
        self.path = Path(path)
        self.memory_limit = memory_limit
        self.threads = threads
        self._con: duckdb.DuckDBPyConnection | None = None

    def open(self) -> ReadOnlyStore:
        if self._con is not None:
            return self
        if not self.path.is_file():
            raise WafpipeError(f"no store at {self.path} yet", hint="run `wafpipe run` first, or check [[sinks]] path")
        config: dict[str, str | int] = {"memory_limit": self.memory_limit, "max_temp_directory_size": _MAX_SPILL}
        if self.threads:
            config["threads"] = int(self.threads)
        try:
            con = duckdb.connect(str(self.path), read_only=True, config=config)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            held = "lock" in first.lower()
            raise WafpipeError(
                f"cannot open {self.path} read-only: {first}",
                hint="a collector holds the store; is its API file (api.json) missing?"
                if held
                else "check that the path is a wafpipe DuckDB store and readable",
            ) from None
        try:  # on a cursor of its own: a result left open on ``con`` would block what comes next
            with con.cursor() as cur:
                version = stored_version(cur)
        except duckdb.Error:
            version = None
        if version != SCHEMA_VERSION:
            con.close()
            if version is None:
                raise WafpipeError(f"{self.path} holds no wafpipe events table", hint="is it a wafpipe store?")
            raise OldStoreError(str(self.path), version)
        self._con = con
        return self

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the open store, for one query."""
        if self._con is None:
            raise WafpipeError(f"the store {self.path} is closed")
        return self._con.cursor()

    def close(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            with contextlib.suppress(duckdb.Error):
                con.close()

    def __enter__(self) -> ReadOnlyStore:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
