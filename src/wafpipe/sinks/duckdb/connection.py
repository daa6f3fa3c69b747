"""How the store's writer opens the DuckDB file, and when it checkpoints.

Committed rows wait uncompressed in DuckDB's memory (~3.6 KB per event) until a checkpoint writes
them into the file. The writer used to leave that to DuckDB at 128 MB of WAL, so ~150 MiB of rows
waited, and the blocks each checkpoint wrote stayed cached up to ``memory_limit`` (now 128MB by
default): the collector's peak memory grew with what it had stored (issue 20). Now the writer checkpoints every
:data:`CHECKPOINT_ROWS` events it stores, so about two Batches wait whatever the store holds. A
checkpoint closes the row group it wrote (later rows start a new one), so the file is attached with
row groups of :data:`ROW_GROUP_ROWS` (DuckDB takes that only from ``ATTACH``), just above what a
checkpoint writes: the row groups come out nearly full. Measured: docs/architecture.md "The store".

A read-only connection opens the file itself: it writes no row group.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

__all__ = ["CHECKPOINT_ROWS", "CHECKPOINT_THRESHOLD", "ROW_GROUP_ROWS", "connect", "cursor"]

# Rows per row group of the store (DuckDB's default is 122 880): a multiple of DuckDB's 2048-row
# vectors, just above CHECKPOINT_ROWS, so that each checkpoint's row group comes out nearly full.
ROW_GROUP_ROWS = 20_480
# The writer checkpoints once it has stored this many events since its last checkpoint: two
# Batches of the default size.
CHECKPOINT_ROWS = 20_000
# DuckDB's own checkpoint at this much WAL stays as a backstop (a replayed WAL, a large delete).
CHECKPOINT_THRESHOLD = "128MB"
# The name the store is attached under, and every writer's cursor's default catalog.
_CATALOG = "store"


def connect(path: Path, *, read_only: bool, memory_limit: str, threads: int | None) -> duckdb.DuckDBPyConnection:
    """The store's connection with its settings (DuckDB errors propagate: the sink words them)."""
    if read_only:
        con = duckdb.connect(str(path), read_only=True)
    else:
        # Spills go to <path>.tmp, where DuckDB puts them for the file opened directly.
        con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        if not read_only:
            quoted = str(path).replace("'", "''")  # the configured path: ATTACH takes no parameter
            con.execute(f"ATTACH '{quoted}' AS {_CATALOG} (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
            con.execute(f"USE {_CATALOG}")
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET checkpoint_threshold = ?", [CHECKPOINT_THRESHOLD])
        if threads:
            con.execute("SET threads = ?", [int(threads)])
    except duckdb.Error:
        con.close()
        raise
    return con


def cursor(con: duckdb.DuckDBPyConnection, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection of its own to the same store (a writer's cursor starts in DuckDB's default
    catalog, not in the attached store)."""
    cur = con.cursor()
    if not read_only:
        cur.execute(f"USE {_CATALOG}")
    return cur
