"""Move existing streams onto the current mappings: the last part of ``wafpipe elastic setup``.

A template applies when an index is created; an index that exists keeps the mappings it was made
with. When wafpipe's document shape changes (version 2: a value lives once, fields renamed and
removed), the streams it already writes to need a new write index made from the new template, or
new documents meet the old mappings. Each index made from our template carries the digest of its
mappings in ``_meta.wafpipe_hash`` (:func:`~wafpipe.sinks.elasticsearch.assets.templates.mappings`).
A data stream, or a rollover alias, whose write index has another digest or none (made by another
template, or by a wafpipe before version 2) is rolled over. Its earlier indices are left as they
are and stay searchable through the same stream or alias; only new documents get the new mappings.

Because the check reads each write index, a setup that stopped half way still finishes the job when
run again, and a second run after a rollover changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wafpipe.sinks.elasticsearch.assets import templates as tpl

if TYPE_CHECKING:
    from wafpipe.sinks.elasticsearch.client import ClusterClient

PATTERN = tpl.INDEX_PATTERN  # logs-imperva.waf-*


@dataclass(frozen=True, order=True)
class WriteTarget:
    """A stream (or rollover alias) wafpipe writes to, and the index that takes its writes."""

    kind: str  # "data stream" or "rollover alias"
    name: str
    write_index: str


class UpgradeError(Exception):
    """The cluster answered a request of the upgrade with an error (the message says which)."""


def _ok(client: ClusterClient, method: str, path: str, *, missing_ok: bool = False) -> Any:
    status, body = client.request(method, path)
    if missing_ok and status == 404:
        return {}
    if status >= 300:
        raise UpgradeError(f"{method} {path}: HTTP {status}: {client.redact(str(body)[:300])}")
    return body


def write_targets(client: ClusterClient, data_streams: bool) -> list[WriteTarget]:
    """Every ``logs-imperva.waf-*`` data stream, or rollover alias, with its write index."""
    if data_streams:
        body = _ok(client, "GET", f"/_data_stream/{PATTERN}", missing_ok=True)
        return sorted(WriteTarget("data stream", ds["name"], ds["indices"][-1]["index_name"])
                      for ds in body.get("data_streams", []) if ds.get("indices"))
    body = _ok(client, "GET", f"/_alias/{PATTERN}", missing_ok=True)
    return sorted(WriteTarget("rollover alias", alias, index)
                  for index, spec in body.items() for alias, props in (spec.get("aliases") or {}).items()
                  if (props or {}).get("is_write_index"))


def mappings_of(client: ClusterClient, index: str) -> dict[str, Any]:
    body = _ok(client, "GET", f"/{index}/_mapping")
    return dict((body.get(index) or {}).get("mappings") or {})


def stale_targets(client: ClusterClient, data_streams: bool, flavor: str) -> list[WriteTarget]:
    """The targets whose write index was made for other mappings than the ones installed now."""
    want = tpl.mappings_hash(tpl.mappings(flavor))
    return [t for t in write_targets(client, data_streams) if tpl.mappings_hash(mappings_of(client, t.write_index)) != want]


def roll_over(client: ClusterClient, target: WriteTarget) -> str:
    """Roll ``target`` over; returns the name of its new write index."""
    body = _ok(client, "POST", f"/{target.name}/_rollover")
    return str(body.get("new_index", "?"))
