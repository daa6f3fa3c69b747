"""Documents by dotted path, for tests that compare documents field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def leaves(doc: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; arrays are leaves (compared as a whole)."""
    out: dict[str, Any] = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.update(leaves(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = doc
    return out


def get_path(doc: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``"source.ip"``), or None when a part of it is missing."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
