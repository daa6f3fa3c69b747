"""The new file's life beside the store: the old store opened (refused while a collector holds it),
the new one written as ``<store>.migrating`` (removed again if the run fails), then swapped in: made
private and fsync'd, the old file renamed to the backup and the new one to the store, the directory
fsync'd. A run that stopped between the two renames is finished by the next
(:func:`finish_interrupted`)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import duckdb

from wafpipe.config.files import make_private
from wafpipe.store.migrate.report import MigrateError
from wafpipe.store.schema import SCHEMA_VERSION, stored_version


def temp_path(store: Path) -> Path:
    return store.with_name(store.name + ".migrating")


def connect(path: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), config={"memory_limit": memory_limit})
        con.execute("SET enable_progress_bar = false")  # the command shows its own
        return con
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "lock" in first.lower():
            hint = "stop the collector (wafpipe run) that owns it, then migrate"
            raise MigrateError(f"{path} is held by another process: {first}", hint=hint) from None
        raise MigrateError(f"cannot open {path}: {first}", hint="is it a wafpipe DuckDB store?") from None


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _complete(path: Path) -> bool:
    """Whether ``path`` is a finished version-2 store (its schema version is written last)."""
    if not path.is_file():
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        return stored_version(con) == SCHEMA_VERSION
    finally:
        con.close()


def finish_interrupted(store: Path, temp: Path, backup: Path) -> bool:
    """Whether a swap was left half done (no store, the backup made, ``temp`` complete), and finished now."""
    if not store.exists() and backup.is_file() and _complete(temp):
        os.replace(temp, store)  # the run before stopped between its two renames
        _fsync(store.parent, directory=True)
        return True
    return False


def swap_in(store: Path, temp: Path, backup: Path) -> None:
    """``temp``, written and closed, takes the place of ``store``, which becomes ``backup``."""
    make_private(temp)
    _fsync(temp)
    os.replace(store, backup)
    os.replace(temp, store)
    _fsync(store.parent, directory=True)
