"""Detection rules installed by ``wafpipe elastic setup``: Kibana's detection engine for Elasticsearch,
alerting monitors for OpenSearch.

The rules arrive as plain dicts (:class:`RuleBundle`), converted by :mod:`wafpipe.detect.export` and
handed over by the command line: a sink may not import the detections, and this module only needs
bodies, an identity for each (Kibana's ``rule_id``; ``ui_metadata.wafpipe.rule_id`` of a monitor)
and the list of rules the conversion skipped, which is printed with its reasons.

Idempotent, like the rest of setup: each rule is looked up by its identity first, created when
missing, left alone when it already says what ours says, else updated in place — never a second
copy. What people change on an installed rule in Kibana or OpenSearch and we do not set is kept:
its on/off switch always, and in Kibana (``PATCH``) its exceptions and actions. A rule of ours
installed by an earlier setup and no longer loaded (its file removed) is named, not deleted.

Kibana: ``GET /api/detection_engine/rules?rule_id=`` then ``POST`` (create) or ``PATCH`` (only our
fields; ``PUT`` when the rule type itself changed, which a patch cannot do), ``_find`` by our tag for
the leftovers. OpenSearch: ``POST _plugins/_alerting/monitors/_search`` for every monitor, then
``POST`` (create) or ``PUT …/<id>?if_seq_no=&if_primary_term=``; each monitor carries a digest of
its body in ``ui_metadata`` (OpenSearch rewrites schedules and triggers into its own shape, so the
digest is what is compared). A cluster without the alerting plugin answers "no handler": reported,
not a failure, as for ISM.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from wafpipe.sinks.elasticsearch.client import ClusterClient, Transient, error_reason

TAG = "wafpipe"  # every Kibana rule of ours carries it (wafpipe.detect.export.TAG)
MONITORS = "/_plugins/_alerting/monitors"
RULES = "/api/detection_engine/rules"
SEARCH_PAGE = 500


@dataclass
class RuleBundle:
    """What to install: Kibana rule bodies, monitor bodies, and ``(rule id, title, reason)`` of each
    rule not converted for a target. ``unavailable`` says why there are no rules at all."""

    kibana: list[dict[str, Any]] = field(default_factory=list)
    monitors: list[dict[str, Any]] = field(default_factory=list)
    skipped_kibana: list[tuple[str, str, str]] = field(default_factory=list)
    skipped_opensearch: list[tuple[str, str, str]] = field(default_factory=list)
    unavailable: str = ""


class Report(Protocol):
    """What the installers need of :class:`wafpipe.sinks.elasticsearch.setup.Setup`."""

    dry_run: bool
    failures: int

    def say(self, text: str) -> None: ...

    def show_request(self, method: str, url: str, body: Any) -> None: ...


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, verb: str, report: Report) -> None:
        """One rule's outcome (``created``, ``updated``, ``unchanged`` or ``FAILED …``)."""
        if verb.startswith("FAILED"):
            self.failed += 1
            report.failures += 1
        else:
            setattr(self, verb, getattr(self, verb) + 1)

    def line(self, skipped: int) -> str:
        return (f"  detection rules: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{skipped} skipped" + (f", {self.failed} FAILED" if self.failed else ""))


def _skipped(report: Report, skipped: list[tuple[str, str, str]]) -> None:
    for rule_id, title, reason in skipped:
        report.say(f"  rule {rule_id} ({title}): skipped: {reason}")


def _subset(ours: Any, theirs: Any) -> bool:
    """Everything we send is there, the same (the engine may add fields of its own)."""
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and all(k in theirs and _subset(v, theirs[k]) for k, v in ours.items())
    if isinstance(ours, list):
        return (isinstance(theirs, list) and len(ours) == len(theirs)
                and all(_subset(a, b) for a, b in zip(ours, theirs, strict=True)))
    return bool(ours == theirs)


