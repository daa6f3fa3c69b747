"""Kibana 8.x's detection engine rules API, for the Kibana stand-in (:mod:`tests.servers.kibana`).

Modelled on Kibana's own request schema (``security_solution/common/api/detection_engine/model/
rule_schema/rule_schemas.schema.yaml`` and ``common_attributes.schema.yaml``) and route handlers:

* every rule needs ``name`` and ``description`` (non-empty strings), ``risk_score`` (an integer 0–100),
  ``severity`` (``low`` | ``medium`` | ``high`` | ``critical``) and ``type``; ``query`` rules take
  ``language`` ``kuery`` | ``lucene`` (default ``kuery``) and an optional ``query`` (default ""),
  ``eql`` rules need ``query`` and ``language: eql``, ``esql`` rules ``query`` and ``language: esql``
  and have no ``index``/``data_view_id``/``filters`` (fields a type does not have are dropped, as
  the schema's parser strips unknown keys); ``threat`` entries need ``framework`` and a ``tactic``
  with ``id``/``name``/``reference``, techniques and sub-techniques the same three;
* schema failures answer hapi's ``{"statusCode": 400, "error": "Bad Request", "message":
  "[request body]: …"}``; the handlers' own errors answer ``{"message", "status_code"}``:
  ``rule_id: "x" already exists`` (409 on create), ``rule_id: "x" not found`` / ``id: "x" not found``
  (404), ``either "id" or "rule_id" must be set`` (400);
* a created rule gets ``id`` (a UUID), ``immutable: false``, ``rule_source: {"type": "internal"}``,
  ``revision`` 0 (each update adds one), ``created_*``/``updated_*``, and the defaults of every field
  it did not give (``enabled`` true, ``interval`` 5m, ``from`` now-6m, ``max_signals`` 100, empty lists);
* ``PUT`` replaces the rule (what it does not give returns to its default: exceptions, actions,
  ``enabled``…), ``PATCH`` changes only what it gives and is validated as the merged rule;
* ``GET _find`` takes ``page``, ``per_page`` and a ``filter`` of the form
  ``alert.attributes.tags:"x"`` (the only KQL this stand-in reads) and answers
  ``{"page", "perPage", "total", "data"}``.

Not modelled: ``_import``/``_export``, ``_bulk_action``, running rules, exceptions lists.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from .kibana_store import KibanaError, _now

TYPES = {"query", "eql", "esql", "threshold", "threat_match", "machine_learning", "new_terms", "saved_query"}
SEVERITIES = ("low", "medium", "high", "critical")
COMMON = {
    "name", "description", "risk_score", "severity", "type", "rule_id", "id", "enabled", "tags", "interval",
    "from", "to", "author", "false_positives", "references", "max_signals", "threat", "note", "setup", "license",
    "version", "meta", "actions", "exceptions_list", "risk_score_mapping", "severity_mapping", "throttle",
    "building_block_type", "timestamp_override", "rule_name_override", "output_index", "namespace",
    "investigation_fields", "related_integrations", "required_fields", "timeline_id", "timeline_title",
    "alert_suppression", "response_actions",
}
BY_TYPE = {  # fields of one type besides COMMON
    "query": {"query", "language", "index", "data_view_id", "filters", "saved_id"},
    "saved_query": {"query", "language", "index", "data_view_id", "filters", "saved_id"},
    "eql": {"query", "language", "index", "data_view_id", "filters", "event_category_override",
            "tiebreaker_field", "timestamp_field"},
    "esql": {"query", "language"},
    "threshold": {"query", "language", "index", "data_view_id", "filters", "saved_id", "threshold"},
    "threat_match": {"query", "language", "index", "data_view_id", "filters", "threat_index", "threat_query",
                     "threat_mapping", "threat_language", "threat_filters", "threat_indicator_path"},
    "machine_learning": {"anomaly_threshold", "machine_learning_job_id"},
    "new_terms": {"query", "language", "index", "data_view_id", "filters", "new_terms_fields",
                  "history_window_start"},
}
DEFAULTS: dict[str, Any] = {
    "enabled": True, "interval": "5m", "from": "now-6m", "to": "now", "max_signals": 100, "tags": [],
    "author": [], "false_positives": [], "references": [], "threat": [], "exceptions_list": [], "actions": [],
    "risk_score_mapping": [], "severity_mapping": [], "version": 1, "setup": "", "related_integrations": [],
    "required_fields": [],
}
_TAG_FILTER = re.compile(r'\s*alert\.attributes\.tags\s*:\s*(?:"(?P<q>[^"]*)"|(?P<bare>\S+))\s*\Z')


class RuleError(KibanaError):
    """An error of the detection engine's route handlers: ``{"message", "status_code"}``."""

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "status_code": self.status}


