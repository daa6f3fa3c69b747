"""Hourly counts kept beside the events, so the overview's numbers over weeks of data read
thousands of rows instead of millions (issue 23's speed target: the overview on a 10 M-event store
in ≤ 300 ms; measured in ``bench/ui.py``).

One table, ``rollup``: per hour (whole hours since the epoch, UTC), per value of the *dimensions*
(:data:`~.table.DIMENSIONS`: is it a security event, its action class) and per value of each rolled
up field (:data:`~.table.FIELDS`: the overview's and the search sidebar's top lists), how many
events. Rows with ``field = ''`` count the events themselves.

It is exact, never an estimate, because it changes only with the events:

* the DuckDB sink adds a Batch's counts in the transaction that inserts the Batch, computed from the
  very rows inserted (:func:`~.table.add`); a replayed Batch adds nothing, as it inserts nothing;
* retention deletes the counts of the hours it empties and recounts the hour its cutoff cuts, in
  the transaction that deletes the events (:func:`~.table.forget_before`);
* a store without it, or with an older layout, gets it rebuilt from the events when the collector
  opens the store (:func:`~.table.ensure`), in one transaction that also records its version; until
  then, and for any store open read-only, readers count the events.

Reading (:mod:`.plan`): a count, a top list or a histogram whose query names only dimensions reads
the whole hours of its time range here and the partial hours at either end from the events, and
adds them up — the same answer as counting the events, which the tests check on every kind of
query, range and store change.
"""

from wafpipe.store.rollup.plan import Plan, plan
from wafpipe.store.rollup.table import (
    COMPACT_ROWS,
    DIMENSIONS,
    FIELDS,
    ROLLUP,
    add,
    compact,
    current,
    ensure,
    forget_before,
    rebuild,
    unmerged,
)

__all__ = [
    "COMPACT_ROWS",
    "DIMENSIONS",
    "FIELDS",
    "ROLLUP",
    "Plan",
    "add",
    "compact",
    "current",
    "ensure",
    "forget_before",
    "plan",
    "rebuild",
    "unmerged",
]
