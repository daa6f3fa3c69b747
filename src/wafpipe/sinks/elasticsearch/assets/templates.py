"""Index templates, component templates and lifecycle policies, generated from the field table.

Why generated: :func:`wafpipe.fields.table.emitted_fields` lists every field the mapping can emit with
its type, so the template cannot drift from the code (``tests/test_template_coverage.py`` fails when a
field has no mapping). Why self-contained: the index template composes only our own component
templates, never Elasticsearch's built-in ``logs@…``/``ecs@…``, so it installs on any 8.x cluster and
every field's type is ours to test (DESIGN §5).

Choices, each for a reason:

* ``dynamic: false`` — an unknown field stays in ``_source`` but gets no mapping, so future Imperva
  keys cannot explode the mapping or make documents fail; the vendor catch-alls
  (``imperva.waf.extensions``, ``raw``, ``labels`` …) are ``flattened`` for the same reason.
* ``keyword`` fields have ``ignore_above: 1024`` (ECS's value) and ``flattened`` fields too: an
  over-long value is kept in ``_source`` and not indexed instead of failing the document with
  "immense term".
* ``event.original`` is stored but not indexed (``index: false, doc_values: false``), as in ECS.
* ``url.original``/``url.full`` are ``wildcard`` with a ``match_only_text`` sub-field, and
  ``user_agent.original`` a keyword with one, as in ECS.
* priority 200, above the built-in ``logs`` template (``logs-*-*``, priority 100) that would
  otherwise claim ``logs-imperva.waf-*``.

OpenSearch has other names for some types, so :func:`mappings` takes a ``flavor``: ``flattened`` →
``flat_object``, ``match_only_text`` → ``text``, ``wildcard`` → ``keyword``, ``constant_keyword`` →
``keyword`` (OpenSearch's needs its value up front). Every asset carries ``_meta.wafpipe_hash``, a
digest of its own body, so ``elastic setup`` can tell "unchanged" without comparing bodies the
cluster normalises.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import orjson

from wafpipe.fields import DATASET, emitted_fields

INDEX_PATTERN = f"logs-{DATASET}-*"
TEMPLATE = f"logs-{DATASET}"
MAPPINGS_COMPONENT = f"{TEMPLATE}@mappings"
SETTINGS_COMPONENT = f"{TEMPLATE}@settings"
POLICY = f"logs-{DATASET}"
PRIORITY = 200
NAMESPACE_PRIORITY = PRIORITY + 20  # a namespace's own retention, over the catch-all (and alias templates)
IGNORE_ABOVE = 1024
ASSET_VERSION = 2  # 2: the document shape of the native core (a value lives once)

# ECS types where ECS differs from the plain type the field table gives, plus multi-fields.
_OVERRIDES: dict[str, dict[str, Any]] = {
    "event.original": {"type": "keyword", "index": False, "doc_values": False},
    "url.original": {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}},
    "url.full": {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}},
    "user_agent.original": {"type": "keyword", "ignore_above": IGNORE_ABOVE,
                            "fields": {"text": {"type": "match_only_text"}}},
}
_OPENSEARCH_TYPES = {"flattened": "flat_object", "match_only_text": "text", "wildcard": "keyword",
                     "constant_keyword": "keyword"}


def field_mapping(path: str, es_type: str, flavor: str = "elasticsearch") -> dict[str, Any]:
    """The mapping of one field (``flavor``: ``elasticsearch`` or ``opensearch``)."""
    spec = copy.deepcopy(_OVERRIDES.get(path)) or {"type": es_type}
    if spec["type"] == "keyword" and "index" not in spec:
        spec.setdefault("ignore_above", IGNORE_ABOVE)
    if spec["type"] == "flattened":
        spec["ignore_above"] = IGNORE_ABOVE
    if flavor == "opensearch":
        spec = _to_opensearch(spec)
    return spec


def _to_opensearch(spec: dict[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    kind = out["type"] = _OPENSEARCH_TYPES.get(spec["type"], spec["type"])
    if kind == "flat_object":
        out.pop("ignore_above", None)
    if spec["type"] == "wildcard":
        out["ignore_above"] = 8191  # 8191 × 4 UTF-8 bytes stays under Lucene's 32766-byte term limit
    if "fields" in out:
        out["fields"] = {k: _to_opensearch(v) for k, v in out["fields"].items()}
    return out


def properties(flavor: str = "elasticsearch") -> dict[str, Any]:
    """Nested ``properties`` for every emitted field."""
    root: dict[str, Any] = {}
    for path, es_type in sorted(emitted_fields().items()):
        parts = path.split(".")
        node = root
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {"properties": {}})
            if "properties" not in child:
                raise ValueError(f"{'.'.join(parts[: i + 1])} is a {child.get('type')} field and also "
                                 f"the parent of {path}: the field table is inconsistent")
            node = child["properties"]
        if parts[-1] in node:
            raise ValueError(f"{path} is both a field and an object in the field table")
        node[parts[-1]] = field_mapping(path, es_type, flavor)
    return root


def mappings(flavor: str = "elasticsearch") -> dict[str, Any]:
    """The mappings, with their own digest in ``_meta.wafpipe_hash``: the cluster copies mapping
    ``_meta`` into every index made from the template, so each index says which shape it was made
    for, and ``elastic setup`` rolls over a stream whose write index has another (:func:`mappings_hash`)."""
    return with_hash({"dynamic": False, "date_detection": False, "properties": properties(flavor)})


def mappings_hash(index_mappings: dict[str, Any]) -> str | None:
    """The digest an index's mappings (as ``GET <index>/_mapping`` shows them) were made with."""
    return (index_mappings.get("_meta") or {}).get("wafpipe_hash")


