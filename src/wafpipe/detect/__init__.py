"""Detections: Sigma rules run over the stored events (issue 24).

Named parts: :mod:`.taxonomy` (Sigma's web field names → our ECS fields, a pySigma pipeline),
:mod:`.model` (what a loaded rule is), :mod:`.sigma` (rule files → :class:`~.model.Rule`, each with
its detection as a query tree the read side compiles with parameters), :mod:`.correlation` (Sigma
correlation rules → thresholds over sliding windows), ``rules/`` (the rules wafpipe ships, Sigma YAML; each credits what
it was ported from and says how to tune it). Rules read through the read service
(:class:`wafpipe.store.service.ReadService`), like the UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from wafpipe.detect.model import Correlation, Detection, Rule, UnsupportedRule

if TYPE_CHECKING:
    from wafpipe.detect.sigma import load_paths, load_text

SHIPPED_RULES = Path(__file__).parent / "rules"


def __getattr__(name: str) -> Any:
    """``load_paths`` and ``load_text`` on first use: pySigma (and pyparsing) are loaded by what
    reads rule files, not by a decode worker that only runs rules handed to it (issue 20)."""
    if name in ("load_paths", "load_text"):
        from wafpipe.detect import sigma

        return getattr(sigma, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["SHIPPED_RULES", "Correlation", "Detection", "Rule", "UnsupportedRule", "load_paths", "load_text"]
