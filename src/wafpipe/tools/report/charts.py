"""The report's charts as inline SVG text, drawn here in Python: the HTML report is one file an
auditor can keep and open anywhere, so no JavaScript library, no CDN, no font or image to fetch.

Every label taken from the data goes through :func:`html.escape`; the result is trusted markup
(:class:`markupsafe.Markup`) only because of that.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from markupsafe import Markup

WIDTH = 760
LANE = 26
LABEL = 150
OK, HOLE, BAR = "#2e7d32", "#c62828", "#1565c0"


def _t(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def coverage_chart(report: dict[str, Any]) -> Markup:
    """One lane per log configuration across the period: green from its first file's start to its
    last file's end, each gap over it in red (a stale configuration's silence included)."""
    cov = report.get("coverage") or {}
    configs = cov.get("configurations") or []
    if not configs:
        return Markup("")
    lo, hi = _t(report["period"]["start"]), _t(report["period"]["end"])
    assert lo is not None and hi is not None
    span, plot = hi - lo, WIDTH - LABEL - 10

    def x(value: float | None, default: float) -> float:
        value = default if value is None else min(max(value, lo), hi)
        return LABEL + (value - lo) / span * plot

    height = LANE * len(configs) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="coverage per log configuration">']  # fmt: skip
    for i, c in enumerate(configs):
        y = 10 + i * LANE
        x0, x1 = x(_t(c["first_start"]), lo), x(_t(c["last_end"]), hi)
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">configId {escape(str(c["config_id"]))}</text>')
        parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="18" fill="{OK}">'
                     f'<title>{escape(str(c["files"]))} file(s)</title></rect>')  # fmt: skip
        for g in cov.get("gaps") or []:
            if str(g["scope"]) != str(c["config_id"]):
                continue
            g0, g1 = x(_t(g["start"]), lo), x(_t(g["end"]), hi)
            parts.append(f'<rect x="{g0:.1f}" y="{y}" width="{max(g1 - g0, 2):.1f}" height="18" fill="{HOLE}">'
                         f'<title>{escape(str(g["kind"]))}: {escape(str(g["detail"]))}</title></rect>')  # fmt: skip
    axis = 10 + LANE * len(configs) + 14
    parts.append(f'<text x="{LABEL}" y="{axis}" font-size="11">{escape(report["period"]["start"])}</text>')
    parts.append(f'<text x="{WIDTH - 10}" y="{axis}" font-size="11" text-anchor="end">'
                 f'{escape(report["period"]["end"])}</text></svg>')  # fmt: skip
    return Markup("".join(parts))


def bar_chart(values: list[dict[str, Any]], label: str) -> Markup:
    """Horizontal bars, one per ``{"value", "count"}``, longest first as given."""
    if not values:
        return Markup("")
    top = max(int(v["count"]) for v in values) or 1
    plot = WIDTH - LABEL - 80
    height = LANE * len(values) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="{escape(label)}">']  # fmt: skip
    for i, v in enumerate(values):
        y, w = 5 + i * LANE, int(v["count"]) / top * plot
        name = "(none)" if v["value"] is None else str(v["value"])
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(name[:24])}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{max(w, 1):.1f}" height="18" fill="{BAR}">'
                     f'<title>{escape(name)}: {int(v["count"])}</title></rect>')  # fmt: skip
        parts.append(f'<text x="{LABEL + w + 6:.1f}" y="{y + 14}" font-size="12">{int(v["count"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
