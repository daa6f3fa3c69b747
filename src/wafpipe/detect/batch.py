"""Single-event rules over one Batch, as the collector delivers it: exactly the events it stores.

The collector calls :meth:`BatchDetector.findings` after every sink has the Batch and before the
state records it (:mod:`wafpipe.collector.delivery`), and the findings are written as alerts in
the state's transaction for that Batch. A crash before that transaction replays the Batch, and its
alerts with it; after it, the Batch is not read again. So each event is looked at once, and an
alert counts each of its events once — without reading the store, and with or without an
embedded store configured.

The Batch's Arrow record batch, in the store's own shape (:func:`wafpipe.store.schema.stored`), is
registered as ``events`` in an in-memory DuckDB of its own, so a rule's compiled ``WHERE`` runs on
it as on the store, without a copy; every rule is one ``GROUP BY`` source address in a single
``UNION ALL`` statement. Measured on Batches of 10 000 generated events (30 % attacks) with the 14
shipped single-event rules: ~45 ms a Batch.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import pyarrow as pa

from wafpipe.detect.engine import SINGLE_GROUP, Finding, alerting
from wafpipe.detect.model import Detection, Rule
from wafpipe.store.query.fields import column_sql
from wafpipe.store.query.statements import ID, TS, iso
from wafpipe.store.schema import stored

MAX_IDS = 100  # event ids kept per finding


class BatchDetector:
    """The standalone single-event rules among ``detections``, ready to run on Batches."""

    def __init__(self, detections: list[Detection]) -> None:
        self.rules = [d for d in alerting(detections) if isinstance(d, Rule)]
        self._con = duckdb.connect(config={"threads": 1, "memory_limit": "256MB"})
        self._lock = threading.Lock()
        group = column_sql(SINGLE_GROUP[0])
        parts, params = [], []
        for i, rule in enumerate(self.rules):
            where, where_params = rule.where()
            parts.append(f"SELECT {i} AS r, {group} AS g, min({TS}), max({TS}), count(*), "  # noqa: S608
                         f"(list({ID} ORDER BY {TS}, {ID}))[1:{MAX_IDS}] FROM events "
                         f"WHERE ({where}) AND {group} IS NOT NULL AND {TS} IS NOT NULL GROUP BY g")  # fmt: skip
            params += where_params
        self._sql = " UNION ALL ".join(parts) + " ORDER BY r, 3, g" if parts else ""
        self._params = params

    def findings(self, events: pa.RecordBatch) -> list[Finding]:
        """What the rules find in these events (one finding per rule and source address)."""
        if not self.rules or not len(events):
            return []
        with self._lock:
            self._con.register("events", stored(events))  # read in place, not copied
            try:
                rows: list[Any] = self._con.execute(self._sql, self._params).fetchall()
            finally:
                self._con.unregister("events")
        return [Finding(self.rules[r], {SINGLE_GROUP[0]: g}, str(iso(first)), str(iso(last)), int(n), list(ids))
                for r, g, first, last, n, ids in rows]  # fmt: skip

    def close(self) -> None:
        self._con.close()
