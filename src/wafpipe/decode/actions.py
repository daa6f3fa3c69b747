"""How Imperva handled a request: ``act`` values → action class and ECS ``event.outcome``.

Imperva publishes no complete list of ``act`` values (FORMATS §7.2), so values are classified by
prefix, the raw value is always kept, and values outside the known set are counted.
"""

from __future__ import annotations

# (prefix, class, ECS outcome)
_ACTION_CLASSES: tuple[tuple[str, str, str], ...] = (
    ("REQ_PASSED", "passed", "success"),
    ("REQ_CACHED", "cached", "success"),
    ("REQ_CHALLENGE", "challenged", "unknown"),
    ("REQ_BLOCKED", "blocked", "failure"),
    ("REQ_BAD", "bad", "failure"),
    ("REQ_UNRESOLVED", "unresolved", "failure"),
)
# Other REQ_* values seen in public sources (FORMATS §7.2): denied or failed by configuration.
_KNOWN_OTHER_ACTIONS = frozenset(
    ["REQ_SSL_NOT_SUPPORTED", "REQ_NO_IP_FOUND", "REQ_ILLEGAL_PORT", "REQ_ALL_IPS_DOWN", "REQ_POST_TIMEOUT", "REQ_IPV6_NOT_SUPPORTED", "REQ_LOCKED_IP_VIOLATION", "REQ_DOMAIN_BLACKLISTED", "REQ_ILLEGAL_IP_VIOLATION", "REQ_SSL_CERT_HOST_MISMATCH", "REQ_NON_SNI_FORBIDDEN", "REQ_CLIENT_CERT_REQUIRED", "REQ_TOO_MANY_CONNECTIONS_TO_ORIGIN"]
)
_ACTION_CACHE: dict[str, tuple[str, str]] = {}


def classify_action(act: str) -> tuple[str, str]:
    """(action class, event.outcome) for an ``act`` value; unknown values stay ``unknown``."""
    hit = _ACTION_CACHE.get(act)
    if hit is None:
        hit = ("unknown", "unknown")
        up = act.upper()
        for prefix, cls, outcome in _ACTION_CLASSES:
            if up.startswith(prefix):
                hit = (cls, outcome)
                break
        else:
            if up.startswith("REQ_"):
                hit = ("denied", "failure")  # REQ_ILLEGAL_PORT, REQ_DOMAIN_BLACKLISTED, …
        if len(_ACTION_CACHE) < 1024:
            _ACTION_CACHE[act] = hit
    return hit


def is_known_action(act: str, cls: str) -> bool:
    """False for values to count as unknown: no known prefix, or an unlisted other ``REQ_*``."""
    return cls != "unknown" and (cls != "denied" or act.upper() in _KNOWN_OTHER_ACTIONS)
