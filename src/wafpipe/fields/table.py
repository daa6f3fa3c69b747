"""The field table: every Imperva key → its typed place in the document (DESIGN §1).

One declarative table serves all three formats (the decoders already speak one key space). Each
row names the canonical key, the vendor field under ``imperva.waf``, its type, and any plain ECS
fields that receive the same converted value. Fields that need more than one key (URL, geo point,
TLS, event classification, user agent) are built by the native core (`native/src/mapping/`); the ECS fields
they emit are listed in :data:`DERIVED_FIELDS`, so the Elasticsearch template can be generated from
— and tested against — this module alone.
"""

from __future__ import annotations

from dataclasses import dataclass

# Types are Elasticsearch mapping types; ``*_list`` means an array of that type, ``json`` an object
# or array parsed from JSON text (mapped as ``flattened``), ``text`` a keyword with a
# ``match_only_text`` sub-field.


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # canonical Imperva key (lower-case CEF spelling)
    path: str  # vendor field, relative to ``imperva.waf``
    type: str
    ecs: tuple[str, ...] = ()  # ECS fields receiving the same converted value
    doc: str = ""


FIELDS: tuple[Field, ...] = (
    Field("fileid", "session_id", "keyword", doc="fileId: Imperva's unique identification (a visit/session)"),
    Field("sourceservicename", "site.name", "keyword", doc="protected site name"),
    Field("siteid", "site.id", "keyword"),
    Field("sitetag", "site.tag", "keyword", doc="site-level reference id"),
    Field("suid", "account.id", "keyword", doc="account id of the site owner"),
    Field("customer", "account.name", "keyword"),
    Field("tag", "account.tag", "keyword", doc="account-level reference id"),
    Field("requestclientapplication", "client.user_agent", "keyword", ("user_agent.original",)),
    Field("devicefacility", "pop", "keyword", ("observer.name",), doc="Imperva PoP that handled the request"),
    Field("cs1", "client.captcha_support", "keyword"),
    Field("cs2", "client.javascript_support", "boolean"),
    Field("cs3", "client.cookie_support", "boolean"),
    Field("cs4", "client.visitor_id", "keyword"),
    Field("cs5", "client.app_signature", "keyword"),
    Field("cs6", "client.app", "keyword"),
    Field("dproc", "client.type", "keyword", doc="browser type: Browser, Crawler, …"),
    Field("ccode", "country_codes", "keyword_list", doc="raw ccode, brackets stripped, split on ','"),
    Field("cicode", "city", "keyword", ("source.geo.city_name",)),
    Field("cs7", "latitude", "double"),
    Field("cs8", "longitude", "double"),
    Field("start", "start", "date", ("event.start",)),
    Field("end", "end", "date", ("event.end",)),
    Field("request", "request", "keyword", ("url.original",), doc="host + path as Imperva sent it"),
    Field("ref", "referrer", "keyword", ("http.request.referrer",)),
    Field("requestmethod", "method", "keyword", ("http.request.method",)),
    Field("qstr", "query", "keyword"),
    Field("postbody", "post_body", "text", ("http.request.body.content",)),
    Field("cn1", "status_code", "long", ("http.response.status_code",)),
    Field("app", "protocol", "keyword"),
    Field("act", "action", "keyword"),
    Field("deviceexternalid", "request_id", "keyword", doc="correlates with the Imperva console"),
    Field("src", "client_ip", "ip", ("source.ip",)),
    Field("cpt", "client_port", "long", ("source.port",)),
    Field("sip", "origin_ip", "ip"),
    Field("spt", "origin_port", "long"),
    Field("xff", "xff", "ip_list", ("network.forwarded_ip",)),
    Field("ver", "tls", "keyword", doc="TLS version and cipher, e.g. 'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256'"),
    Field("in", "content_length", "long", doc="Imperva's 'content length' (direction undocumented)"),
    Field("filetype", "attack.type_ids", "keyword_list"),
    Field("filepermission", "attack.ids", "keyword_list"),
    Field("cs9", "rule_names", "keyword_list"),
    Field("cs10", "rule_info", "json"),
    Field("cs11", "rule_additional_info", "json"),
    Field("additionalreqheaders", "request_headers", "json"),
    Field("additionalresheaders", "response_headers", "json"),
    Field("caip", "ca_ip", "ip"),
    Field("suser", "suser", "keyword"),
    Field("cs12", "cs12", "keyword"),
)

# The Elastic dataset every event belongs to: ``event.dataset``, the data stream name
# ``logs-<DATASET>-<namespace>`` and the index template name are all derived from it.
DATASET = "imperva.waf"

BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}

# ECS and vendor fields built from several keys or from the line/file rather than one key.
DERIVED_FIELDS: dict[str, str] = {
    "@timestamp": "date",
    "message": "match_only_text",
    "ecs.version": "keyword",
    "data_stream.type": "constant_keyword",
    "data_stream.dataset": "constant_keyword",
    "data_stream.namespace": "constant_keyword",
    "event.dataset": "keyword",
    "event.module": "keyword",
    "event.kind": "keyword",
    "event.category": "keyword",
    "event.type": "keyword",
    "event.outcome": "keyword",
    "event.action": "keyword",
    "event.code": "keyword",
    "event.original": "keyword",
    "event.ingested": "date",
    "source.address": "keyword",
    "source.geo.country_iso_code": "keyword",
    "source.geo.location": "geo_point",
    "destination.ip": "ip",
    "destination.port": "long",
    "destination.address": "keyword",
    "network.application": "keyword",
    "network.protocol": "keyword",
    "network.type": "keyword",
    "url.scheme": "keyword",
    "url.domain": "keyword",
    "url.path": "wildcard",
    "url.query": "keyword",
    "url.full": "wildcard",
    "url.extension": "keyword",
    "user_agent.name": "keyword",
    "user_agent.version": "keyword",
    "user_agent.os.name": "keyword",
    "user_agent.os.version": "keyword",
    "user_agent.os.full": "keyword",
    "user_agent.device.name": "keyword",
    "tls.version": "keyword",
    "tls.version_protocol": "keyword",
    "tls.cipher": "keyword",
    "rule.name": "keyword",
    "rule.category": "keyword",
    "rule.id": "keyword",
    "observer.vendor": "keyword",
    "observer.product": "keyword",
    "observer.type": "keyword",
    "observer.version": "keyword",
    "related.ip": "ip",
    "related.hosts": "keyword",
    "log.offset": "long",
    "log.file.path": "keyword",
    "imperva.waf.security_event": "boolean",
    "imperva.waf.event_name": "keyword",
    "imperva.waf.rule_type_id": "long",
    "imperva.waf.attack_type": "keyword",
    "imperva.waf.action_class": "keyword",
    "imperva.waf.product": "keyword",
    "imperva.waf.vendor": "keyword",
    "imperva.waf.signature_id": "keyword",
    "imperva.waf.severity": "keyword",
    "imperva.waf.timestamp_source": "keyword",
    "imperva.waf.labels": "flattened",
    "imperva.waf.extensions": "flattened",
    "imperva.waf.invalid": "flattened",
    "imperva.waf.raw": "flattened",
    "imperva.waf.duplicates": "flattened",
    "imperva.waf.warnings": "keyword",
    "imperva.waf.syslog_prefix": "keyword",
    "imperva.waf.original_base64": "binary",
    "imperva.waf.line_truncated.length": "long",
    "imperva.waf.line_truncated.sha256": "keyword",
    "imperva.waf.file.name": "keyword",
    "imperva.waf.file.format": "keyword",
    "imperva.waf.file.line": "long",
    "imperva.waf.file.ordinal": "long",
    "imperva.waf.file.api_id": "keyword",
    "imperva.waf.file.sequence": "long",
    "imperva.waf.file.checksum_status": "keyword",
    "imperva.waf.file.compression": "keyword",
    "imperva.waf.file.encrypted": "boolean",
    "imperva.waf.file.gzip_wrapped": "boolean",
    "imperva.waf.file.partial": "boolean",
    "imperva.waf.file.header": "flattened",
    "imperva.waf.file.directives": "flattened",
    "imperva.waf.file.format_version": "keyword",
}

# Derived fields that hold arrays (the per-key ones say so by their ``*_list`` type).
DERIVED_LISTS = frozenset({"event.category", "event.type", "related.ip", "related.hosts", "imperva.waf.warnings"})

LIST_TYPES = {"keyword_list": "keyword", "ip_list": "ip", "long_list": "long"}


def emitted_fields() -> dict[str, str]:
    """Every field path the mapping can emit → Elasticsearch type (for the index template)."""
    out: dict[str, str] = {}
    for f in FIELDS:
        base = LIST_TYPES.get(f.type, f.type)
        if f.type == "json":
            base = "flattened"
        elif f.type == "text":
            base = "match_only_text"
        out[f"imperva.waf.{f.path}"] = base
        for e in f.ecs:
            out[e] = base
    out.update(DERIVED_FIELDS)
    return out