def leaf_types(props: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a ``properties`` tree back to ``{path: type}`` (multi-fields included)."""
    out: dict[str, str] = {}
    for name, spec in props.items():
        path = f"{prefix}{name}"
        if "properties" in spec and "type" not in spec:
            out.update(leaf_types(spec["properties"], path + "."))
            continue
        out[path] = spec["type"]
        for sub, sspec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sspec["type"]
    return out


def with_hash(body: dict[str, Any], meta_key: str = "_meta") -> dict[str, Any]:
    """``body`` with ``<meta_key>.wafpipe_hash`` set to the digest of the rest of it."""
    meta = dict(body.get(meta_key) or {})
    meta.pop("wafpipe_hash", None)
    clean = {**body, meta_key: meta}
    digest = hashlib.sha256(orjson.dumps(clean, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return {**body, meta_key: {**meta, "wafpipe_hash": digest}}


def _meta(what: str) -> dict[str, Any]:
    return {"managed_by": "wafpipe", "version": ASSET_VERSION, "description": what}


# ---------------------------------------------------------------------------------- Elasticsearch
def es_mappings_component() -> dict[str, Any]:
    return with_hash({"template": {"mappings": mappings()}, "version": ASSET_VERSION,
                      "_meta": _meta("ECS mappings for Imperva Cloud WAF documents written by wafpipe")})


def es_settings_component(policy: str = POLICY) -> dict[str, Any]:
    settings = {"index": {"lifecycle": {"name": policy}, "codec": "best_compression"}}
    return with_hash({"template": {"settings": settings}, "version": ASSET_VERSION,
                      "_meta": _meta("index settings and lifecycle policy for logs-imperva.waf-*")})


def es_index_template() -> dict[str, Any]:
    return with_hash({
        "index_patterns": [INDEX_PATTERN],
        "composed_of": [SETTINGS_COMPONENT, MAPPINGS_COMPONENT],
        "priority": PRIORITY,
        "data_stream": {},
        "version": ASSET_VERSION,
        "_meta": _meta("Imperva Cloud WAF logs from wafpipe (self-contained: no built-in components)"),
    })


def namespace_name(namespace: str) -> str:
    """The lifecycle policy and index template of a namespace with its own retention: named like
    its data stream, so the policy that governs ``logs-imperva.waf-payments`` is found by name, and
    a change of that namespace's retention updates the one policy its existing indices follow."""
    return f"logs-{DATASET}-{namespace}"


def namespace_patterns(namespace: str) -> list[str]:
    """The names of one namespace's data stream (or rollover alias) and its alias-mode indices;
    never ``…-<ns>*``, which would also claim ``…-<ns>x``, another namespace."""
    return [namespace_name(namespace), f"{namespace_name(namespace)}-*"]


def es_namespace_template(namespace: str) -> dict[str, Any]:
    """The index template of a namespace with its own retention: our components, and its own
    ``index.lifecycle.name`` (a template's own settings win over its components'), at a priority
    above :func:`es_index_template` so Elasticsearch picks it for this namespace's stream."""
    policy = namespace_name(namespace)
    return with_hash({
        "index_patterns": namespace_patterns(namespace),
        "composed_of": [SETTINGS_COMPONENT, MAPPINGS_COMPONENT],
        "template": {"settings": {"index": {"lifecycle": {"name": policy}}}},
        "priority": NAMESPACE_PRIORITY,
        "data_stream": {},
        "version": ASSET_VERSION,
        "_meta": _meta(f"Imperva Cloud WAF logs of namespace {namespace}: lifecycle policy {policy}"),
    })


WARM_AFTER_DAYS = 7  # with a compliance profile: indices past a week are merged and made read-only


def _tiers(delete_after_days: int, cold_after_days: int | None) -> str:
    if cold_after_days is None:
        return f"delete after {delete_after_days} days"
    return (f"warm after {WARM_AFTER_DAYS} days, cold after {cold_after_days}, delete after "
            f"{delete_after_days} days")


def ilm_policy(delete_after_days: int = 30, rollover_max_age: str = "1d", rollover_max_primary_shard_size: str = "50gb",
               cold_after_days: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The ILM policy: roll over, then delete; with ``cold_after_days`` (a compliance profile) hot →
    warm (read-only, merged to one segment) → cold (lowest recovery priority) → delete."""
    phases: dict[str, Any] = {
        "hot": {"min_age": "0ms", "actions": {
            "rollover": {"max_age": rollover_max_age, "max_primary_shard_size": rollover_max_primary_shard_size},
            "set_priority": {"priority": 100}}},
    }  # fmt: skip
    if cold_after_days is not None:
        phases["warm"] = {"min_age": f"{WARM_AFTER_DAYS}d", "actions": {
            "readonly": {}, "forcemerge": {"max_num_segments": 1}, "set_priority": {"priority": 50}}}  # fmt: skip
        phases["cold"] = {"min_age": f"{cold_after_days}d", "actions": {"set_priority": {"priority": 0}}}
    phases["delete"] = {"min_age": f"{delete_after_days}d", "actions": {"delete": {}}}
    policy = {"phases": phases, "_meta": _meta(f"roll over daily or at {rollover_max_primary_shard_size}, "
                                               + _tiers(delete_after_days, cold_after_days))}  # fmt: skip
    return {"policy": with_hash(policy)}


# ---------------------------------------------------------------------------------- OpenSearch
def os_mappings_component() -> dict[str, Any]:
    return with_hash({"template": {"mappings": mappings("opensearch")}, "version": ASSET_VERSION,
                      "_meta": _meta("ECS mappings (OpenSearch types) for Imperva Cloud WAF documents")})


def os_settings_component() -> dict[str, Any]:
    return with_hash({"template": {"settings": {"index": {"codec": "best_compression"}}},
                      "version": ASSET_VERSION, "_meta": _meta("index settings for logs-imperva.waf-*")})


def os_index_template(use_data_stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "index_patterns": [INDEX_PATTERN],
        "composed_of": [SETTINGS_COMPONENT, MAPPINGS_COMPONENT],
        "priority": PRIORITY,
        "version": ASSET_VERSION,
        "_meta": _meta("Imperva Cloud WAF logs from wafpipe"),
    }
    if use_data_stream:
        body["data_stream"] = {"timestamp_field": {"name": "@timestamp"}}
    return with_hash(body)


def os_alias_template(alias: str) -> dict[str, Any]:
    """Rollover-alias mode: one template per alias, because ISM reads the alias to roll over from
    the index setting ``plugins.index_state_management.rollover_alias``."""
    return with_hash({
        "index_patterns": [f"{alias}-*"],
        "composed_of": [SETTINGS_COMPONENT, MAPPINGS_COMPONENT],
        "priority": PRIORITY + 10,
        "template": {"settings": {"plugins.index_state_management.rollover_alias": alias}},
        "version": ASSET_VERSION,
        "_meta": _meta(f"rollover alias {alias}"),
    })


def ism_policy(delete_after_days: int = 30, rollover_max_age: str = "1d", rollover_max_primary_shard_size: str = "50gb",
               cold_after_days: int | None = None, namespace: str | None = None) -> dict[str, Any]:  # fmt: skip
    """An ISM policy attached to new ``logs-imperva.waf-*`` indices (and data stream backing indices)
    by its ``ism_template``; with ``cold_after_days`` (a compliance profile) hot → warm (read-only,
    merged) → cold (lowest priority) → delete, as the ILM policy. With ``namespace``, the policy of
    that namespace's own retention: its ``ism_template`` names only its indices, at a higher priority,
    which ISM requires of overlapping templates and uses to choose. ISM policies have no ``_meta``;
    the hash rides in the description."""
    def state(name: str, actions: list[dict[str, Any]], after: tuple[str, int] | None) -> dict[str, Any]:
        moves = [{"state_name": after[0], "conditions": {"min_index_age": f"{after[1]}d"}}] if after else []
        return {"name": name, "actions": actions, "transitions": moves}

    rollover = {"rollover": {"min_index_age": rollover_max_age, "min_primary_shard_size": rollover_max_primary_shard_size}}
    if cold_after_days is None:
        states = [state("hot", [rollover], ("delete", delete_after_days))]
    else:
        states = [state("hot", [rollover], ("warm", WARM_AFTER_DAYS)),
                  state("warm", [{"read_only": {}}, {"force_merge": {"max_num_segments": 1}},
                                 {"index_priority": {"priority": 50}}], ("cold", cold_after_days)),
                  state("cold", [{"index_priority": {"priority": 0}}], ("delete", delete_after_days))]  # fmt: skip
    states.append(state("delete", [{"delete": {}}], None))
    if namespace is None:
        patterns, priority, whose = [INDEX_PATTERN, f".ds-{INDEX_PATTERN}"], PRIORITY, "logs"
    else:
        name = namespace_name(namespace)
        patterns, priority, whose = [f"{name}-*", f".ds-{name}-*"], NAMESPACE_PRIORITY, f"logs of namespace {namespace}"
    policy: dict[str, Any] = {
        "description": f"wafpipe: Imperva Cloud WAF {whose}, roll over at {rollover_max_age} or "
                       f"{rollover_max_primary_shard_size}, {_tiers(delete_after_days, cold_after_days)}",
        "default_state": "hot",
        "states": states,
        "ism_template": [{"index_patterns": patterns, "priority": priority}],
    }
    digest = hashlib.sha256(orjson.dumps(policy, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    policy["description"] += f" [wafpipe_hash {digest}]"
    return {"policy": policy}


def plain_index_body(flavor: str = "opensearch") -> dict[str, Any]:
    """Settings and mappings for a plain index (test servers without data streams or lifecycles)."""
    return {"settings": {"index": {"codec": "best_compression"}}, "mappings": mappings(flavor)}
