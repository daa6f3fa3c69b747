"""One checked thing, as ``validate`` and ``doctor`` report it: what, whether it is fine, what was
seen, and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """``name`` (a step, or where a finding is), ``ok``, the ``evidence`` seen, and the ``fix``."""

    name: str
    ok: bool
    evidence: str
    fix: str = ""