def _schema(problems: list[str]) -> KibanaError:
    return KibanaError(400, "[request body]: " + ", ".join(problems))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _threat_problems(threat: Any) -> list[str]:
    if not isinstance(threat, list):
        return ["threat: Expected array"]
    out = []
    for i, entry in enumerate(threat):
        if not isinstance(entry, dict) or not isinstance(entry.get("framework"), str):
            out.append(f"threat.{i}.framework: Required")
            continue
        parts = [("tactic", entry.get("tactic"))] + [(f"technique.{j}", t) for j, t in
                                                      enumerate(entry.get("technique") or [])]
        for j, technique in enumerate(entry.get("technique") or []):
            parts += [(f"technique.{j}.subtechnique.{k}", s)
                      for k, s in enumerate((technique or {}).get("subtechnique") or [])]
        for where, part in parts:
            for key in ("id", "name", "reference"):
                if not isinstance(part, dict) or not isinstance(part.get(key), str):
                    out.append(f"threat.{i}.{where}.{key}: Required")
    return out


def validate(body: Any) -> dict[str, Any]:
    """The rule as Kibana's schema parses it (unknown keys dropped), or a 400."""
    if not isinstance(body, dict):
        raise _schema(["Expected object, received " + type(body).__name__])
    rtype = body.get("type")
    if rtype not in TYPES:
        raise _schema([f"type: Invalid discriminator value. Expected {' | '.join(sorted(TYPES))}"])
    problems = []
    for key in ("name", "description"):
        if not isinstance(body.get(key), str) or not body[key]:
            problems.append(f"{key}: Required" if key not in body else f"{key}: String must contain at least 1 "
                            "character(s)")
    risk = body.get("risk_score")
    if isinstance(risk, bool) or not isinstance(risk, int) or not 0 <= risk <= 100:
        problems.append("risk_score: Required" if risk is None else "risk_score: Number must be an integer 0-100")
    if body.get("severity") not in SEVERITIES:
        problems.append("severity: Invalid enum value. Expected 'low' | 'medium' | 'high' | 'critical'")
    language = body.get("language")
    if rtype in ("eql", "esql"):
        if not isinstance(body.get("query"), str):
            problems.append("query: Required")
        if language != rtype:
            problems.append(f"language: Invalid enum value. Expected '{rtype}'")
    elif rtype in ("query", "saved_query", "threshold", "new_terms") and language not in (None, "kuery", "lucene"):
        problems.append("language: Invalid enum value. Expected 'kuery' | 'lucene'")
    for key in ("tags", "author", "false_positives", "references", "index"):
        if key in body and not _strings(body[key]):
            problems.append(f"{key}: Expected array of strings")
    for key in ("interval", "from", "to", "note", "license", "rule_id", "setup"):
        if key in body and not isinstance(body[key], str):
            problems.append(f"{key}: Expected string")
    if "enabled" in body and not isinstance(body["enabled"], bool):
        problems.append("enabled: Expected boolean")
    if "max_signals" in body and (not isinstance(body["max_signals"], int) or body["max_signals"] < 1):
        problems.append("max_signals: Number must be greater than or equal to 1")
    if "threat" in body:
        problems += _threat_problems(body["threat"])
    if problems:
        raise _schema(problems)
    return {k: v for k, v in body.items() if k in COMMON | BY_TYPE[rtype]}


