"""Sigma's field names for web traffic, as wafpipe's ECS fields: the pySigma processing pipeline
every rule goes through before it is translated (:mod:`.sigma`).

SigmaHQ writes web rules against two taxonomies, ``category: webserver`` (W3C extended log names:
``cs-uri-query``, ``sc-status``, ``c-ip``…) and ``category: proxy`` (``c-uri``, ``c-useragent``,
``r-dns``…). Each name below is the ECS field Imperva's logs fill with the same thing. A name that
is not here and not one of our ECS fields is refused when the rule is loaded, naming it: a rule over
a field we never fill would load and never fire, which is worse than an error. Rules written
directly against ECS (as Elastic's are) need no mapping.
"""

from __future__ import annotations

from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation

WEB_FIELDS = {
    # webserver (W3C extended log format names)
    "c-ip": "source.ip",
    "s-ip": "destination.ip",
    "cs-method": "http.request.method",
    "cs-uri-stem": "url.path",
    "cs-uri-query": "url.query",
    "cs-uri": "url.original",
    "cs-host": "url.domain",
    "sc-status": "http.response.status_code",
    "cs-user-agent": "user_agent.original",
    "cs-referer": "http.request.referrer",
    # proxy
    "c-uri": "url.original",
    "c-uri-stem": "url.path",
    "c-uri-query": "url.query",
    "c-uri-extension": "url.extension",
    "c-uri-scheme": "url.scheme",
    "c-useragent": "user_agent.original",
    "cs-referrer": "http.request.referrer",
    "r-dns": "url.domain",
    "src_ip": "source.ip",
    "dst_ip": "destination.ip",
}
# The log sources a rule may name: web traffic, or Imperva's WAF by product.
CATEGORIES = frozenset({"webserver", "proxy", "waf"})
PRODUCTS = frozenset({"imperva", "incapsula"})


def pipeline() -> ProcessingPipeline:
    """The field mapping, applied to every rule (only web log sources are accepted)."""
    return ProcessingPipeline(
        name="wafpipe web taxonomy → ECS",
        priority=20,
        items=[ProcessingItem(identifier="wafpipe_web_fields", transformation=FieldMappingTransformation(dict(WEB_FIELDS)))],
    )
