"""The report's three forms, all from the one dict :func:`wafpipe.tools.report.collect.build` makes:
``json`` (that dict), ``md`` (tables for a ticket or a wiki) and ``html`` (one self-contained file:
inline CSS, inline SVG charts, no script, and a Content-Security-Policy that lets it fetch nothing).

Escaping: the HTML template is rendered with Jinja2's autoescape on, so every value from the data
(a file name, a quarantine reason, a site's attack type) is text, never markup. Markdown renderers
pass raw HTML through, so the Markdown escapes ``<``, ``>`` and ``&`` too, and ``|`` in table cells.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from wafpipe.tools.report.charts import bar_chart, coverage_chart

FORMATS = ("json", "md", "html")


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=False, default=str) + "\n"
    if fmt == "md":
        return markdown(report)
    if fmt == "html":
        return html(report)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def _seconds(value: float | None) -> str:
    """A delay for people: seconds up to two minutes, then minutes, hours or days."""
    if value is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(value) >= 2 * size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.1f} s"


def html(report: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("wafpipe.tools.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters["duration"] = _seconds
    security = report.get("security") or {}
    charts = {"coverage": coverage_chart(report),
              "categories": bar_chart(security.get("by_category") or [], "security events by attack type"),
              "actions": bar_chart(security.get("by_action") or [], "security events by action")}  # fmt: skip
    return env.get_template("report.html.j2").render(r=report, charts=charts)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _table(headings: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    out = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*out, ""]


def markdown(r: dict[str, Any]) -> str:
    p = r["period"]
    out = [f"# {r['title']}", "", f"Period: {p['from']} to {p['to']} (UTC, {p['start']} to {p['end']}). "
           f"Generated {r['generated_at']} by wafpipe {_cell(r['wafpipe_version'])}.", ""]  # fmt: skip
    if r["complete"]:
        out += ["**Status: complete** — no gap, no file set aside, no broken archive link in the period.", ""]
    else:
        out += [f"**Status: incomplete** — {len(r['missing'])} item(s) missing:", ""]
        out += [f"* {_cell(m)}" for m in r["missing"]] + [""]
    for part, why in r["unavailable"].items():
        out += [f"Not available — {part}: {_cell(why)}", ""]
    out += ["## Coverage", ""]
    cov = r["coverage"]
    if cov is not None:
        out += [f"{cov['files']} file(s) received in the period.", ""]
        out += _table(["configId", "accounts", "files", "first header start", "last header end"],
                      [[c["config_id"], ", ".join(c["accounts"]), c["files"], c["first_start"], c["last_end"]]
                       for c in cov["configurations"]])  # fmt: skip
        out += ["### Gaps", "", f"Holes longer than {cov['grace_s']:.0f} s between consecutive files of a log "
                "configuration, files missed upstream, and configurations silent for longer than "
                f"{cov['max_delay_s']:.0f} s.", ""]  # fmt: skip
        out += _table(["kind", "configId / source", "from", "to", "seconds", "detail"],
                      [[g["kind"], g["scope"], g["start"], g["end"], g["seconds"], g["detail"]] for g in cov["gaps"]])
        for what, title in (("quarantined", "Quarantined files"), ("failed", "Failed files"),
                            ("checksum_failures", "Checksum failures")):  # fmt: skip
            out += [f"### {title}", ""]
            out += _table(["file", "source", "seen", "configId", "header window", "reason"],
                          [[f["name"], f["source"], f["seen_at"], f["config_id"],
                            f"{f['header_start']} – {f['header_end']}" if f["header_start"] else None,
                            f["reason"] or f["checksum"]] for f in cov[what]])  # fmt: skip
    out += ["## Ingestion delays", "", "From a file's header endTime to when wafpipe read its header (seen) "
            "and stored its last event (stored).", ""]  # fmt: skip
    out += _table(["configId", "files", "seen median", "seen p95", "seen max", "stored median", "stored p95",
                   "stored max"],
                  [[d["config_id"], d["files"], *(_seconds(d[k][s]) for k in ("seen", "stored")
                                                  for s in ("median_s", "p95_s", "max_s"))] for d in r["delays"]])  # fmt: skip
    out += _retention_md(r["retention"])
    out += ["## Archive", ""]
    arch = r["archive"]
    if not arch["configured"]:
        out += [arch["note"], ""]
    for s in arch["sinks"]:
        verdict = "intact" if s["intact"] else f"{len(s['broken'])} broken link(s)"
        out += [f"* {_cell(s['name'])} ({_cell(s['path'])}): {verdict}; {s['objects']} object(s), {s['events']} "
                f"event(s) in the period's days, {s['manifest_lines']} manifest line(s); last hash `{s['last_hash']}`"]  # fmt: skip
        out += [f"  * broken: {_cell(b)}" for b in s["broken"]]
    out += ["", "## Redaction rules in force", "", _cell(r["redaction"]["statement"]), ""]
    out += [f"* {_cell(rule)}" for rule in r["redaction"]["rules"]]
    out += [""] if r["redaction"]["rules"] else []
    out += _security_md(r)
    out += ["## Requirements", ""]
    out += _table(["section", "supports", "how"], [[q["section"], q["supports"], q["how"]] for q in r["requirements"]])
    return "\n".join(out)


def _retention_md(ret: dict[str, Any]) -> list[str]:
    out = ["## Retention", ""]
    rows = []
    for d in ret["datasets"]:
        store = "no embedded store" if not d["store"] else (f"{d['store_days']} days" if d["store_days"]
                                                           else "kept forever")  # fmt: skip
        store += "".join(f"; namespace {ns}: " + (f"{n} days" if n else "kept forever")
                         for ns, n in d.get("store_namespaces", {}).items())  # fmt: skip
        clusters = "; ".join(f"{c['sink']}: {c['policy']} delete after {c['delete_after_days']} days"
                             + "".join(f", namespace {ns} after {n} days" for ns, n in c.get("namespaces", {}).items())
                             for c in d["clusters"]) or "none"  # fmt: skip
        rows.append([d["dataset"], store, clusters, d["oldest_event"]])
    out += _table(["dataset", "embedded store keeps", "cluster lifecycle", "oldest event kept"], rows)
    out += ["Deletions recorded in the period (the store's prunes table):", ""]
    if ret["deletions"] is None:
        out += ["not available (see above)", ""]
    else:
        out += _table(["when", "dataset", "namespace", "events before", "deleted", "by"],
                      [[x["pruned_at"], x["dataset"], x.get("namespace") or "all others", x["cutoff"], x["deleted"],
                        x["reason"]] for x in ret["deletions"]])  # fmt: skip
    return out


def _security_md(r: dict[str, Any]) -> list[str]:
    out = ["## Security events", ""]
    sec = r["security"]
    if sec is not None:
        out += [f"{sec['security_events']} security event(s) among {sec['events']} event(s) in the period.", ""]
        out += _table(["attack type (rule.category)", "action (event.action)", "events"],
                      [[v["value"], v["by"], v["count"]] for v in sec["by_category_and_action"]])  # fmt: skip
        out += _table(["action (event.action)", "events"], [[v["value"], v["count"]] for v in sec["by_action"]])
    out += ["### Alerts", ""]
    out += _table(["id", "rule", "level", "events", "first event", "last event", "opened", "acknowledged"],
                  [[a["id"], a["title"], a["level"], a["events"], a["first_event"], a["last_event"], a["opened_at"],
                    a["acknowledged_at"]] for a in r["alerts"]])  # fmt: skip
    return out
