"""Retention per namespace in the embedded store: ``retention_days.namespaces`` (a namespace kept
by ``pci-dss``, another 30 days, the rest by the default).

Which namespace a stored event is in. The store keeps the events as decoded, without the cluster
sinks' routing, so the namespace is worked out when pruning, by the sink's own ``namespace`` and
``namespace_rules`` (:class:`~wafpipe.store.retention.policy.Routing`): one SQL ``CASE`` over the account
id, site id and site tag columns, first match wins, as the cluster sinks route (an event that
carries ``data_stream.namespace`` keeps that one). So the rules as configured now apply to every
stored event, including those stored before a rule was added.

Cost. Per dataset, the namespaces are grouped by cutoff, and each distinct cutoff is one
``SELECT`` (what each namespace loses, for the records) and one ``DELETE``, both bounded by
``"@timestamp" < cutoff`` so DuckDB skips the row groups past it, as the plain retention does.
Values (rule values, namespace names, cutoffs) are parameters; the statement text is fixed but for
the number of ``?`` in an ``IN`` list.

The rollup. A namespace's deletion leaves other namespaces' events in the same hours, so the
hours it touched (from its oldest deleted event to its cutoff) are counted again from the events
left (:func:`~wafpipe.store.rollup.table.recount`): the first prune after an override is added may
count much again, the hourly ones after it an hour or two.

Records. One ``prunes`` row per (dataset, namespace with its own retention) and one per dataset
for every other namespace (``namespace`` NULL), in the deletes' transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wafpipe.config.base import RULE_FIELDS
from wafpipe.store.query.fields import column_sql
from wafpipe.store.retention.policy import DATASETS, Retention, Routing
from wafpipe.store.retention.statements import DATASET_WHERE, Pruned
from wafpipe.store.rollup.table import hour_of, recount
from wafpipe.store.schema import EVENTS, PRUNES

_TS = '"@timestamp"'
_RECORD = (f"INSERT INTO {PRUNES} (dataset, cutoff, deleted, pruned_at, reason, namespace) "  # noqa: S608
           "VALUES (?, ?, ?, ?, ?, ?)")  # fmt: skip


def namespace_sql(routing: Routing) -> tuple[str, list[Any]]:
    """The SQL of an event's namespace and its parameters: ``data_stream.namespace`` when the event
    carries one, else the first rule that matches, else the default."""
    whens = " ".join(f"WHEN {column_sql(RULE_FIELDS[match])} = ? THEN ?" for match, _, _ in routing.rules)
    params: list[Any] = [x for _, value, ns in routing.rules for x in (value, ns)]
    chosen = f"CASE {whens} ELSE ? END" if routing.rules else "CAST(? AS VARCHAR)"
    return f'coalesce("data_stream"."namespace", {chosen})', [*params, routing.default]


@dataclass
class Group:
    """The namespaces of one dataset that share a cutoff: ``named`` overrides, and with ``others``
    every namespace without an override except ``excluded`` (the overrides of other cutoffs)."""

    cutoff: datetime
    named: list[str] = field(default_factory=list)
    others: bool = False
    excluded: list[str] = field(default_factory=list)

    def where(self, dataset: str, routing: Routing) -> tuple[str, list[Any]]:
        """The ``WHERE`` of this group's events (older than the cutoff), and its parameters."""
        ns, ns_params = namespace_sql(routing)
        sql, params = f'{DATASET_WHERE[dataset]} AND {_TS} < ?', [self.cutoff]
        if self.others and self.excluded:
            sql += f" AND {ns} NOT IN ({', '.join('?' * len(self.excluded))})"
            params += [*ns_params, *self.excluded]
        elif not self.others:
            sql += f" AND {ns} IN ({', '.join('?' * len(self.named))})"
            params += [*ns_params, *self.named]
        return sql, params


def groups(retention: Retention, dataset: str, now: datetime) -> list[Group]:
    """Each distinct cutoff of ``dataset``, oldest first, with the namespaces it applies to (a
    namespace whose days come to the same as the default's shares the default's)."""
    default = retention.days(dataset)
    others_cutoff = now - timedelta(days=default) if default is not None else None
    by_cutoff: dict[datetime, Group] = {}
    if others_cutoff is not None:
        by_cutoff[others_cutoff] = Group(others_cutoff, others=True)
    overrides = sorted(retention.namespaces)
    for ns in overrides:
        days = retention.namespace_days(ns, dataset)
        if days is not None:
            cutoff = now - timedelta(days=days)
            by_cutoff.setdefault(cutoff, Group(cutoff)).named.append(ns)
    for group in by_cutoff.values():
        if group.others:
            group.excluded = [ns for ns in overrides if ns not in group.named]
    return [by_cutoff[c] for c in sorted(by_cutoff)]


def _counts(con: Any, dataset: str, group: Group, routing: Routing) -> tuple[dict[str, int], datetime | None]:
    """Namespace → events of ``group`` that are past its cutoff, and the oldest one's time."""
    ns, ns_params = namespace_sql(routing)
    where, params = group.where(dataset, routing)
    rows = con.execute(f"SELECT {ns}, count(*), min({_TS}) FROM {EVENTS} WHERE {where} GROUP BY 1",  # noqa: S608
                       [*ns_params, *params]).fetchall()  # fmt: skip
    oldest = min((row[2] for row in rows), default=None)
    return {str(name): int(n) for name, n, _ in rows}, oldest


def _pruned(dataset: str, group: Group, counts: dict[str, int]) -> list[Pruned]:
    out = [Pruned(dataset, group.cutoff, counts.get(ns, 0), ns) for ns in group.named]
    if group.others:
        rest = sum(n for ns, n in counts.items() if ns not in group.named)
        out.insert(0, Pruned(dataset, group.cutoff, rest, None))
    return out


def _ordered(pruned: list[Pruned]) -> list[Pruned]:
    """Per dataset, every other namespace first, then those with their own retention by name."""
    return sorted(pruned, key=lambda p: (DATASETS.index(p.dataset), p.namespace is not None, p.namespace or ""))


def expired_namespaces(con: Any, retention: Retention, routing: Routing, now: datetime) -> list[Pruned]:
    """What :func:`prune_namespaces` would delete now, deleting nothing."""
    out: list[Pruned] = []
    for dataset in DATASETS:
        for group in groups(retention, dataset, now):
            out += _pruned(dataset, group, _counts(con, dataset, group, routing)[0])
    return _ordered(out)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Hour spans with the overlapping and adjacent ones joined (each hour counted again once)."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def prune_namespaces(con: Any, retention: Retention, routing: Routing, now: datetime, *,
                     reason: str) -> list[Pruned]:  # fmt: skip
    """Delete what each namespace's retention no longer keeps, count the touched hours again and
    record it, in one transaction; ``con`` is writable with no transaction open."""
    done: list[Pruned] = []
    con.execute("BEGIN TRANSACTION")
    try:
        for dataset in DATASETS:
            spans = []
            for group in groups(retention, dataset, now):
                counts, oldest = _counts(con, dataset, group, routing)
                if oldest is not None:
                    where, params = group.where(dataset, routing)
                    con.execute(f"DELETE FROM {EVENTS} WHERE {where}", params).fetchall()  # noqa: S608
                    spans.append((hour_of(oldest), hour_of(group.cutoff)))
                done += _pruned(dataset, group, counts)
            for first, last in _merged(spans):
                recount(con, DATASET_WHERE[dataset], first, last)
        done = _ordered(done)
        for p in done:
            con.execute(_RECORD, [p.dataset, p.cutoff, p.deleted, now, reason, p.namespace]).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return done
