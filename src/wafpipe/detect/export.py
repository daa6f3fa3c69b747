"""wafpipe's loaded Sigma rules → what Kibana's detection engine and OpenSearch's alerting plugin run,
as plain dicts (``wafpipe elastic setup`` installs them through :mod:`wafpipe.sinks.elasticsearch.rules`).

Why here and pure: conversion needs the rules (this package), installation needs the clusters (the
sinks), and neither may import the other; so this module takes the rule texts the collector loaded
and returns bodies, and the command line hands them over. No file, network or clock is touched.

The queries come from pySigma's backends, each given the processing pipeline of :mod:`.taxonomy`, so
every field is wafpipe's ECS name: the Elasticsearch Lucene backend for Kibana query rules, its ES|QL
backend for correlations (``event_count``/``value_count`` become ``stats … by`` over fixed time
buckets), the OpenSearch Lucene backend for alerting monitors. The bodies around the queries are
built here rather than with the backends' ``siem_rule*``/``monitor_rule`` formats: those look up
MITRE ATT&CK names by downloading ATT&CK at conversion time (pySigma 2) and their monitors search
all history on every run, with no time range. The ATT&CK tactics and the techniques of the shipped
rules are in the tables below; other techniques stay tags.

Skipped, each with its id and reason, never silently: a rule that only feeds a correlation
(``generate: false``); a rule whose construct a backend refuses (``|cased``; correlations for
OpenSearch; keywords in ES|QL); and ``|re``, which Lucene and ES|QL read as a whole-value match
without flags or ``\\d``/``\\s`` classes, so the converted query would not mean what the rule says.

Both targets look at ``LOOKBACK`` of events every ``INTERVAL``: Imperva delivers up to 30 minutes
late (the collector's correlations look back as far), and both engines keep one alert per event
(Kibana) or per active trigger (OpenSearch), so the overlap does not repeat alerts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from wafpipe.detect.model import Correlation, Detection, Rule

INTERVAL_MIN = 5
LOOKBACK_MIN = 50  # Imperva's delay (≤ 30 min) and the collector's margin (45 min), plus one interval
PREFIX = "wafpipe-"  # a Kibana rule_id: PREFIX + the Sigma id
MONITOR_PREFIX = "[wafpipe] "  # an OpenSearch monitor's name: MONITOR_PREFIX + the rule's title
TAG = "wafpipe"
LEVELS = {  # Sigma level → Kibana severity and risk score (Elastic's bands), OpenSearch trigger severity
    "informational": ("low", 1, "5"), "low": ("low", 21, "4"), "medium": ("medium", 47, "3"),
    "high": ("high", 73, "2"), "critical": ("critical", 99, "1"),
}
TACTICS = {  # MITRE ATT&CK enterprise tactics: Sigma tag → (id, name)
    "reconnaissance": ("TA0043", "Reconnaissance"), "resource-development": ("TA0042", "Resource Development"),
    "initial-access": ("TA0001", "Initial Access"), "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"), "privilege-escalation": ("TA0004", "Privilege Escalation"),
    "defense-evasion": ("TA0005", "Defense Evasion"), "credential-access": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"), "lateral-movement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"), "command-and-control": ("TA0011", "Command and Control"),
    "exfiltration": ("TA0010", "Exfiltration"), "impact": ("TA0040", "Impact"),
}
TECHNIQUES = {  # the techniques web rules name: id → (name, the tactics ATT&CK files it under)
    "T1059": ("Command and Scripting Interpreter", ("execution",)),
    "T1078": ("Valid Accounts", ("defense-evasion", "persistence", "privilege-escalation", "initial-access")),
    "T1083": ("File and Directory Discovery", ("discovery",)),
    "T1110": ("Brute Force", ("credential-access",)),
    "T1110.001": ("Password Guessing", ()), "T1110.003": ("Password Spraying", ()),
    "T1110.004": ("Credential Stuffing", ()),
    "T1133": ("External Remote Services", ("persistence", "initial-access")),
    "T1189": ("Drive-by Compromise", ("initial-access",)),
    "T1190": ("Exploit Public-Facing Application", ("initial-access",)),
    "T1498": ("Network Denial of Service", ("impact",)), "T1499": ("Endpoint Denial of Service", ("impact",)),
    "T1505": ("Server Software Component", ("persistence",)), "T1505.003": ("Web Shell", ()),
    "T1552": ("Unsecured Credentials", ("credential-access",)),
    "T1552.005": ("Cloud Instance Metadata API", ()),
    "T1595": ("Active Scanning", ("reconnaissance",)), "T1595.002": ("Vulnerability Scanning", ()),
    "T1595.003": ("Wordlist Scanning", ()),
}
_ATTACK = "https://attack.mitre.org"


class BackendsMissing(Exception):
    """pySigma's Elasticsearch or OpenSearch backend is not installed."""


