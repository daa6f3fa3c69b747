"""Flattening documents to dotted leaves, for tests that compare documents field by field."""

from __future__ import annotations

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
