"""Deleting what is older than the retention allows, recorded in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wafpipe.store.retention.namespaces import expired_namespaces, prune_namespaces
from wafpipe.store.retention.policy import DATASETS, Retention, Routing
from wafpipe.store.retention.statements import (
    DATASET_BETWEEN,
    DATASET_COUNT,
    DATASET_OLDER,
    DATASET_WHERE,
    OLDER,
    OLDER_BY_DATASET,
    RECORD,
    Pruned,
)
from wafpipe.store.rollup.table import forget_before
from wafpipe.store.schema import PRUNES


def prune(con: Any, retention: Retention, now: datetime, *, reason: str, routing: Routing | None = None) -> list[Pruned]:
    """Delete the events older than ``retention`` allows and record it, in one transaction (the
    deletes and their ``prunes`` rows together); return what each dataset lost. ``con`` is a
    writable DuckDB connection with no transaction open; ``reason`` says who asked (``schedule``,
    ``wafpipe store prune``).

    When both datasets have a limit, what is older than both goes first by time alone, which
    empties whole row groups (a checkpoint then drops them: ~1 s on 10 M rows); only the span
    between the two cutoffs is deleted dataset by dataset, which leaves row groups with holes that
    a checkpoint rewrites (13–18 s for 10 % of 10 M rows). One number for both is the cheap case.

    Namespaces with a retention of their own, told apart by ``routing``, are pruned by
    :func:`.namespaces.prune_namespaces` instead."""
    if retention.namespaces:
        return prune_namespaces(con, retention, routing or Routing(), now, reason=reason)
    cutoffs = retention.cutoffs(now)
    deleted = dict.fromkeys(cutoffs, 0)
    con.execute("BEGIN TRANSACTION")
    try:
        floor = min(cutoffs.values()) if len(cutoffs) == len(DATASETS) else None
        if floor is not None:
            for security, n in con.execute(OLDER_BY_DATASET, [floor]).fetchall():
                deleted["security" if security else "access"] += int(n)
            con.execute(OLDER, [floor]).fetchall()
        for dataset, cutoff in cutoffs.items():
            if floor is None:
                rows = con.execute(DATASET_OLDER[dataset], [cutoff]).fetchall()
            elif cutoff > floor:
                rows = con.execute(DATASET_BETWEEN[dataset], [floor, cutoff]).fetchall()
            else:
                continue
            deleted[dataset] += int(rows[0][0]) if rows else 0
        for dataset, cutoff in cutoffs.items():
            forget_before(con, DATASET_WHERE[dataset], cutoff)
            con.execute(RECORD, [dataset, cutoff, deleted[dataset], now, reason]).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [Pruned(dataset, cutoff, deleted[dataset]) for dataset, cutoff in cutoffs.items()]


def expired(con: Any, retention: Retention, now: datetime, routing: Routing | None = None) -> list[Pruned]:
    """What :func:`prune` would delete now, deleting nothing (``wafpipe store prune --dry-run``)."""
    if retention.namespaces:
        return expired_namespaces(con, retention, routing or Routing(), now)
    counts: list[Pruned] = []
    for dataset, cutoff in retention.cutoffs(now).items():
        rows = con.execute(DATASET_COUNT[dataset], [cutoff]).fetchall()
        counts.append(Pruned(dataset, cutoff, int(rows[0][0])))
    return counts


def history(con: Any, limit: int = 100) -> list[dict[str, Any]]:
    """The most recent deletions, newest first (for ``wafpipe store prune --history`` and reports);
    ``namespace`` None: the deletion applied to every namespace without a retention of its own."""
    known = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [PRUNES]).fetchall()
    if not known[0][0]:  # a store no collector has opened since the table was added: nothing pruned
        return []
    has_ns = con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'namespace'",
                         [PRUNES]).fetchall()[0][0]  # fmt: skip
    namespace = "namespace" if has_ns else "NULL"  # read-only, on a store opened by nothing newer
    rows = con.execute(
        f"SELECT dataset, cutoff, deleted, pruned_at, reason, {namespace} FROM {PRUNES} "  # noqa: S608
        "ORDER BY pruned_at DESC, rowid DESC LIMIT ?",
        [limit],
    ).fetchall()
    # TIMESTAMPTZ comes back in the session's time zone: UTC, like every time wafpipe prints
    return [
        {"dataset": dataset, "cutoff": cutoff.astimezone(UTC), "deleted": deleted,
         "pruned_at": pruned_at.astimezone(UTC), "reason": reason, "namespace": ns}
        for dataset, cutoff, deleted, pruned_at, reason, ns in rows
    ]  # fmt: skip
