"""The parts of a compliance report read from the configuration and the sinks' own records:
retention (configured days, oldest event kept, recorded deletions), the archive (its ``verify()``
verdict), redaction (the rules in force, and whether files are kept as received) and the table of
requirements.

The requirement table is wafpipe's own reading of what each section is evidence for; it claims no
certification, it tells an auditor where to look.
"""

from __future__ import annotations

from typing import Any

from wafpipe.errors import WafpipeError
from wafpipe.sinks.archive import storage_of
from wafpipe.sinks.archive.config import ArchiveSinkConfig
from wafpipe.sinks.archive.verify import Verdict, verify
from wafpipe.sinks.elasticsearch.config import ElasticsearchSinkConfig, OpenSearchSinkConfig
from wafpipe.store.retention import DATASETS, Retention
from wafpipe.tools.report.period import Period, iso

NO_REDACTION = "no redaction configured: the stores hold the data as Imperva sent it"
NO_ARCHIVE = "no archive configured"


def _name(sink: Any) -> str:
    return str(getattr(sink, "name", None) or sink.type)


def _cluster(s: ElasticsearchSinkConfig | OpenSearchSinkConfig) -> dict[str, Any]:
    """A cluster sink's lifecycle: the days of its policy, and of each namespace's own."""
    policy = s.ilm if isinstance(s, ElasticsearchSinkConfig) else s.ism
    return {"sink": _name(s), "policy": "ILM" if isinstance(s, ElasticsearchSinkConfig) else "ISM",
            "delete_after_days": policy.lifecycle()["delete_after_days"], "profile": policy.profile,
            "namespaces": {ns: policy.lifecycle(ns)["delete_after_days"] for ns in sorted(policy.namespaces)}}


def retention_section(config: Any, period: Period, oldest: dict[str, str | None],
                      history: list[dict[str, Any]] | None) -> dict[str, Any]:  # fmt: skip
    """Per dataset: the days the embedded store keeps (``retention_days``; None: forever) and the
    namespaces it keeps otherwise, each cluster sink's lifecycle policy (ILM/ISM days, its
    profile's or ``delete_after_days``: it applies to the whole data stream, so to both datasets)
    and its namespaces' own, the oldest event kept; and the deletions recorded in the period
    (``history`` None: the ``prunes`` table could not be read)."""
    sink = config.store_sink
    days = Retention.of(sink.retention_days if sink is not None else None)
    clusters = [_cluster(s) for s in config.sinks if isinstance(s, ElasticsearchSinkConfig | OpenSearchSinkConfig)]
    datasets = [{"dataset": name, "store_days": getattr(days, name) if sink is not None else None,
                 "store": sink is not None, "clusters": clusters, "oldest_event": oldest.get(name),
                 "store_namespaces": {ns: days.namespace_days(ns, name) for ns in sorted(days.namespaces)}}
                for name in DATASETS]  # fmt: skip
    deletions = None
    if history is not None:
        deletions = [{"dataset": row["dataset"], "cutoff": iso(row["cutoff"]), "deleted": int(row["deleted"]),
                      "pruned_at": iso(row["pruned_at"]), "reason": row["reason"], "namespace": row.get("namespace")}
                     for row in history if period.holds(row["pruned_at"].timestamp())]  # fmt: skip
        deletions.sort(key=lambda d: d["pruned_at"] or "")
    return {"datasets": datasets, "deletions": deletions}


def archive_section(config: Any, period: Period) -> dict[str, Any]:
    """Each archive sink's verdict: the chain checked whole, the objects of the period's days
    checked against their SHA-256."""
    sinks = []
    for s in config.sinks:
        if not isinstance(s, ArchiveSinkConfig):
            continue
        try:
            verdict = verify(storage_of(s), period.first, period.last)
        except WafpipeError as exc:  # a bucket that cannot be read: not verified, and said so
            verdict = Verdict(broken=[f"cannot be checked: {exc}"])
        sinks.append({"name": _name(s), "path": s.where, "intact": verdict.ok, "manifest_lines": verdict.lines,
                      "objects": verdict.objects, "events": verdict.rows, "last_hash": verdict.head,
                      "broken": list(verdict.broken)})  # fmt: skip
    return {"configured": bool(sinks), "note": None if sinks else NO_ARCHIVE, "sinks": sinks}


def redaction_section(config: Any) -> dict[str, Any]:
    """The redaction in force, as configured now (the report says so: a rule changed mid-period
    applies to what was stored after the change)."""
    redaction = config.redaction
    if redaction is None or not redaction.enabled:
        return {"configured": False, "rules": [], "action": None, "original_files": None, "statement": NO_REDACTION}
    how = ("replaced by keyed HMAC-SHA256 tokens (the same value, the same token)" if redaction.action == "hash"
           else "masked (card numbers keep their last four digits)")
    archives = [_name(s) for s in config.sinks if isinstance(s, ArchiveSinkConfig)]
    if redaction.keep_raw:
        files = ("kept as received (keep_raw = true): the archive's original files"
                 + (f" ({', '.join(archives)})" if archives else "") + " and quarantine copies hold the values unredacted")
    else:
        files = ("not kept as received (keep_raw = false): the archive keeps no original file, a quarantined file "
                 "is kept as its redacted text, an encrypted one encrypted")
    statement = (f"values are {how} in every Batch before any sink — the embedded store, cluster documents, the "
                 "archive's Parquet, forwarded events, spools, dead letters and logs; original files are " + files)
    return {"configured": True, "rules": redaction.rules_in_force(), "action": redaction.action,
            "original_files": "raw" if redaction.keep_raw else "not kept raw", "statement": statement}


REQUIREMENTS = (
    ("Coverage", "PCI DSS 10.2, 10.7; SOC 2 CC7.2; HIPAA 164.312(b)",
     "Every log file received per Imperva log configuration, with its header times, the holes between "
     "them and every file that could not be read: shows the audit trail is collected without "
     "interruption, and names each interruption so it can be explained (10.7: failures of logging "
     "detected and reported)."),
    ("Ingestion delays", "PCI DSS 10.7; SOC 2 CC7.2",
     "How long after Imperva closed each file wafpipe read and stored it: shows logs are reviewed in "
     "near real time and that a stalled delivery would be noticed."),
    ("Retention", "PCI DSS 10.5; HIPAA 164.312(b)",
     "The days each dataset is kept, the oldest event still held and every deletion with its cutoff "
     "and count (10.5.1: twelve months kept, three immediately available)."),
    ("Archive", "PCI DSS 10.3; SOC 2 CC7.2",
     "The archive's hash-chained manifest checked object by object: shows the stored logs were not "
     "changed, removed or added to since they were written (10.3: logs protected from modification)."),
    ("Redaction", "PCI DSS 3.3, 3.4; HIPAA 164.312(b)",
     "What is masked or hashed before anything is stored or forwarded, and whether original files are kept "
     "as received: shows card numbers and credentials are unreadable wherever the logs are kept (3.4), or "
     "states that nothing is changed, so every store must be protected as the original logs are."),
    ("Security events and alerts", "PCI DSS 10.2; SOC 2 CC7.2, CC7.3",
     "Attacks seen in the period by type and by what the WAF did, and the alerts raised for a person "
     "to evaluate: evidence of monitoring and of events analysed as possible incidents."),
)


def requirements() -> list[dict[str, str]]:
    return [{"section": s, "supports": r, "how": h} for s, r, h in REQUIREMENTS]