@dataclass(frozen=True)
class Skip:
    """A rule not installed into one target, and why."""

    target: str  # "kibana" or "opensearch"
    rule_id: str
    title: str
    reason: str


@dataclass
class Export:
    """Kibana detection-engine rule bodies (each with ``rule_id``), OpenSearch monitor bodies (each
    with ``ui_metadata.wafpipe.rule_id``), and what was skipped."""

    kibana: list[dict[str, Any]] = field(default_factory=list)
    monitors: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def export(detections: Sequence[Detection], texts: Iterable[tuple[str, str]], *, index_pattern: str) -> Export:
    """Convert ``detections`` (as :func:`wafpipe.detect.load_paths` loaded them) for both targets.

    ``texts`` are ``(yaml text, source)`` of the files they came from (``Detection.source``): the
    backends convert pySigma's own rule objects, so the files are parsed again, once per backend
    (applying a pipeline changes a rule). ``index_pattern`` is what the cluster sinks write to."""
    try:
        from sigma.backends.elasticsearch import ESQLBackend, LuceneBackend
        from sigma.backends.opensearch import OpensearchLuceneBackend
    except ImportError as exc:
        raise BackendsMissing(f"pySigma's Elasticsearch/OpenSearch backends are not installed ({exc}); "
                              "install pysigma-backend-elasticsearch and pysigma-backend-opensearch "
                              "(pip install --no-deps, see pyproject.toml)") from None
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import SetStateTransformation

    from wafpipe.detect.taxonomy import pipeline

    texts = list(texts)
    esql_index = ProcessingPipeline(name="wafpipe index", priority=30, items=[
        ProcessingItem(identifier="wafpipe_index", transformation=SetStateTransformation("index", index_pattern))])
    lucene = _Converter(LuceneBackend(pipeline()), texts)
    converters = {"kibana": (lucene, _Converter(ESQLBackend(pipeline() + esql_index), texts)),
                  "opensearch": (_Converter(OpensearchLuceneBackend(pipeline()), texts),) * 2}
    correlations = [d for d in detections if isinstance(d, Correlation)]
    out = Export()
    for d in detections:
        reason = _not_converted(d, correlations) or _regex_in(lucene.items[d.id])
        for target, (single, correlation) in converters.items():
            converter = correlation if isinstance(d, Correlation) else single
            query, problem = (None, reason) if reason else converter.query(d.id)
            if query is None:
                out.skipped.append(Skip(target, d.id, d.title, problem))
            elif target == "kibana":
                out.kibana.append(_kibana(d, query, index_pattern, lucene.items[d.id]))
            else:
                out.monitors.append(_monitor(d, query, index_pattern))
    return out


def _not_converted(d: Detection, correlations: list[Correlation]) -> str:
    """Why wafpipe does not hand ``d`` to a backend at all ("" when it does)."""
    if isinstance(d, Rule) and not d.standalone:
        users = [c.title for c in correlations if d.id in c.rules]
        return f"only feeds the correlation {', '.join(map(repr, users)) or '?'} (generate: false)"
    if isinstance(d, Correlation) and d.kind in ("spike", "new_value"):
        return (f"wafpipe's own pattern (wafpipe: {d.kind}): other Sigma tools, pySigma's backends included, "
                f"see only the plain {'event_count' if d.kind == 'spike' else 'value_count'} it also states, "
                "which is not what the rule means")
    return ""


