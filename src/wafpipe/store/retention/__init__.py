"""Retention of the embedded store: how long each dataset is kept, and deleting what is older.

Imperva's logs are of two kinds, kept for different reasons: *security* events (a rule matched,
``imperva.waf.security_event`` is true), which compliance wants for a year or more (PCI DSS 10.5.1:
twelve months), and *access* events (every other request), which are bulky and useful for weeks of
traffic analysis. :class:`Retention` holds a number of days for each; unset keeps everything.

Deleting is cheap however large the store: events arrive roughly in time order, so DuckDB's
per-row-group min/max of ``@timestamp`` lets ``DELETE … WHERE "@timestamp" < cutoff`` skip every
row group past the cutoff (measured on a 10 M-row store: 0.02–0.13 s). Applying the deletion to
the file is the cost (see :func:`prune`), so no checkpoint is forced here: DuckDB's own (at its WAL
threshold, or at close) writes it when it next runs; the freed blocks are reused by later events
rather than returned to the file system.

Every deletion is recorded in the store's ``prunes`` table, in the same transaction as the delete:
the record exists exactly when the rows are gone, which is what a compliance report needs to show
("access events before 2026-09-03 deleted on 2026-12-02 by the retention policy, 1.2 M rows").

Parts: :mod:`.policy` what is kept (days, profiles, namespaces, routing); :mod:`.statements` the
SQL and the record of a deletion; :mod:`.prune` deleting and reading the records; :mod:`.namespaces`
the per-namespace prune.
"""

from wafpipe.store.retention.policy import (
    DATASETS,
    PROFILES,
    DatasetDays,
    Days,
    Profile,
    ProfileName,
    Retention,
    Routing,
)
from wafpipe.store.retention.prune import expired, history, prune
from wafpipe.store.retention.statements import Pruned

__all__ = [
    "DATASETS",
    "PROFILES",
    "DatasetDays",
    "Days",
    "Profile",
    "ProfileName",
    "Pruned",
    "Retention",
    "Routing",
    "expired",
    "history",
    "prune",
]
