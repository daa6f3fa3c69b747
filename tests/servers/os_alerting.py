"""OpenSearch's alerting plugin monitor API, for the stand-in (``ElasticsearchServer(alerting=True)``).

Why a stand-in: the real OpenSearch test node cannot load the alerting plugin. Its zip is not on
Maven Central (tried 2026-12-03 with ``mvn dependency:get``: ``org.opensearch.plugin:opensearch-alerting``
and ``org.opensearch.plugin:alerting``, ``2.19.0.0:zip``, both "Could not find artifact"; only the
``opensearch-job-scheduler`` zip it depends on resolves), and the node is a launcher with plugins on
its classpath rather than a distribution with ``bin/opensearch-plugin``.

Modelled on the plugin as of 2.19.6 (``RestIndexMonitorAction``, ``RestSearchMonitorAction``,
``TransportSearchMonitorAction``) and its model in common-utils (``Monitor.parse``,
``QueryLevelTrigger.parseInner``, ``AlertingException.wrap``):

* ``POST /_plugins/_alerting/monitors`` creates (201), ``PUT …/<id>`` replaces (200; 404 "Monitor
  with <id> is not found"; ``if_seq_no``/``if_primary_term`` that are not the stored ones: 409),
  ``GET``/``DELETE …/<id>``. Answers are ``{"_id", "_version", "_seq_no", "_primary_term",
  "monitor"}``; ``Location`` is not sent.
* A monitor needs ``name`` and ``schedule`` (``period`` with ``interval`` and a ``unit`` Java's
  ``ChronoUnit`` knows, or ``cron``); inputs are ``{"search": {"indices", "query"}}``; a query-level
  monitor takes query-level triggers only, as ``{"query_level_trigger": {…}}`` or the older flat
  object, each with ``name``, ``severity`` (kept as text), and a painless ``condition.script``.
  Fields a monitor does not have (``description``, ``tags``, …) are dropped, as the parser skips
  them; ``ui_metadata`` is kept as given. Errors are ``alerting_exception`` with the plugin's words.
  An input's search is kept as sent, where the plugin re-serializes it with every default filled in
  (which is why wafpipe recognises its monitors by a digest in ``ui_metadata``, not by their body).
* ``POST|GET …/monitors/_search`` searches the stored ``{"monitor": {…}}`` documents and answers each
  hit's ``_source`` as the monitor itself. Before the first monitor the config index does not exist
  and the search fails with 404 (2.19 passes the ``IndexNotFoundException`` on; later versions answer
  no hits). Queries: ``match_all``, ``term``, ``prefix``, ``match``/``match_phrase`` on ``monitor.*``
  fields and ``bool`` (``filter``/``must``/``must_not``), with ``from``, ``size`` and
  ``seq_no_primary_term``.

Nothing is ever run: no schedule fires, no trigger is evaluated.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from .es_errors import EsError

CONFIG_INDEX = ".opendistro-alerting-config"
PRIMARY_TERM = 1
CHRONO_UNITS = {"NANOS", "MICROS", "MILLIS", "SECONDS", "MINUTES", "HOURS", "HALF_DAYS", "DAYS", "WEEKS",
                "MONTHS", "YEARS", "DECADES", "CENTURIES", "MILLENNIA", "ERAS", "FOREVER"}
MONITOR_TYPES = {"query_level_monitor", "bucket_level_monitor", "cluster_metrics_monitor", "doc_level_monitor"}


def _alerting(status: int, reason: str) -> EsError:
    return EsError(status, "alerting_exception", reason, caused_by={"type": "exception", "reason": reason})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _trigger(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise _alerting(400, "Failed to parse object: expecting token of type [START_OBJECT]")
    named = next(iter(raw)) if len(raw) == 1 and next(iter(raw)).endswith("_trigger") else None
    if named is not None and named != "query_level_trigger":
        raise _alerting(400, f"Illegal trigger type, {named}, for query level monitor")
    inner = raw[named] if named else raw
    for key in ("name", "severity"):
        if not isinstance(inner.get(key), str | int) or isinstance(inner.get(key), bool):
            raise _alerting(400, f"Trigger {key} is null")
    script = (inner.get("condition") or {}).get("script") if isinstance(inner.get("condition"), dict) else None
    if not isinstance(script, dict) or not isinstance(script.get("source"), str):
        raise _alerting(400, "Trigger condition is null")
    if script.get("lang", "painless") != "painless":
        raise _alerting(400, "Invalid script language. Allowed languages are [painless]")
    return {"query_level_trigger": {
        "id": str(inner.get("id") or uuid.uuid4().hex[:20]), "name": str(inner["name"]),
        "severity": str(inner["severity"]), "condition": {"script": {"source": script["source"], "lang": "painless"}},
        "actions": list(inner.get("actions") or [])}}


def parse_monitor(body: Any) -> dict[str, Any]:
    """The monitor as the plugin parses and answers it (timestamps are set by the caller)."""
    if not isinstance(body, dict):
        raise _alerting(400, "Failed to parse object: expecting token of type [START_OBJECT]")
    if not isinstance(body.get("name"), str):
        raise _alerting(400, "Monitor name is null")
    monitor_type = body.get("monitor_type", "query_level_monitor")
    if monitor_type not in MONITOR_TYPES:
        raise _alerting(400, "Monitor type should follow pattern ^[a-zA-Z_]+$ and be a known type")
    schedule = body.get("schedule")
    period = schedule.get("period") if isinstance(schedule, dict) else None
    if isinstance(period, dict):
        unit = str(period.get("unit", "")).upper()
        if unit not in CHRONO_UNITS:
            raise _alerting(400, f"No enum constant java.time.temporal.ChronoUnit.{unit}")
        if not isinstance(period.get("interval"), int) or period["interval"] < 1:
            raise _alerting(400, "Interval period must be greater than 0")
        schedule = {"period": {"interval": period["interval"], "unit": unit.title().replace("_", "")}}
    elif not (isinstance(schedule, dict) and isinstance(schedule.get("cron"), dict)):
        raise _alerting(400, "Monitor schedule is null")
    inputs = []
    for raw in body.get("inputs") or []:
        search = raw.get("search") if isinstance(raw, dict) else None
        if not isinstance(search, dict) or not isinstance(search.get("indices"), list):
            raise _alerting(400, "Unsupported input type (this stand-in knows search inputs only)")
        inputs.append({"search": {"indices": list(search["indices"]), "query": search.get("query") or {}}})
    if monitor_type != "query_level_monitor":
        raise _alerting(400, f"{monitor_type} is not modelled by this stand-in")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _alerting(400, "Failed to parse value [enabled] as only [true] or [false] are allowed.")
    out: dict[str, Any] = {
        "type": "monitor", "schema_version": 5, "name": body["name"], "monitor_type": monitor_type, "user": None,
        "enabled": enabled, "enabled_time": None, "schedule": schedule, "inputs": inputs,
        "triggers": [_trigger(t) for t in body.get("triggers") or []], "last_update_time": None,
    }
    if body.get("ui_metadata"):
        out["ui_metadata"] = body["ui_metadata"]
    return out | {"data_sources": {"alerts_index": ".opendistro-alerting-alerts",
                                   "findings_index": ".opensearch-alerting-finding-history-write",
                                   "query_index": ".opensearch-alerting-queries"},
                  "delete_query_index_in_every_run": False, "should_create_single_alert_for_findings": False,
                  "owner": "alerting"}


@dataclass
class _Stored:
    monitor: dict[str, Any]
    seq_no: int
    version: int


def _field(monitor: dict[str, Any], path: str) -> Any:
    """``monitor.<field>`` of a stored ``{"monitor": …}`` document (given the monitor inside)."""
    if not path.startswith("monitor."):
        return None
    parts = path.removeprefix("monitor.").removesuffix(".keyword").split(".")
    value: Any = monitor
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def matches(monitor: dict[str, Any], query: Any) -> bool:
    """The few queries a client of the monitor search sends, over a stored ``{"monitor": …}`` document."""
    if not isinstance(query, dict) or len(query) != 1:
        raise EsError(400, "parsing_exception", "[_na] query malformed, must start with start_object")
    (kind, spec), = query.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        def each(key: str) -> list[Any]:
            clauses = spec.get(key, [])
            return clauses if isinstance(clauses, list) else [clauses]
        return (all(matches(monitor, q) for q in each("filter") + each("must"))
                and not any(matches(monitor, q) for q in each("must_not")))
    if kind in ("term", "prefix", "match", "match_phrase") and isinstance(spec, dict) and len(spec) == 1:
        (path, wanted), = spec.items()
        if isinstance(wanted, dict):
            wanted = wanted.get("value", wanted.get("query"))
        value = _field(monitor, path)
        if kind == "prefix":
            return isinstance(value, str) and value.startswith(str(wanted))
        if kind == "term":
            return value == wanted or (isinstance(value, bool) and str(value).lower() == str(wanted).lower())
        return isinstance(value, str) and str(wanted).lower() in value.lower()
    raise EsError(400, "parsing_exception", f"unknown query [{kind}] (not modelled by this stand-in)")


class AlertingMonitors:
    """The monitors of one stand-in cluster; callers hold the cluster lock."""

    def __init__(self) -> None:
        self._stored: dict[str, _Stored] = {}
        self._seq_no = -1

    def _answer(self, monitor_id: str, stored: _Stored) -> dict[str, Any]:
        return {"_id": monitor_id, "_version": stored.version, "_seq_no": stored.seq_no,
                "_primary_term": PRIMARY_TERM, "monitor": stored.monitor}

    def _store(self, monitor_id: str, monitor: dict[str, Any], old: _Stored | None) -> _Stored:
        now = _now_ms()
        monitor["last_update_time"] = now
        if monitor["enabled"]:
            monitor["enabled_time"] = (old.monitor.get("enabled_time") if old else None) or now
        self._seq_no += 1
        stored = _Stored(monitor, self._seq_no, old.version + 1 if old else 1)
        self._stored[monitor_id] = stored
        return stored

    def create(self, body: Any) -> tuple[int, Any]:
        monitor_id = uuid.uuid4().hex[:20]
        return 201, self._answer(monitor_id, self._store(monitor_id, parse_monitor(body), None))

    def update(self, monitor_id: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
        monitor = parse_monitor(body)
        old = self._stored.get(monitor_id)
        if old is None:
            raise _alerting(404, f"Monitor with {monitor_id} is not found")
        if "if_seq_no" in query or "if_primary_term" in query:
            seq_no, term = int(query.get("if_seq_no", -2)), int(query.get("if_primary_term", 0))
            if (seq_no, term) != (old.seq_no, PRIMARY_TERM):
                raise EsError(409, "version_conflict_engine_exception",
                              f"[{monitor_id}]: version conflict, required seqNo [{seq_no}], primary term [{term}]. "
                              f"current document has seqNo [{old.seq_no}] and primary term [{PRIMARY_TERM}]")
        return 200, self._answer(monitor_id, self._store(monitor_id, monitor, old))

    def get(self, monitor_id: str) -> tuple[int, Any]:
        stored = self._stored.get(monitor_id)
        if stored is None:
            raise _alerting(404, "Monitor not found.")
        return 200, self._answer(monitor_id, stored)

    def delete(self, monitor_id: str) -> tuple[int, Any]:
        stored = self._stored.pop(monitor_id, None)
        if stored is None:
            raise _alerting(404, "Monitor not found.")
        self._seq_no += 1
        return 200, {"_index": CONFIG_INDEX, "_id": monitor_id, "_version": stored.version + 1, "result": "deleted",
                     "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": self._seq_no,
                     "_primary_term": PRIMARY_TERM}

    def route(self, method: str, monitor: str | None, body: Any, query: dict[str, str]) -> tuple[int, Any] | None:
        """One request to ``/_plugins/_alerting/monitors[/<monitor>]``; None: the plugin has no
        handler for it (the caller answers as OpenSearch does)."""
        if monitor == "_search" and method in ("GET", "POST"):
            return self.search(body)
        if monitor is None and method == "POST":
            return self.create(body)
        if monitor not in (None, "_search") and method in ("GET", "PUT", "DELETE"):
            assert monitor is not None
            if method == "GET":
                return self.get(monitor)
            return self.delete(monitor) if method == "DELETE" else self.update(monitor, body, query)
        return None

    def search(self, body: Any) -> tuple[int, Any]:
        if self._seq_no < 0:  # no monitor was ever made: the config index does not exist (2.19)
            raise _alerting(404, f"Configured indices are not found: [{CONFIG_INDEX}/_na_]")
        body = body if isinstance(body, dict) else {}
        query = body.get("query", {"match_all": {}})
        start, size = int(body.get("from", 0)), int(body.get("size", 10))
        found = [(mid, s) for mid, s in sorted(self._stored.items(), key=lambda kv: kv[1].seq_no)
                 if matches(s.monitor, query)]
        hits = []
        for monitor_id, stored in found[start:start + size]:
            hit: dict[str, Any] = {"_index": CONFIG_INDEX, "_id": monitor_id, "_version": stored.version,
                                   "_score": 0.0, "_source": stored.monitor}
            if body.get("seq_no_primary_term"):
                hit |= {"_seq_no": stored.seq_no, "_primary_term": PRIMARY_TERM}
            hits.append(hit)
        return 200, {"took": 1, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                     "hits": {"total": {"value": len(found), "relation": "eq"}, "max_score": 0.0, "hits": hits}}

    def monitors(self) -> dict[str, dict[str, Any]]:
        """Every stored monitor by id, as the plugin answers it."""
        return {mid: s.monitor for mid, s in self._stored.items()}
