"""The statements of a prune (fixed text: values are always parameters) and the record of one
deletion, as the ``prunes`` table holds it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wafpipe.store.schema import EVENTS, PRUNES

# Which rows of the events table each dataset is; fixed text, no user input.
DATASET_WHERE = {
    "security": '"imperva"."waf"."security_event" IS TRUE',
    "access": '"imperva"."waf"."security_event" IS NOT TRUE',
}
OLDER = f'DELETE FROM {EVENTS} WHERE "@timestamp" < ?'  # noqa: S608
OLDER_BY_DATASET = f'SELECT {DATASET_WHERE["security"]}, count(*) FROM {EVENTS} WHERE "@timestamp" < ? GROUP BY 1'  # noqa: S608
DATASET_OLDER = {
    name: f'DELETE FROM {EVENTS} WHERE {where} AND "@timestamp" < ?'  # noqa: S608
    for name, where in DATASET_WHERE.items()
}
DATASET_BETWEEN = {
    name: f'DELETE FROM {EVENTS} WHERE {where} AND "@timestamp" >= ? AND "@timestamp" < ?'  # noqa: S608
    for name, where in DATASET_WHERE.items()
}
DATASET_COUNT = {
    name: f'SELECT count(*) FROM {EVENTS} WHERE {where} AND "@timestamp" < ?'  # noqa: S608
    for name, where in DATASET_WHERE.items()
}
RECORD = f"INSERT INTO {PRUNES} (dataset, cutoff, deleted, pruned_at, reason) VALUES (?, ?, ?, ?, ?)"  # noqa: S608


@dataclass(frozen=True)
class Pruned:
    """One dataset's deletion: what a ``prunes`` row records. ``namespace``: the namespace whose
    own retention it applied; None for every namespace without one (all, when none has)."""

    dataset: str
    cutoff: datetime
    deleted: int
    namespace: str | None = None