class _Converter:
    """One backend over its own parse of the rule files."""

    def __init__(self, backend: Any, texts: list[tuple[str, str]]) -> None:
        from sigma.collection import SigmaCollection

        self.backend = backend
        self.items: dict[str, Any] = {_key(item): item for item in SigmaCollection.merge(
            [SigmaCollection.from_yaml(text, collect_errors=True) for text, _source in texts]).rules}
        self.name = f"pySigma's {backend.name.removesuffix(' backend')} backend"
        self._converted: dict[int, list[Any]] = {}
        backend.init_processing_pipeline("default")

    def query(self, rule_id: str) -> tuple[str | None, str]:
        """The rule's query, or None and why not."""
        from sigma.correlations import SigmaCorrelationRule
        from sigma.exceptions import SigmaError

        item = self.items[rule_id]
        try:
            if isinstance(item, SigmaCorrelationRule):
                for ref in item.rules:  # the backend builds on its rules' own conversions
                    self._convert(ref.rule)
                queries = self.backend.convert_correlation_rule(item, "default")
            else:
                queries = self._convert(item)
        except (SigmaError, NotImplementedError) as exc:
            return None, f"{self.name}: {str(exc).split(' (while converting')[0]}"
        queries = [q for q in queries if isinstance(q, str) and q]
        if not queries:
            return None, f"{self.name} gave no query"
        return (queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)), ""

    def _convert(self, item: Any) -> list[Any]:
        """Each rule once: converting applies the pipeline to it, which must not happen twice."""
        if id(item) not in self._converted:
            self._converted[id(item)] = self.backend.convert_rule(item, "default")
        return self._converted[id(item)]


def _key(item: Any) -> str:
    """A rule's id as :mod:`.sigma` gives it to its Detection."""
    return str(item.id or item.name or item.title)


def _regex_in(item: Any) -> str:
    """Why a rule with ``|re`` (itself or a rule its correlation counts) is not converted."""
    from sigma.correlations import SigmaCorrelationRule
    from sigma.rule import SigmaDetection
    from sigma.types import SigmaRegularExpression

    rules = [ref.rule for ref in item.rules] if isinstance(item, SigmaCorrelationRule) else [item]

    def values(node: Any) -> Iterable[Any]:
        if isinstance(node, SigmaDetection):
            for child in node.detection_items:
                yield from values(child)
        else:
            yield from node.value

    for rule in rules:
        for detection in rule.detection.detections.values():
            if any(isinstance(v, SigmaRegularExpression) for v in values(detection)):
                return ("uses |re: Lucene and ES|QL match a regular expression against the whole value, without "
                        "flags or \\d/\\s/\\w classes, so the converted query would not mean what the rule does")
    return ""


def _tags(d: Detection) -> list[str]:
    tactics = [TACTICS[t][1] for t in _tactics(d)]
    return [TAG, "Sigma", "Data Source: Imperva Cloud WAF", *(f"Tactic: {t}" for t in tactics), *d.tags]


def _tactics(d: Detection) -> list[str]:
    names = [t.removeprefix("attack.").replace("_", "-").lower() for t in d.tags if t.startswith("attack.")]
    return [n for n in names if n in TACTICS]