# ------------------------------------------------------------------------------------------ Kibana
def install_kibana(report: Report, http: Any, base: str, bundle: RuleBundle) -> None:
    """Kibana's detection engine at ``base`` (space prefix included), through ``http`` (an
    ``httpx.Client`` with Kibana's headers and credentials; None on a dry run)."""
    report.say(f"kibana detection rules ({base})")
    if bundle.unavailable:
        report.say(f"  not installed: {bundle.unavailable}")
        return
    if report.dry_run or http is None:
        for body in bundle.kibana:
            report.show_request("POST", base + RULES, body)
        report.say(f"(a rule Kibana already has is sent as PATCH {base}{RULES} with its rule_id instead)\n")
        _skipped(report, bundle.skipped_kibana)
        return
    tally = _Tally()
    for body in bundle.kibana:
        verb = _kibana_rule(http, base, body)
        what = f"rule {body['rule_id']} ({body['name']})"
        tally.add(verb, report)
        report.say(f"  {what}: {verb}")
    _kibana_leftovers(report, http, base, {b["rule_id"] for b in bundle.kibana})
    _skipped(report, bundle.skipped_kibana)
    report.say(tally.line(len(bundle.skipped_kibana)))


def _kibana_rule(http: Any, base: str, body: dict[str, Any]) -> str:
    r = http.get(base + RULES, params={"rule_id": body["rule_id"]})
    if r.status_code == 404:
        r = http.post(base + RULES, json=body)
        verb = "created"
    elif r.status_code == 200:
        current = r.json()
        ours = {k: v for k, v in body.items() if k != "enabled"}  # the switch is the user's
        if _subset(ours, current):
            return "unchanged"
        if current.get("type") == body["type"]:
            r = http.patch(base + RULES, json=ours)
        else:  # a patch keeps the type: replace the rule (its exceptions and actions go with it)
            r = http.put(base + RULES, json={**ours, "enabled": current.get("enabled", body["enabled"])})
        verb = "updated"
    else:
        verb = ""
    if r.status_code < 300 and verb:
        return verb
    return f"FAILED: HTTP {r.status_code}: {_kibana_message(r)}"


def _kibana_message(r: Any) -> str:
    try:
        body = r.json()
    except ValueError:
        return str(r.text)[:300]
    return str(body.get("message", body))[:300] if isinstance(body, dict) else str(body)[:300]


def _kibana_leftovers(report: Report, http: Any, base: str, ours: set[str]) -> None:
    page, seen = 1, 0
    while True:
        r = http.get(base + RULES + "/_find", params={"filter": f'alert.attributes.tags:"{TAG}"',
                                                      "per_page": SEARCH_PAGE, "page": page})
        if r.status_code != 200:
            report.say(f"  (could not list earlier rules of ours: HTTP {r.status_code}: {_kibana_message(r)})")
            return
        found = r.json()
        for rule in found.get("data", []):
            if rule.get("rule_id") not in ours:
                report.say(f"  rule {rule.get('rule_id')} ({rule.get('name')}): installed by an earlier setup, no "
                           "longer loaded: left as it is (disable or delete it in Kibana)")
        seen += len(found.get("data", []))
        if not found.get("data") or seen >= int(found.get("total", 0)):
            return
        page += 1


