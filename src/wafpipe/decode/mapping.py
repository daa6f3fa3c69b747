"""RawRecord → ECS document, driven by :mod:`wafpipe.fields.table`.

The table does the per-key work; this module adds what needs several keys (URL, geo point, TLS,
classification of the event and its outcome, user agent, related IPs, the timestamp and its
fallbacks) and the file/line metadata under ``log.*`` and ``imperva.waf.file.*`` — and nowhere
else, so the documents of one event in CEF, LEEF and W3C differ only there, in
``observer.version``, ``event.original`` and ``_id``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from wafpipe.decode.actions import classify_action, is_known_action
from wafpipe.decode.convert import CONVERTERS, iso_ms, split_ips
from wafpipe.decode.record import RawRecord
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.fields.keys import CUSTOM_LABELS, RULE_TYPES, rule_type_from_name
from wafpipe.fields.table import DATASET, FIELDS
from wafpipe.model import FileInfo


@dataclass
class FileContext:
    """What the mapper needs to know about the file a line came from (built once per file): the
    container's :class:`~wafpipe.model.FileInfo` (the one form of file facts), plus what only the
    decode knows — where the file was read, its event format, W3C directives, the ingest time."""

    info: FileInfo = field(default_factory=lambda: FileInfo(name=""))
    path: str | None = None
    format: str = ""
    directives: dict[str, str] | None = None
    ingest_ms: int = 0
    counters: Counter[str] = field(default_factory=Counter)

    @property
    def header(self) -> dict[str, str]:
        return self.info.header

    def file_doc(self) -> dict[str, Any]:
        info = self.info
        doc: dict[str, Any] = {"name": info.name, "format": self.format}
        if info.api_id is not None:
            doc["api_id"] = info.api_id
        if info.seq is not None:
            doc["sequence"] = info.seq
        if info.header:
            doc["header"] = {k: v for k, v in info.header.items() if k != "key"}
        if info.compression:
            doc["compression"] = info.compression
        doc["encrypted"] = info.encrypted
        doc["gzip_wrapped"] = info.gzip_wrapped
        if self.directives:
            doc["directives"] = dict(self.directives)
        return doc


def _plan() -> dict[str, tuple[Any, str, str | None, str, tuple[tuple[tuple[str, ...], str], ...]]]:
    """The field table compiled for the hot loop: converter, type, vendor group/leaf, ECS targets."""
    plan = {}
    for f in FIELDS:
        group, _, leaf = f.path.rpartition(".")
        if "." in group:
            raise ValueError(f"vendor paths nest one level at most: {f.path}")
        targets = tuple((tuple(e.split(".")[:-1]), e.split(".")[-1]) for e in f.ecs)
        convert = None if f.type == "keyword" else CONVERTERS[f.type]
        plan[f.key] = (convert, f.type, group or None, leaf, targets)
    return plan


_PLAN = _plan()
_UNQUOTE = frozenset({"requestclientapplication", "ref", "cicode", "customer"})


def _split_url(request: str, qstr: str | None) -> tuple[str, str, str | None]:
    """``host/path[?query]`` → (domain, path, query). The host never stays inside the path."""
    query = qstr
    if query is None and "?" in request:
        request, query = request.split("?", 1)
    elif "?" in request:
        request = request.split("?", 1)[0]
    if "://" in request:
        request = request.split("://", 1)[1]
    slash = request.find("/")
    if slash < 0:
        return request, "/", query
    return request[:slash], request[slash:], query


def to_ecs(rec: RawRecord, ctx: FileContext, *, original: str | None = None) -> dict[str, Any]:
    """Map one record. Warnings (invalid values, unknown keys) go to ``imperva.waf.warnings``."""
    ext = rec.ext
    waf: dict[str, Any] = {}
    doc: dict[str, Any] = {}
    warnings: list[str] = list(rec.warnings)
    counters = ctx.counters
    invalid: dict[str, str] | None = None
    extensions: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    raw_json: dict[str, str] | None = None
    conv: dict[str, Any] = {}

    for key, value in ext.items():
        plan = _PLAN.get(key)
        if plan is None:
            if key.endswith("label") and key[:-5] in CUSTOM_LABELS:
                if value != CUSTOM_LABELS[key[:-5]]:
                    if labels is None:
                        labels = {}
                    labels[key[:-5]] = value
                continue
            if key in ("date", "time") and rec.format == "w3c":
                continue
            if extensions is None:
                extensions = {}
            extensions[key] = value
            counters["unknown_key"] += 1
            continue
        if value == "":
            continue
        if key in _UNQUOTE and len(value) > 1 and value[0] == '"' and value[-1] == '"' and value.count('"') == 2:
            value = value[1:-1]  # a third-party fixture quotes the whole user agent (FORMATS §2.6 #9)
        convert, typ, group, leaf, targets = plan
        if convert is None:
            val: Any = value
        else:
            try:
                if typ == "ip_list":
                    val, bad = split_ips(value)
                    if bad:  # keep the good members, report the rest, keep the raw text
                        warnings.append(f"{key}: not IP addresses: {', '.join(bad)}")
                        if invalid is None:
                            invalid = {}
                        invalid[key] = value
                        counters["invalid_value"] += 1
                        if not val:
                            continue
                else:
                    val = convert(value)
            except ValueError as exc:
                if invalid is None:
                    invalid = {}
                invalid[key] = value
                warnings.append(f"{key}: {exc}")
                counters["invalid_value"] += 1
                continue
            if typ == "json":
                if raw_json is None:
                    raw_json = {}
                raw_json[key] = value
        conv[key] = val
        if group is None:
            waf[leaf] = val
        else:
            sub = waf.get(group)
            if sub is None:
                sub = waf[group] = {}
            sub[leaf] = val
        for parents, last in targets:
            node = doc
            for p in parents:
                nxt = node.get(p)
                if nxt is None:
                    nxt = node[p] = {}
                node = nxt
            node[last] = val

    # -- classification --------------------------------------------------------------------
    imperva = rec.is_imperva
    name = rec.name
    if name is not None:
        waf["event_name"] = name
    security = bool(imperva and name and name.strip().lower() != "normal")
    waf["security_event"] = security
    event: dict[str, Any] = doc.setdefault("event", {})
    event["dataset"] = DATASET
    event["module"] = "imperva"
    event["kind"] = "alert" if security else "event"
    if rec.signature is not None and rec.signature != "":
        event["code"] = rec.signature
        waf["signature_id"] = rec.signature
    act = ext.get("act")
    outcome = "unknown"
    if act:
        cls, outcome = classify_action(act)
        waf["action_class"] = cls
        event["action"] = act.lower().replace("_", "-")
        if not is_known_action(act, cls):
            counters["unknown_action"] += 1
    event["outcome"] = outcome
    if security:
        rule_id: int | None = None
        sev = rec.severity
        if sev is not None and sev.strip().lstrip("-").isdigit():
            rule_id = int(sev)
        if rule_id is None:
            rule_id = rule_type_from_name(name)
        if rule_id is not None:
            waf["rule_type_id"] = rule_id
        attack = RULE_TYPES.get(rule_id) if rule_id is not None else None
        if attack is None and name:
            attack = "Manual rule" if name.lower().startswith("incaprules(") else name
        waf["attack_type"] = attack
        event["category"] = ["web", "intrusion_detection"]
        blocked = outcome != "success"
        event["type"] = ["denied"] if blocked else ["allowed"]
        doc["rule"] = {"category": attack}
    else:
        event["category"] = ["web"]
        event["type"] = ["access"]
        if rec.severity is not None and not imperva:
            waf["severity"] = rec.severity
    rule_names = ext.get("cs9")
    if rule_names:
        doc.setdefault("rule", {})["name"] = rule_names
    if not imperva:
        waf["vendor"] = rec.vendor
        waf["product"] = rec.product
        counters["foreign_product"] += 1

    # -- time ------------------------------------------------------------------------------
    ts = conv.get("start")
    tsrc = "start"
    if ts is None:
        date, tm = ext.get("date"), ext.get("time")
        if date and tm:
            ts = f"{date}T{tm}.000Z" if len(tm) == 8 else f"{date}T{tm}Z"
            tsrc = "date_time"
        elif ctx.header.get("starttime", "").isdigit():
            ts = iso_ms(int(ctx.header["starttime"]))
            tsrc = "file_start_time"
        else:
            ts = iso_ms(ctx.ingest_ms)
            tsrc = "ingest_time"
    doc["@timestamp"] = ts
    waf["timestamp_source"] = tsrc

    # -- source / destination / network ----------------------------------------------------
    source = doc.get("source")
    geo: dict[str, Any] = {}
    ccodes = conv.get("ccode")
    if ccodes:
        geo["country_iso_code"] = ccodes[0]
    lat, lon = conv.get("cs7"), conv.get("cs8")
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        geo["location"] = {"lat": lat, "lon": lon}
    if geo:
        if source is None:
            source = doc["source"] = {}
        source.setdefault("geo", {}).update(geo)
    if source is not None and "ip" in source:
        source["address"] = source["ip"]
    sip = conv.get("sip")
    if sip is not None and sip not in ("0.0.0.0", "::"):
        dest: dict[str, Any] = {"ip": sip, "address": sip}
        port = conv.get("spt")
        if port:
            dest["port"] = port
        doc["destination"] = dest
    app = ext.get("app")
    network = doc.get("network")
    if app:
        if network is None:
            network = doc["network"] = {}
        network["application"] = app.lower()
        network["protocol"] = "http"
    related = []
    if sip is not None and "destination" in doc:
        related.append(sip)
    if source is not None and "ip" in source:
        related.append(source["ip"])
    for ip in conv.get("xff") or ():
        related.append(ip)
    if related:
        doc["related"] = {"ip": list(dict.fromkeys(related))}

    # -- url ---------------------------------------------------------------------------------
    request = ext.get("request")
    if request:
        domain, path, query = _split_url(request, ext.get("qstr") or None)
        url: dict[str, Any] = doc.setdefault("url", {})
        url["domain"] = domain
        url["path"] = path
        if query:
            url["query"] = query
        last = path.rsplit("/", 1)[-1]
        if "." in last and not last.endswith("."):
            url["extension"] = last.rsplit(".", 1)[1].lower()
        scheme = app.lower() if app and app.lower() in ("http", "https") else None
        if scheme:
            url["scheme"] = scheme
            url["full"] = f"{scheme}://{domain}{path}" + (f"?{query}" if query else "")
        doc.setdefault("related", {}).setdefault("hosts", [domain])

    # -- user agent, tls ---------------------------------------------------------------------
    ua = conv.get("requestclientapplication")
    if ua:
        ua_doc = dict(parse_user_agent(ua))
        ua_doc["original"] = ua
        doc["user_agent"] = ua_doc
    ver = ext.get("ver")
    if ver:
        ver = ver.strip()
        proto, _, cipher = ver.partition(" ")
        tls: dict[str, Any] = {}
        low = proto.lower()
        for pfx in ("tlsv", "sslv"):
            if low.startswith(pfx):
                tls["version_protocol"] = pfx[:3]
                tls["version"] = proto[4:]
        if cipher.strip():
            tls["cipher"] = cipher.strip()
        if tls:
            doc["tls"] = tls

    # -- observer ----------------------------------------------------------------------------
    observer = doc.setdefault("observer", {})
    if imperva:
        observer["vendor"] = "Imperva"
        observer["product"] = "Cloud WAF"
    else:
        observer["vendor"] = rec.vendor
        observer["product"] = rec.product
    observer["type"] = "waf"
    if rec.version:
        observer["version"] = rec.version

    if labels:
        waf["labels"] = labels
    if extensions:
        waf["extensions"] = extensions
    if invalid:
        waf["invalid"] = invalid
    if raw_json:
        waf["raw"] = raw_json
    if rec.dups:
        waf["duplicates"] = rec.dups
    if rec.syslog_prefix:
        waf["syslog_prefix"] = rec.syslog_prefix
    if warnings:
        waf["warnings"] = warnings
    if original is not None:
        event["original"] = original
    doc["ecs"] = {"version": "8.11.0"}
    doc["imperva"] = {"waf": waf}
    return doc