def threat(d: Detection) -> list[dict[str, Any]]:
    """Kibana's ``threat``: each ATT&CK tactic of the rule, with the rule's techniques that ATT&CK
    files under it (sub-techniques under their technique)."""
    ids = [t.removeprefix("attack.").upper() for t in d.tags if re.fullmatch(r"attack\.t\d{4}(\.\d{3})?", t, re.I)]
    out = []
    for tactic in _tactics(d):
        tactic_id, tactic_name = TACTICS[tactic]
        techniques: dict[str, dict[str, Any]] = {}
        for tid in ids:
            parent = tid.split(".")[0]
            if parent not in TECHNIQUES or tactic not in TECHNIQUES[parent][1]:
                continue
            technique = techniques.setdefault(parent, {"id": parent, "name": TECHNIQUES[parent][0],
                                                       "reference": f"{_ATTACK}/techniques/{parent}/",
                                                       "subtechnique": []})
            if tid != parent and tid in TECHNIQUES:
                technique["subtechnique"].append({"id": tid, "name": TECHNIQUES[tid][0],
                                                  "reference": f"{_ATTACK}/techniques/{tid.replace('.', '/')}/"})
        out.append({"framework": "MITRE ATT&CK",
                    "tactic": {"id": tactic_id, "name": tactic_name, "reference": f"{_ATTACK}/tactics/{tactic_id}/"},
                    "technique": list(techniques.values())})
    return out


def _note(d: Detection, language: str) -> str:
    kind = "correlation rule" if isinstance(d, Correlation) else "rule"
    return (f"Sigma {kind} {d.id} ({PurePath(d.source).name}), converted to {language} by wafpipe with pySigma "
            "and installed by `wafpipe elastic setup`: change the Sigma file and run setup again rather than "
            "editing the query here.")


def _kibana(d: Detection, query: str, index_pattern: str, item: Any) -> dict[str, Any]:
    severity, risk, _ = LEVELS.get(d.level, LEVELS["medium"])
    body: dict[str, Any] = {
        "rule_id": PREFIX + d.id, "name": d.title, "description": d.description.strip() or d.title,
        "severity": severity, "risk_score": risk, "tags": _tags(d), "threat": threat(d),
        "references": list(d.references), "false_positives": list(d.falsepositives),
        "author": [d.author] if d.author else [], "interval": f"{INTERVAL_MIN}m", "from": f"now-{LOOKBACK_MIN}m",
        "max_signals": 100, "enabled": True,
    }
    if isinstance(d, Correlation):  # ES|QL names its indices in the query ("from …") and takes no index
        body |= {"type": "esql", "language": "esql", "query": query, "note": _note(d, "ES|QL")}
    else:
        body |= {"type": "query", "language": "lucene", "query": query, "index": [index_pattern],
                 "note": _note(d, "Lucene")}
    if getattr(item, "license", None):
        body["license"] = str(item.license)
    return body


def _monitor(d: Detection, query: str, index_pattern: str) -> dict[str, Any]:
    """A query-level monitor: every INTERVAL, the events of the last LOOKBACK that match; its trigger
    fires when there is one. OpenSearch keeps no description or tags on a monitor, so they go in
    ``ui_metadata`` (kept and returned as given)."""
    window = {"gte": f"{{{{period_end}}}}||-{LOOKBACK_MIN}m", "lte": "{{period_end}}", "format": "epoch_millis"}
    search = {"size": 0, "query": {"bool": {"filter": [
        {"range": {"@timestamp": window}}, {"query_string": {"query": query, "analyze_wildcard": True}}]}}}
    return {
        "type": "monitor", "monitor_type": "query_level_monitor", "name": MONITOR_PREFIX + d.title, "enabled": True,
        "schedule": {"period": {"interval": INTERVAL_MIN, "unit": "MINUTES"}},
        "inputs": [{"search": {"indices": [index_pattern], "query": search}}],
        "triggers": [{"query_level_trigger": {
            "name": d.title, "severity": LEVELS.get(d.level, LEVELS["medium"])[2],
            "condition": {"script": {"source": "ctx.results[0].hits.total.value > 0", "lang": "painless"}},
            "actions": []}}],
        "ui_metadata": {"wafpipe": {
            "rule_id": PREFIX + d.id, "sigma_id": d.id, "level": d.level, "tags": list(d.tags),
            "description": d.description.strip(), "references": list(d.references),
            "false_positives": list(d.falsepositives), "source": PurePath(d.source).name}},
    }