# -------------------------------------------------------------------------------------- OpenSearch
def digest(monitor: dict[str, Any]) -> str:
    """Our monitor without its switch and without the digest itself."""
    plain = {k: v for k, v in monitor.items() if k != "enabled"}
    meta = dict(plain.get("ui_metadata", {}).get("wafpipe", {}))
    meta.pop("hash", None)
    plain["ui_metadata"] = {**plain.get("ui_metadata", {}), "wafpipe": meta}
    return hashlib.sha256(orjson.dumps(plain, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _stamped(monitor: dict[str, Any]) -> dict[str, Any]:
    meta = {**monitor["ui_metadata"]["wafpipe"], "hash": digest(monitor)}
    return {**monitor, "ui_metadata": {**monitor["ui_metadata"], "wafpipe": meta}}


def install_monitors(report: Report, client: ClusterClient | None, base: str, bundle: RuleBundle) -> None:
    """OpenSearch alerting monitors on the cluster of ``client`` (None on a dry run)."""
    if bundle.unavailable:
        report.say(f"  detection rules: not installed: {bundle.unavailable}")
        return
    if report.dry_run or client is None:
        for monitor in bundle.monitors:
            report.show_request("POST", base.rstrip("/") + MONITORS, _stamped(monitor))
        report.say(f"(a monitor the cluster already has is sent as PUT {base.rstrip('/')}{MONITORS}/<its id> "
                   "instead; found when run)\n")
        _skipped(report, bundle.skipped_opensearch)
        return
    try:
        existing = _our_monitors(client)
    except Transient as exc:
        report.failures += 1
        report.say(f"  alerting monitors: FAILED: {exc}")
        return
    if existing is None:
        report.say("  alerting monitors: skipped: the cluster has no Alerting plugin (_plugins/_alerting answered "
                   "\"no handler\"), so the rules are not installed there; wafpipe's own detections still run")
        _skipped(report, bundle.skipped_opensearch)
        return
    tally = _Tally()
    for monitor in bundle.monitors:
        verb = _monitor(client, _stamped(monitor), existing)
        tally.add(verb, report)
        report.say(f"  monitor {monitor['name']}: {verb}")
    ours = {m["ui_metadata"]["wafpipe"]["rule_id"] for m in bundle.monitors}
    names = {f"name:{m['name']}" for m in bundle.monitors}
    for key, (monitor_id, source) in sorted(existing.items()):
        if not key.startswith("name:") and key not in ours and f"name:{source.get('name')}" not in names:
            report.say(f"  monitor {source.get('name')} ({monitor_id}): installed by an earlier setup, no longer "
                       "loaded: left as it is (disable or delete it in OpenSearch Dashboards)")
    _skipped(report, bundle.skipped_opensearch)
    report.say(tally.line(len(bundle.skipped_opensearch)))


def _our_monitors(client: ClusterClient) -> dict[str, tuple[str, dict[str, Any]]] | None:
    """``rule id → (monitor id, monitor with _seq_no/_primary_term)`` of the monitors we installed,
    and ``name → …`` of the others (an edit in OpenSearch Dashboards replaces ``ui_metadata``, and
    with it our mark: the name still finds the monitor); None when the cluster has no alerting plugin."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    start = 0
    while True:
        body = {"from": start, "size": SEARCH_PAGE, "seq_no_primary_term": True,
                "query": {"bool": {"filter": [{"term": {"monitor.type": "monitor"}}]}}}
        status, resp = client.request("POST", f"{MONITORS}/_search", body)
        if status == 400 and "no handler" in str(resp):
            return None
        if status == 404:  # no monitor yet: the config index is made with the first one
            return out
        if status != 200:
            raise Transient(f"searching the monitors: HTTP {status}: {_os_reason(client, resp)}", status)
        hits = resp.get("hits", {}).get("hits", [])
        for hit in hits:
            source = hit.get("_source") or {}
            rule_id = ((source.get("ui_metadata") or {}).get("wafpipe") or {}).get("rule_id")
            key = rule_id or f"name:{source.get('name')}"
            if key not in out:
                out[key] = (hit["_id"], {**source, "_seq_no": hit.get("_seq_no"),
                                         "_primary_term": hit.get("_primary_term")})
        if len(hits) < SEARCH_PAGE:
            return out
        start += SEARCH_PAGE


def _monitor(client: ClusterClient, monitor: dict[str, Any], existing: dict[str, tuple[str, dict[str, Any]]]) -> str:
    found = existing.get(monitor["ui_metadata"]["wafpipe"]["rule_id"]) or existing.get(f"name:{monitor['name']}")
    try:
        if found is None:
            status, resp = client.request("POST", MONITORS, monitor)
            verb = "created"
        else:
            monitor_id, current = found
            if (current.get("ui_metadata") or {}).get("wafpipe", {}).get("hash") == digest(monitor):
                return "unchanged"
            path = f"{MONITORS}/{monitor_id}"
            if current.get("_seq_no") is not None:
                path += f"?if_seq_no={current['_seq_no']}&if_primary_term={current['_primary_term']}"
            status, resp = client.request("PUT", path, {**monitor, "enabled": current.get("enabled", True)})
            verb = "updated"
    except Transient as exc:
        return f"FAILED: {exc}"
    return verb if status < 300 else f"FAILED: HTTP {status}: {_os_reason(client, resp)}"


def _os_reason(client: ClusterClient, resp: Any) -> str:
    detail = error_reason(resp["error"]) if isinstance(resp, dict) and "error" in resp else str(resp)[:300]
    return client.redact(detail)
