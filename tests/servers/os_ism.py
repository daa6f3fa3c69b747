"""OpenSearch's Index State Management policy API, for the stand-in (``ElasticsearchServer(ism=True)``).

The real OpenSearch test node has no ISM plugin: the plugin and its job scheduler are not published
on Maven Central (tried 2026-12-03: ``org.opensearch.plugin:opensearch-index-management`` and
``org.opensearch.plugin:opensearch-job-scheduler`` at 2.19.0.0 are not found; only the scheduler's SPI
jar is). So what ``wafpipe elastic setup`` does with an ISM policy is tested here, against
OpenSearch's documented behaviour of ``/_plugins/_ism/policies/<id>``:

* ``GET`` answers ``_id``, ``_version``, ``_seq_no``, ``_primary_term`` and the ``policy`` with its
  ``policy_id``; an unknown id is 404 ``status_exception`` "Policy not found".
* ``PUT`` of a new id creates it (201). ``PUT`` of an existing id must carry ``if_seq_no`` and
  ``if_primary_term`` of the stored version (optimistic concurrency): without them it is 409
  "document already exists", with stale ones 409 naming both pairs.
* A policy must have states, a ``default_state`` among them, and transitions to known states.
* Two policies whose ``ism_template`` s have overlapping index patterns must have different
  priorities (ISM picks the higher one for a new index): the same priority is 400, as ISM's
  ``validateFormat``/``findConflictingPolicyTemplates`` refuse it.

Only the stored policy is modelled; no policy is ever run against an index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .es_errors import EsError, illegal_argument
from .es_templates import patterns_overlap


@dataclass
class _Stored:
    policy: dict[str, Any]
    seq_no: int
    version: int


PRIMARY_TERM = 1  # one node, never failed over


def _conflict(reason: str) -> EsError:
    return EsError(409, "version_conflict_engine_exception", reason)


def _validate(body: Any) -> dict[str, Any]:
    policy = body.get("policy") if isinstance(body, dict) else None
    if not isinstance(policy, dict):
        raise illegal_argument("Required [policy]")
    states = policy.get("states")
    if not isinstance(states, list) or not states:
        raise illegal_argument("Policy must have at least one state")
    names = [s.get("name") for s in states if isinstance(s, dict)]
    if policy.get("default_state") not in names:
        raise illegal_argument("Policy default_state must be one of the states")
    for state in states:
        for transition in state.get("transitions") or []:
            if transition.get("state_name") not in names:
                raise illegal_argument(f"Policy has a transition to a state that does not exist: "
                                       f"[{transition.get('state_name')}]")
    return policy


class IsmPolicies:
    """The policies of one stand-in cluster; callers hold the cluster lock."""

    def __init__(self) -> None:
        self._stored: dict[str, _Stored] = {}
        self._seq_no = -1

    def _answer(self, name: str, stored: _Stored, *, nested: bool) -> dict[str, Any]:
        policy = {"policy_id": name, **stored.policy}
        return {"_id": name, "_version": stored.version, "_primary_term": PRIMARY_TERM, "_seq_no": stored.seq_no,
                "policy": {"policy": policy} if nested else policy}

    def get(self, name: str) -> tuple[int, Any]:
        stored = self._stored.get(name)
        if stored is None:
            raise EsError(404, "status_exception", "Policy not found")
        return 200, self._answer(name, stored, nested=False)

    def _conflicts(self, name: str, policy: dict[str, Any]) -> None:
        for template in policy.get("ism_template") or []:
            for other, stored in self._stored.items():
                for theirs in stored.policy.get("ism_template") or []:
                    same = other != name and theirs.get("priority", 0) == template.get("priority", 0)
                    if same and any(patterns_overlap(a, b) for a in template.get("index_patterns", [])
                                    for b in theirs.get("index_patterns", [])):
                        raise illegal_argument(
                            f"New policy {name} has an ISM template with index pattern {template['index_patterns']} "
                            f"matching existing policy templates, please use a different priority than "
                            f"{template.get('priority', 0)}")

    def put(self, name: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
        policy = _validate(body)
        self._conflicts(name, policy)
        current = self._stored.get(name)
        if current is not None:
            if "if_seq_no" not in query or "if_primary_term" not in query:
                raise _conflict(f"[{name}]: version conflict, document already exists (current version "
                                f"[{current.version}])")
            seq_no, term = int(query["if_seq_no"]), int(query["if_primary_term"])
            if (seq_no, term) != (current.seq_no, PRIMARY_TERM):
                raise _conflict(f"[{name}]: version conflict, required seqNo [{seq_no}], primary term [{term}]. "
                                f"current document has seqNo [{current.seq_no}] and primary term [{PRIMARY_TERM}]")
        self._seq_no += 1
        stored = _Stored(policy, self._seq_no, current.version + 1 if current else 1)
        self._stored[name] = stored
        return (200 if current else 201), self._answer(name, stored, nested=True)

    def delete(self, name: str) -> tuple[int, Any]:
        if self._stored.pop(name, None) is None:
            return 404, {"_index": ".opendistro-ism-config", "_id": name, "result": "not_found"}
        self._seq_no += 1
        return 200, {"_index": ".opendistro-ism-config", "_id": name, "result": "deleted"}
