"""The field table: every Imperva key → its typed place in the document (DESIGN §1).

One declarative table serves all three formats (the decoders already speak one key space). Each
row names the canonical key, the one field that holds its converted value, and its type. A value
lives once in a document: where ECS has a field for it (``src`` → ``source.ip``), it is there and
nowhere under ``imperva.waf``; the vendor namespace holds only what ECS has no field for. Fields that need more than one key (URL, geo point,
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
    path: str  # the one field of the document that holds the converted value
    type: str
    doc: str = ""


V = "imperva.waf."  # the vendor namespace: what ECS has no field for

FIELDS: tuple[Field, ...] = (
    Field("fileid", V + "session_id", "keyword", doc="fileId: Imperva's unique identification (a visit/session)"),
    Field("sourceservicename", V + "site.name", "keyword", doc="protected site name"),
    Field("siteid", V + "site.id", "keyword"),
    Field("sitetag", V + "site.tag", "keyword", doc="site-level reference id"),
    Field("suid", V + "account.id", "keyword", doc="account id of the site owner"),
    Field("customer", V + "account.name", "keyword"),
    Field("tag", V + "account.tag", "keyword", doc="account-level reference id"),
    Field("requestclientapplication", "user_agent.original", "keyword"),
    Field("devicefacility", "observer.name", "keyword", doc="Imperva PoP that handled the request"),
    Field("cs1", V + "client.captcha_support", "keyword"),
    Field("cs2", V + "client.javascript_support", "boolean"),
    Field("cs3", V + "client.cookie_support", "boolean"),
    Field("cs4", V + "client.visitor_id", "keyword"),
    Field("cs5", V + "client.app_signature", "keyword"),
    Field("cs6", V + "client.app", "keyword"),
    Field("dproc", V + "client.type", "keyword", doc="browser type: Browser, Crawler, …"),
    Field("ccode", V + "country_codes", "keyword_list",
          doc="raw ccode, brackets stripped, split on ','; kept only when it names more than one country "
              "(the first is source.geo.country_iso_code)"),
    Field("cicode", "source.geo.city_name", "keyword"),
    Field("cs7", V + "latitude", "double", doc="kept only when it forms no source.geo.location with cs8"),
    Field("cs8", V + "longitude", "double", doc="kept only when it forms no source.geo.location with cs7"),
    Field("start", "event.start", "date"),
    Field("end", "event.end", "date"),
    Field("request", "url.original", "keyword", doc="host + path as Imperva sent it"),
    Field("ref", "http.request.referrer", "keyword"),
    Field("requestmethod", "http.request.method", "keyword"),
    Field("qstr", "url.query", "keyword"),
    Field("postbody", "http.request.body.content", "text"),
    Field("cn1", "http.response.status_code", "long"),
    Field("app", V + "protocol", "keyword"),
    Field("act", V + "action", "keyword"),
    Field("deviceexternalid", V + "request_id", "keyword", doc="correlates with the Imperva console"),
    Field("src", "source.ip", "ip"),
    Field("cpt", "source.port", "long"),
    Field("sip", "destination.ip", "ip", doc="the origin server; 0.0.0.0 when none was contacted (a cache hit)"),
    Field("spt", "destination.port", "long"),
    Field("xff", "network.forwarded_ip", "ip_list"),
    Field("ver", V + "tls", "keyword", doc="TLS version and cipher, e.g. 'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256'"),
    Field("in", V + "content_length", "long", doc="Imperva's 'content length' (direction undocumented)"),
    Field("filetype", V + "attack.type_ids", "keyword_list"),
    Field("filepermission", V + "attack.ids", "keyword_list"),
    Field("cs9", V + "rule_names", "keyword_list"),
    Field("cs10", V + "rule_info", "json"),
    Field("cs11", V + "rule_additional_info", "json"),
    Field("additionalreqheaders", V + "request_headers", "json"),
    Field("additionalresheaders", V + "response_headers", "json"),
    Field("caip", V + "ca_ip", "ip"),
    Field("suser", V + "suser", "keyword"),
    Field("cs12", V + "cs12", "keyword"),
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
    "imperva.waf.action_class": "keyword",
    "imperva.waf.product": "keyword",
    "imperva.waf.vendor": "keyword",
    "imperva.waf.severity": "keyword",
    "imperva.waf.timestamp_source": "keyword",
    "imperva.waf.labels": "flattened",
    "imperva.waf.extensions": "flattened",
    "imperva.waf.invalid": "flattened",
    "imperva.waf.duplicates": "flattened",
    "imperva.waf.warnings": "keyword",
    "imperva.waf.syslog_prefix": "keyword",
    "imperva.waf.original_base64": "binary",
    "imperva.waf.line_truncated.length": "long",
    "imperva.waf.line_truncated.sha256": "keyword",
    # The per-event file fields (DESIGN §1): where the event came from (the line number too, the
    # `file:line` a problem names) and the flags it needs to be judged on its own. Everything else
    # about a file (its header, compression, encryption, W3C directives…) is kept once per file:
    # FileInfo.facts() → the state's files table.
    "imperva.waf.file.name": "keyword",
    "imperva.waf.file.identity": "keyword",
    "imperva.waf.file.checksum_status": "keyword",
    "imperva.waf.file.line": "long",
    "imperva.waf.file.ordinal": "long",
    "imperva.waf.file.partial": "boolean",
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
        out[f.path] = base
    out.update(DERIVED_FIELDS)
    return out
