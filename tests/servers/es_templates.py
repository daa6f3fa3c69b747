"""Component templates, composable index templates and ILM policies, with Elasticsearch 8's checks.

Stored as Elasticsearch returns them: mappings normalised (dotted names expanded), settings
normalised to ``index.*`` keys with string values and nested on output. A fresh cluster has the
built-in ``logs`` (``logs-*-*``, priority 100) and ``metrics`` templates and their ``logs``/``metrics``
ILM policies, as a real 8.x node has: a template of ours at priority 100 over ``logs-*-*`` names
collides with ``logs``; one below 100 loses to it.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

from .es_errors import EsError, illegal_argument, java_list, parse_failure, resource_not_found
from .es_mapping import glob_match, merge_mappings, normalize_mappings

_INDEX_TEMPLATE_KEYS = {"index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream",
                        "allow_auto_create", "ignore_missing_component_templates", "deprecated"}
_COMPONENT_KEYS = {"template", "version", "_meta", "deprecated"}
_TEMPLATE_KEYS = {"settings", "mappings", "aliases", "lifecycle", "data_stream_options"}
_PHASE_ACTIONS = {
    "hot": {"rollover", "set_priority", "unfollow", "readonly", "shrink", "forcemerge", "searchable_snapshot",
            "downsample"},
    "warm": {"set_priority", "unfollow", "readonly", "allocate", "migrate", "shrink", "forcemerge", "downsample"},
    "cold": {"set_priority", "unfollow", "readonly", "searchable_snapshot", "allocate", "migrate", "freeze",
             "downsample"},
    "frozen": {"unfollow", "searchable_snapshot"},
    "delete": {"wait_for_snapshot", "delete"},
}
_ALL_ACTIONS = set().union(*_PHASE_ACTIONS.values())
_TIME_VALUE = re.compile(r"-?\d+(?:\.\d+)?(?:nanos|micros|ms|s|m|h|d)\Z")


# -- settings ---------------------------------------------------------------------------------------
def flatten_settings(settings: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(settings, dict):
        return out
    for key, value in settings.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_settings(value, full + "."))
            continue
        if not full.startswith("index.") and not prefix:
            full = "index." + full
        if isinstance(value, list):
            out[full] = [_setting_text(x) for x in value]
        elif value is not None:
            out[full] = _setting_text(value)
    return out


def _setting_text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def nest_settings(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


# -- patterns ---------------------------------------------------------------------------------------
def patterns_overlap(a: str, b: str) -> bool:
    """Whether some name matches both ``*``-patterns (Elasticsearch intersects their automata)."""
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(a) and j == len(b):
            res = True
        elif i < len(a) and a[i] == "*":
            res = go(i + 1, j) or (j < len(b) and go(i, j + 1))
        elif j < len(b) and b[j] == "*":
            res = go(i, j + 1) or (i < len(a) and go(i + 1, j))
        elif i < len(a) and j < len(b):
            res = a[i] == b[j] and go(i + 1, j + 1)
        else:
            res = False
        memo[key] = res
        return res

    return go(0, 0)


def _names(expr: str | None, known: list[str]) -> list[str]:
    if not expr or expr in ("*", "_all"):
        return list(known)
    out: list[str] = []
    for part in expr.split(","):
        out.extend(n for n in known if glob_match(part, n) and n not in out)
    return out


class Templates:
    def __init__(self, builtin: bool = True) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self.index_templates: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        if builtin:
            _install_builtins(self)

    # -- component templates --------------------------------------------------------------------
    def put_component(self, name: str, body: Any, create: bool = False) -> None:
        if not isinstance(body, dict):
            raise parse_failure("[1:1] [component_template] failed to parse, expected an object")
        for key in body:
            if key not in _COMPONENT_KEYS:
                raise parse_failure(f"[1:2] [component_template] unknown field [{key}]")
        if "template" not in body:
            raise illegal_argument("Required [template]")
        if create and name in self.components:
            raise illegal_argument(f"component template [{name}] already exists")
        stored = {**copy.deepcopy(body), "template": self._template_part(body["template"], "component_template")}
        self.components[name] = stored

    def get_components(self, expr: str | None) -> list[dict[str, Any]]:
        names = _names(expr, sorted(self.components))
        if expr and "*" not in expr and not names:
            raise resource_not_found(f"component template matching [{expr}] not found")
        return [{"name": n, "component_template": self._render(self.components[n])} for n in names]

    def delete_component(self, expr: str) -> None:
        names = _names(expr, sorted(self.components))
        if not names:
            raise resource_not_found(expr)
        users = sorted(t for t, body in self.index_templates.items() if set(body.get("composed_of", [])) & set(names))
        if users:
            raise illegal_argument(f"component templates {java_list(names)} cannot be removed as they are still in "
                                   f"use by index templates {java_list(users)}")
        for n in names:
            del self.components[n]

    # -- index templates ------------------------------------------------------------------------
    def put_index_template(self, name: str, body: Any, create: bool = False) -> None:
        if not isinstance(body, dict):
            raise parse_failure("[1:1] [index_template] failed to parse, expected an object")
        for key in body:
            if key not in _INDEX_TEMPLATE_KEYS:
                raise parse_failure(f"[1:2] [index_template] unknown field [{key}]")
        patterns = body.get("index_patterns")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns:
            raise illegal_argument("Required [index_patterns]")
        if create and name in self.index_templates:
            raise illegal_argument(f"index template [{name}] already exists")
        priority = int(body.get("priority") or 0)
        clashes = {
            other: tmpl["index_patterns"]
            for other, tmpl in self.index_templates.items()
            if other != name and int(tmpl.get("priority") or 0) == priority
            and any(patterns_overlap(p, q) for p in patterns for q in tmpl["index_patterns"])
        }
        if clashes:
            raise illegal_argument(
                f"index template [{name}] has index patterns {java_list(patterns)} matching patterns from existing "
                f"templates [{','.join(clashes)}] with patterns "
                f"({','.join(f'{k} => {java_list(p)}' for k, p in clashes.items())}) that have the same priority "
                f"[{priority}], multiple index templates may not match during index creation, please use a "
                "different priority")
        optional = set(body.get("ignore_missing_component_templates") or [])
        missing = [c for c in body.get("composed_of") or [] if c not in self.components and c not in optional]
        if missing:
            raise EsError(400, "invalid_index_template_exception",
                          f"index_template [{name}] invalid, cause [index template [{name}] specifies component "
                          f"templates {java_list(missing)} that do not exist]")
        stored = copy.deepcopy(body)
        stored["index_patterns"] = list(patterns)
        if "template" in body:
            stored["template"] = self._template_part(body["template"], "index_template")
        if "data_stream" in body:
            ds = body["data_stream"] if isinstance(body["data_stream"], dict) else {}
            stored["data_stream"] = {"hidden": bool(ds.get("hidden", False)),
                                     "allow_custom_routing": bool(ds.get("allow_custom_routing", False))}
            mappings = self._compose_body(stored)[1]
            ts = mappings.get("properties", {}).get("@timestamp")
            if ts is not None and ts.get("type") not in ("date", "date_nanos"):
                raise illegal_argument(f"data stream timestamp field [@timestamp] is of type [{ts.get('type', 'object')}]"
                                       ", but [date,date_nanos] is expected")
        else:
            self._compose_body(stored)
        self.index_templates[name] = stored

    def get_index_templates(self, expr: str | None) -> list[dict[str, Any]]:
        names = _names(expr, sorted(self.index_templates))
        if expr and "*" not in expr and not names:
            raise resource_not_found(f"index template matching [{expr}] not found")
        return [{"name": n, "index_template": self._render(self.index_templates[n])} for n in names]

    def delete_index_template(self, expr: str, in_use: dict[str, str]) -> None:
        names = _names(expr, sorted(self.index_templates))
        if not names:
            raise resource_not_found(f"index_template [{expr}] missing")
        users = sorted(ds for ds, tmpl in in_use.items() if tmpl in names)
        if users:
            raise illegal_argument(f"unable to remove composable templates {java_list(names)} as they are in use by a "
                                   f"data streams {java_list(users)}")
        for n in names:
            del self.index_templates[n]

    def find(self, index_name: str) -> str | None:
        """Name of the highest-priority template whose patterns match ``index_name``."""
        best: tuple[int, str] | None = None
        for name, tmpl in self.index_templates.items():
            if any(glob_match(p, index_name) for p in tmpl["index_patterns"]):
                prio = int(tmpl.get("priority") or 0)
                if best is None or prio > best[0]:
                    best = (prio, name)
        return best[1] if best else None

    def compose(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(flat settings, normalised mappings) of an index created from template ``name``."""
        return self._compose_body(self.index_templates[name])

    def _compose_body(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        settings: dict[str, Any] = {}
        mappings: dict[str, Any] = {}
        parts = [self.components[c]["template"] for c in body.get("composed_of") or [] if c in self.components]
        parts.append(body.get("template") or {})
        for part in parts:
            settings.update(part.get("settings", {}))
            mappings = merge_mappings(mappings, part.get("mappings", {}))
        return settings, mappings

    @staticmethod
    def _template_part(part: Any, where: str) -> dict[str, Any]:
        if not isinstance(part, dict):
            raise parse_failure(f"[1:2] [{where}] failed to parse field [template]")
        for key in part:
            if key not in _TEMPLATE_KEYS:
                raise parse_failure(f"[1:14] [template] unknown field [{key}]")
        out = copy.deepcopy(part)
        if "mappings" in part:
            out["mappings"] = normalize_mappings(part["mappings"])
        if "settings" in part:
            out["settings"] = flatten_settings(part["settings"])
        return out

    @staticmethod
    def _render(stored: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(stored)
        tmpl = out.get("template")
        if isinstance(tmpl, dict) and "settings" in tmpl:
            tmpl["settings"] = nest_settings(tmpl["settings"])
        return out

    # -- ILM ------------------------------------------------------------------------------------
    def put_policy(self, name: str, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("policy"), dict):
            raise illegal_argument("Required [policy]")
        unknown = [k for k in body if k != "policy"]
        if unknown:
            raise parse_failure(f"[1:2] [put_lifecycle_request] unknown field [{unknown[0]}]")
        policy = copy.deepcopy(body["policy"])
        for key in policy:
            if key not in ("phases", "_meta", "deprecated"):
                raise parse_failure(f"[1:12] [lifecycle_policy] unknown field [{key}]")
        phases = policy.get("phases") or {}
        for phase, spec in phases.items():
            if phase not in _PHASE_ACTIONS:
                raise illegal_argument(f"Timeseries lifecycle does not support phase [{phase}]")
            if not isinstance(spec, dict):
                raise parse_failure("[1:2] [lifecycle_policy] failed to parse field [phases]")
            for key in spec:
                if key not in ("min_age", "actions"):
                    raise parse_failure(f"[1:2] [phase] unknown field [{key}]")
            min_age = str(spec.setdefault("min_age", "0ms"))
            if not _TIME_VALUE.match(min_age):
                raise illegal_argument(f"failed to parse setting [min_age] with value [{min_age}] as a time value: "
                                       "unit is missing or unrecognized")
            for action in spec.setdefault("actions", {}):
                if action not in _ALL_ACTIONS:
                    raise parse_failure("[1:2] [phase] failed to parse field [actions]",
                                        caused_by={"type": "named_object_not_found_exception",
                                                   "reason": f"[1:2] unknown field [{action}]"})
                if action not in _PHASE_ACTIONS[phase]:
                    raise illegal_argument(f"invalid action [{action}] defined in phase [{phase}]")
        old = self.policies.get(name)
        self.policies[name] = {
            "version": (old["version"] + 1) if old else 1,
            "modified_date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "policy": policy,
        }

    def get_policies(self, expr: str | None, in_use: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
        names = _names(expr, sorted(self.policies))
        if expr and "*" not in expr and not names:
            raise resource_not_found(f"Lifecycle policy not found: {expr}")
        empty: dict[str, list[str]] = {"indices": [], "data_streams": [], "composable_templates": []}
        return {n: {**copy.deepcopy(self.policies[n]), "in_use_by": in_use.get(n, empty)} for n in names}

    def delete_policy(self, name: str, indices_using: list[str]) -> None:
        if name not in self.policies:
            raise resource_not_found(f"Lifecycle policy not found: {name}")
        if indices_using:
            raise illegal_argument(f"Cannot delete policy [{name}]. It is in use by one or more indices: "
                                   f"{java_list(indices_using)}")
        del self.policies[name]


def _install_builtins(t: Templates) -> None:
    """What a fresh 8.x node has for ``logs-*-*`` and ``metrics-*-*`` (the parts that matter here)."""
    managed = {"managed": True, "description": "default template installed by x-pack"}
    for kind in ("logs", "metrics"):
        t.components[f"{kind}@mappings"] = {
            "template": {"mappings": normalize_mappings({
                "date_detection": False,
                "properties": {
                    "@timestamp": {"type": "date"},
                    "data_stream.type": {"type": "constant_keyword", "value": kind},
                    "data_stream.dataset": {"type": "constant_keyword"},
                    "data_stream.namespace": {"type": "constant_keyword"},
                },
            })},
            "_meta": managed, "version": 1,
        }
        t.components[f"{kind}@settings"] = {
            "template": {"settings": flatten_settings({"index": {
                "lifecycle": {"name": kind},
                "mapping": {"total_fields": {"ignore_dynamic_beyond_limit": True}},
            }})},
            "_meta": managed, "version": 1,
        }
        t.index_templates[kind] = {
            "index_patterns": [f"{kind}-*-*"],
            "composed_of": [f"{kind}@mappings", f"{kind}@settings", f"{kind}@custom", "ecs@mappings"],
            "ignore_missing_component_templates": [f"{kind}@custom"],
            "priority": 100,
            "data_stream": {"hidden": False, "allow_custom_routing": False},
            "allow_auto_create": True,
            "_meta": managed,
            "version": 1,
        }
        t.policies[kind] = {
            "version": 1, "modified_date": "2024-08-05T10:05:34.233Z",
            "policy": {"phases": {"hot": {"min_age": "0ms", "actions": {"rollover": {
                "max_age": "30d", "max_primary_shard_size": "50gb"}}}}, "_meta": managed},
        }
    t.components["ecs@mappings"] = {
        "template": {"mappings": normalize_mappings({"dynamic_templates": [
            {"ecs_timestamp": {"match": "@timestamp", "mapping": {"type": "date", "ignore_malformed": False}}},
            {"ecs_ip": {"path_match": ["ip", "*.ip", "*_ip"], "match_mapping_type": "string",
                        "mapping": {"type": "ip"}}},
            {"ecs_geo_point": {"path_match": ["location", "*.location"], "mapping": {"type": "geo_point"}}},
            {"ecs_date": {"path_match": ["*.timestamp", "*_timestamp", "*.not_after", "*.not_before", "*.accessed",
                                         "created", "*.created", "*.installed", "*.creation_date", "*.ctime",
                                         "*.mtime", "ingested", "*.ingested", "*.start", "*.end"],
                          "unmatch_mapping_type": "object", "mapping": {"type": "date"}}},
            {"ecs_message_match_only_text": {"path_match": ["message", "*.message"], "unmatch_mapping_type": "object",
                                             "mapping": {"type": "match_only_text"}}},
            {"all_strings_to_keywords": {"match_mapping_type": "string",
                                         "mapping": {"type": "keyword", "ignore_above": 1024}}},
        ]})},
        "_meta": managed, "version": 1,
    }