class DetectionRules:
    """The rules of every space: ``(space, rule_id) → rule`` as Kibana answers it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rules: dict[tuple[str, str], dict[str, Any]] = {}

    def _find_one(self, space: str, rule_id: str | None, oid: str | None) -> dict[str, Any]:
        if rule_id is None and oid is None:
            raise RuleError(400, 'either "id" or "rule_id" must be set')
        for (sp, rid), rule in self.rules.items():
            if sp == space and (rid == rule_id if rule_id is not None else rule["id"] == oid):
                return rule
        raise RuleError(404, f'rule_id: "{rule_id}" not found' if rule_id is not None else f'id: "{oid}" not found')

    def _stored(self, rule: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        now = _now()
        out = {**DEFAULTS, **({"query": "", "language": "kuery", "filters": []}
                              if rule["type"] in ("query", "saved_query") else {}), **rule}
        out.update(id=old["id"] if old else str(uuid.uuid4()), rule_id=rule.get("rule_id") or (
            old["rule_id"] if old else str(uuid.uuid4())), immutable=False, rule_source={"type": "internal"},
            created_at=old["created_at"] if old else now, created_by="elastic", updated_at=now,
            updated_by="elastic", revision=old["revision"] + 1 if old else 0)
        return out

    def get(self, space: str, rule_id: str | None, oid: str | None) -> dict[str, Any]:
        with self.lock:
            return self._find_one(space, rule_id, oid)

    def create(self, space: str, body: Any) -> dict[str, Any]:
        rule = validate(body)
        with self.lock:
            if rule.get("rule_id") is not None and (space, rule["rule_id"]) in self.rules:
                raise RuleError(409, f'rule_id: "{rule["rule_id"]}" already exists')
            stored = self._stored(rule, None)
            self.rules[(space, stored["rule_id"])] = stored
            return stored

    def update(self, space: str, body: Any) -> dict[str, Any]:
        """``PUT``: the whole rule again."""
        rule = validate(body)
        with self.lock:
            old = self._find_one(space, rule.get("rule_id"), rule.get("id"))
            stored = self._stored({**rule, "rule_id": old["rule_id"]}, old)
            self.rules[(space, old["rule_id"])] = stored
            return stored

    def patch(self, space: str, body: Any) -> dict[str, Any]:
        """``PATCH``: only the fields given; the merged rule must be valid."""
        if not isinstance(body, dict):
            raise _schema(["Expected object"])
        with self.lock:
            old = self._find_one(space, body.get("rule_id"), body.get("id"))
            keep = {k: v for k, v in old.items() if k in COMMON | BY_TYPE.get(str(old["type"]), set())}
            rule = validate({**keep, **body, "rule_id": old["rule_id"]})
            stored = self._stored(rule, old)
            self.rules[(space, old["rule_id"])] = stored
            return stored

    def delete(self, space: str, rule_id: str | None, oid: str | None) -> dict[str, Any]:
        with self.lock:
            rule = self._find_one(space, rule_id, oid)
            del self.rules[(space, rule["rule_id"])]
            return rule

    def find(self, space: str, query: dict[str, str]) -> dict[str, Any]:
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "20"))
        if page < 1 or per_page < 0:
            raise _schema(["page: Number must be greater than or equal to 1"])
        text = query.get("filter", "")
        match = _TAG_FILTER.match(text) if text else None
        if text and match is None:
            raise RuleError(400, f"the test Kibana reads only alert.attributes.tags:\"…\" filters, not {text!r}")
        tag = (match.group("q") if match.group("q") is not None else match.group("bare")) if match else None
        with self.lock:
            found = [r for (sp, _rid), r in self.rules.items() if sp == space and (tag is None or tag in r["tags"])]
        found.sort(key=lambda r: (r["name"], r["rule_id"]))
        return {"page": page, "perPage": per_page, "total": len(found),
                "data": found[(page - 1) * per_page: page * per_page]}
