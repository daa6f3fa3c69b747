"""The one pass that decodes: every version-1 row, in storage order, decoded again (:mod:`.replay`)
into version-2 Arrow rows, inserted in transactions of ``chunk_rows`` events; a row that does not
decode goes to the problems file with its reason (:class:`Problems`), never silently away."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson

from wafpipe import _native
from wafpipe.config.files import create_private
from wafpipe.fields.arrow import record_batch
from wafpipe.store.migrate.replay import Runs, replay
from wafpipe.store.migrate.report import MigrateReport
from wafpipe.store.migrate.version1 import BATCH, KEY, ROWS, File, id_bytes, odd, recorded_line
from wafpipe.store.schema import EVENTS, stored

PROGRESS_EVERY = 1000  # rows between two progress calls
_ALL = f"SELECT id, doc, {KEY} FROM ({ROWS})"  # noqa: S608  (storage order: a scan keeps it)


def _unplaced(doc_text: str | None) -> str:
    try:
        orjson.loads(doc_text or "")
    except orjson.JSONDecodeError:
        return "the version 1 document is not JSON"
    return "the version 1 document does not name its file (imperva.waf.file.name and .format)"


class Problems:
    """The problems file, opened at the first problem (0600: it holds raw lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def add(self, event_id: str, doc_text: str | None, reason: str) -> None:
        if self._fh is None:
            self._fh = os.fdopen(create_private(self.path, exclusive=False), "wb")
        try:
            doc = orjson.loads(doc_text or "null")
            waf, block = doc["imperva"]["waf"], doc["imperva"]["waf"]["file"]
            record = {"id": event_id, "file": block.get("name"), "ordinal": block.get("ordinal"),
                      "line": doc["event"]["original"], "reason": reason}  # fmt: skip
            if waf.get("original_base64"):
                record["raw_base64"] = waf["original_base64"]
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            record = {"id": event_id, "file": None, "ordinal": None, "line": None, "doc": doc_text,
                      "reason": reason}  # fmt: skip
        self._fh.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()


def _insert(new: duckdb.DuckDBPyConnection, ids: list[str], documents: list[bytes]) -> None:
    new.register(BATCH, stored(record_batch(ids, documents)))
    try:
        new.execute("BEGIN TRANSACTION")
        new.execute(f"INSERT INTO {EVENTS} SELECT * FROM {BATCH}").fetchall()  # noqa: S608
        new.execute("COMMIT")
    finally:
        new.unregister(BATCH)


def _rows(old: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    for batch in old.sql(_ALL).to_arrow_reader(PROGRESS_EVERY):
        yield from zip(*batch.to_pydict().values(), strict=True)


def migrate_events(old: duckdb.DuckDBPyConnection, new: duckdb.DuckDBPyConnection, files: list[File],
                   report: MigrateReport, problems: Problems, progress: Callable[[int, int], None] | None,
                   chunk_rows: int) -> None:  # fmt: skip
    """The one pass over the rows: decode each again, insert in chunks, report progress."""
    by_key = {f.key: f for f in files}
    runs = Runs()
    ids: list[str] = []
    documents: list[bytes] = []
    done = 0
    if progress is not None:
        progress(0, report.rows)
    for event_id, doc_text, *key in _rows(old):
        done += 1
        f = by_key[tuple(key)]
        document, why = None, _unplaced(doc_text) if f.unplaced else f.problem
        if why is None:
            try:
                document, why = _row(runs, f, event_id, doc_text, report)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                why = odd(exc)
        if document is None:
            problems.add(event_id, doc_text, why or "unknown")
            report.problems += 1
            report.reasons[why or "unknown"] += 1
        else:
            ids.append(event_id)
            documents.append(document)
        if len(ids) >= chunk_rows:
            _insert(new, ids, documents)
            report.migrated += len(ids)
            ids, documents = [], []
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, report.rows)
    if ids:
        _insert(new, ids, documents)
        report.migrated += len(ids)
    if progress is not None:
        progress(done, report.rows)


def _row(
    runs: Runs, f: File, event_id: str, doc_text: str | None, report: MigrateReport
) -> tuple[bytes | None, str | None]:
    """One row decoded again: (its version-2 document, None) or (None, why not)."""
    doc = orjson.loads(doc_text) if doc_text else None
    if not isinstance(doc, dict):
        return None, "the version 1 document is not a JSON object"
    line = recorded_line(doc)
    if isinstance(line, str):
        return None, line
    if f.has_header and _native.event_id(f.identity, line.ordinal, id_bytes(line)) != event_id:
        report.ids_differ += 1
    return replay(runs, f, doc, line)
