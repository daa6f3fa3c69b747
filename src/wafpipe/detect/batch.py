"""Single-event rules over one Batch, as the collector delivers it: exactly the events it stores.

The collector calls :meth:`BatchDetector.findings` after every sink has the Batch and before the
state records it (:mod:`wafpipe.collector.delivery`), and the findings are written as alerts in
the state's transaction for that Batch. A crash before that transaction replays the Batch, and its
alerts with it; after it, the Batch is not read again. So each event is looked at once, and an
alert counts each of its events once — without reading the store, and with or without an
embedded store configured.

Each rule's condition is evaluated on the Batch's Arrow record batch, in the store's own shape
(:func:`wafpipe.store.schema.stored`), by one of two evaluators that agree row for row:

* :func:`wafpipe.store.query.predicate.compile_predicate` (``pyarrow.compute``), for every rule it
  can evaluate — all the shipped ones. This runs in each decode worker, which then never loads
  DuckDB (~45 MiB resident per worker, issue 20);
* the rule's compiled ``WHERE`` in an in-memory DuckDB of the worker's own, for the others (a
  user's rule on a list, a JSON field, an address, a date or free text); the Arrow batch is
  registered as ``events`` and read in place; every such rule is one ``GROUP BY`` source address
  in a single ``UNION ALL`` statement.

Findings are one per rule and source address: first and last time, count, and the first
:data:`MAX_IDS` event ids by time then id; ordered by rule, first time, address.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wafpipe.detect.engine import SINGLE_GROUP, Finding, alerting
from wafpipe.detect.model import Detection, Rule
from wafpipe.fields.arrow import ID
from wafpipe.store.query.fields import column_sql
from wafpipe.store.query.predicate import Predicate, column, compile_predicate
from wafpipe.store.query.statements import ID as ID_SQL
from wafpipe.store.query.statements import TS, iso
from wafpipe.store.schema import stored

MAX_IDS = 100  # event ids kept per finding

Row = tuple[int, str, datetime, datetime, int, list[str]]  # rule index, group, first, last, count, ids


class BatchDetector:
    """The standalone single-event rules among ``detections``, ready to run on Batches."""

    def __init__(self, detections: list[Detection]) -> None:
        self.rules = [d for d in alerting(detections) if isinstance(d, Rule)]
        self._predicates: list[tuple[int, Predicate]] = []
        in_sql: list[int] = []
        for i, rule in enumerate(self.rules):
            predicate = compile_predicate(rule.tree)
            if predicate is None:
                in_sql.append(i)
            else:
                self._predicates.append((i, predicate))
        self._sql = _SqlRules(self.rules, in_sql) if in_sql else None

    def findings(self, events: pa.RecordBatch) -> list[Finding]:
        """What the rules find in these events (one finding per rule and source address)."""
        if not self.rules or not len(events):
            return []
        batch = stored(events)
        rows = self._arrow_rows(batch)
        if self._sql is not None:
            rows += self._sql.rows(batch)
        rows.sort(key=lambda row: (row[0], row[2], row[1]))
        return [Finding(self.rules[r], {SINGLE_GROUP[0]: g}, str(iso(first)), str(iso(last)), n, ids)
                for r, g, first, last, n, ids in rows]  # fmt: skip

    def _arrow_rows(self, batch: pa.RecordBatch) -> list[Row]:
        if not self._predicates:
            return []
        group, ts, ids = column(batch, SINGLE_GROUP[0]), column(batch, "@timestamp"), batch.column(ID)
        usable = pc.and_(group.is_valid(), ts.is_valid())
        table = pa.table({"g": group, "ts": ts, "id": ids})
        rows: list[Row] = []
        for r, predicate in self._predicates:
            mask = pc.and_(predicate(batch), usable)
            if not pc.any(mask).as_py():
                continue
            hits = table.filter(mask).sort_by([("g", "ascending"), ("ts", "ascending"), ("id", "ascending")])
            rows += _groups(r, hits)
        return rows

    def close(self) -> None:
        if self._sql is not None:
            self._sql.close()


def _groups(r: int, hits: pa.Table) -> list[Row]:
    """One row per run of equal ``g`` in ``hits`` (sorted by group, time, id)."""
    groups = hits.column("g").to_pylist()
    times = hits.column("ts")
    ids = hits.column("id")
    rows: list[Row] = []
    start = 0
    for end in range(1, len(groups) + 1):
        if end < len(groups) and groups[end] == groups[start]:
            continue
        rows.append((r, groups[start], times[start].as_py(), times[end - 1].as_py(), end - start,
                     ids.slice(start, min(end - start, MAX_IDS)).to_pylist()))  # fmt: skip
        start = end
    return rows


class _SqlRules:
    """The rules ``compile_predicate`` leaves to SQL, in an in-memory DuckDB (loaded only then)."""

    def __init__(self, rules: list[Rule], which: list[int]) -> None:
        import duckdb  # only for these rules: a worker running the shipped ones never loads it

        self._con = duckdb.connect(config={"threads": 1, "memory_limit": "256MB"})
        self._lock = threading.Lock()
        group = column_sql(SINGLE_GROUP[0])
        parts, params = [], []
        for i in which:
            where, where_params = rules[i].where()
            parts.append(f"SELECT {i} AS r, {group} AS g, min({TS}), max({TS}), count(*), "  # noqa: S608
                         f"(list({ID_SQL} ORDER BY {TS}, {ID_SQL}))[1:{MAX_IDS}] FROM events "
                         f"WHERE ({where}) AND {group} IS NOT NULL AND {TS} IS NOT NULL GROUP BY g")  # fmt: skip
            params += where_params
        self._statement = " UNION ALL ".join(parts)
        self._params = params

    def rows(self, batch: pa.RecordBatch) -> list[Row]:
        with self._lock:
            self._con.register("events", batch)  # read in place, not copied
            try:
                found: list[Any] = self._con.execute(self._statement, self._params).fetchall()
            finally:
                self._con.unregister("events")
        return [(int(r), g, first, last, int(n), list(ids)) for r, g, first, last, n, ids in found]

    def close(self) -> None:
        self._con.close()
