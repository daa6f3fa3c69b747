"""The Imperva key space that every decoder produces (FORMATS.md §2.3, §4.2, §5.3).

Keys are canonical lower-case CEF extension names (``fileid``, ``requestmethod``), because Imperva's
own examples mix the case of the same key (``fileId``/``fileid``) and keys are compared
case-insensitively everywhere. LEEF and W3C names are translated here, once, so there is a single
mapping from Imperva keys to ECS.
"""

from __future__ import annotations

import re

# Keys Imperva emits in CEF (FORMATS §2.3), canonical lower case.
IMPERVA_KEYS: frozenset[str] = frozenset(
    ["fileid", "sourceservicename", "siteid", "suid", "requestclientapplication", "devicefacility", "dproc", "ccode", "cicode", "customer", "tag", "sitetag", "start", "end", "request", "ref", "requestmethod", "qstr", "postbody", "cn1", "app", "act", "deviceexternalid", "src", "cpt", "sip", "spt", "xff", "ver", "in", "filetype", "filepermission", "additionalreqheaders", "additionalresheaders", "caip", "suser"]
)

# LEEF spells some keys differently (FORMATS §4.2); translated to the CEF name.
LEEF_ALIASES: dict[str, str] = {
    "popname": "devicefacility",
    "calcountryorregion": "ccode",
    "url": "request",
    "proto": "app",
    "cat": "act",
    "dst": "sip",
    "dstport": "spt",
    "srcport": "cpt",
    "protover": "ver",
}

# W3C column → canonical key (FORMATS §5.3). ``cs-rule``/``cs-severity`` fill the record's
# name and rule-type id rather than an extension key; ``date``/``time`` stay as they are.
W3C_COLUMNS: dict[str, str] = {
    "cs-vid": "cs4",
    "cs-clapp": "cs6",
    "cs-browsertype": "dproc",
    "cs-js-support": "cs2",
    "cs-co-support": "cs3",
    "c-ip": "src",
    "s-caip": "caip",
    "cs-clappsig": "cs5",
    "s-capsupport": "cs1",
    "s-suid": "suid",
    "cs(user-agent)": "requestclientapplication",
    "cs-sessionid": "fileid",
    "s-siteid": "siteid",
    "cs-countrycode": "ccode",
    "s-tag": "tag",
    "cs-cicode": "cicode",
    "s-computername": "sourceservicename",
    "cs-lat": "cs7",
    "cs-long": "cs8",
    "s-accountname": "customer",
    "cs-uri": "request",
    "cs-postbody": "postbody",
    "cs-version": "app",
    "sc-action": "act",
    "s-externalid": "deviceexternalid",
    "cs(referrer)": "ref",
    "s-ip": "sip",
    "s-port": "spt",
    "cs-method": "requestmethod",
    "cs-uri-query": "qstr",
    "sc-status": "cn1",
    "s-xff": "xff",
    "cs-bytes": "in",
    "cs-start": "start",
    "cs-attacktype": "filetype",
    "cs-attackid": "filepermission",
    "s-rulename": "cs9",
    "c-port": "cpt",
    "cs-end": "end",
    "cs-protver": "ver",
    "s-sitetag": "sitetag",
    "cs-ruleinfo": "cs11",
    "date": "date",
    "time": "time",
}
W3C_NAME_COLUMN = "cs-rule"
W3C_SEVERITY_COLUMN = "cs-severity"

# The #Fields line of Imperva's W3C files (docs/formats.md "W3C"): its columns in order, spelled as
# Imperva spells them. The store migration reads a W3C file whose header names no columns with them;
# the sample generator writes them.
IMPERVA_W3C_COLUMNS: tuple[str, ...] = (
    "date", "time", "cs-vid", "cs-clapp", "cs-browsertype", "cs-js-support", "cs-co-support", "c-ip",
    "s-caip", "cs-clappsig", "s-capsupport", "s-suid", "cs(User-Agent)", "cs-sessionid", "s-siteid",
    "cs-countrycode", "s-tag", "cs-cicode", "s-computername", "cs-lat", "cs-long", "s-accountname", "cs-uri",
    "cs-postbody", "cs-version", "sc-action", "s-externalid", "cs(Referrer)", "s-ip", "s-port", "cs-method",
    "cs-uri-query", "sc-status", "s-xff", "cs-bytes", "cs-start", "cs-rule", "cs-severity", "cs-attacktype",
    "cs-attackid", "s-ruleName",
)  # fmt: skip

# Inside these values, unescaped ``word=`` text is data unless ``word`` is a known key (DESIGN §1).
FREE_TEXT_KEYS: frozenset[str] = frozenset(
    ["requestclientapplication", "postbody", "ref", "cicode", "customer", "cs9", "cs10", "cs11", "additionalreqheaders", "additionalresheaders"]
)

# Label slots: ``cs1Label=Cap Support`` names the ``cs1`` value (FORMATS §2.4).
CUSTOM_LABELS: dict[str, str] = {
    "cs1": "Cap Support",
    "cs2": "Javascript Support",
    "cs3": "CO Support",
    "cs4": "VID",
    "cs5": "clappsig",
    "cs6": "clapp",
    "cs7": "latitude",
    "cs8": "longitude",
    "cs9": "Rule name",
    "cs10": "Rule Info",
    "cs11": "Rule Additional Info",
}

_PATTERN_KEYS = re.compile(r"c[sn]\d+(label)?|flex(string|number)\d(label)?|cs9[7-9](label)?")
_known_cache: dict[str, bool] = {}


def is_known_key(key: str) -> bool:
    """True when ``key`` (any case) is an Imperva key in CEF or LEEF spelling (FORMATS §2.7)."""
    hit = _known_cache.get(key)
    if hit is None:
        low = key.lower()
        hit = low in IMPERVA_KEYS or low in LEEF_ALIASES or _PATTERN_KEYS.fullmatch(low) is not None
        if len(_known_cache) < 4096:
            _known_cache[key] = hit
    return hit


# Rule-type ids carried in the CEF "severity" slot (FORMATS §2.2).
RULE_TYPES: dict[int, str] = {
    -1: "ACL",
    0: "SQL Injection",
    1: "Cross Site Scripting",
    3: "Illegal Resource Access",
    4: "Bot Access Control",
    8: "DDoS",
    9: "Backdoor Protect",
    10: "Remote File Inclusion",
    11: "Manual rule",
    12: "API Specification Violation",
    13: "Account Takeover Protection",
    14: "Bad Bot",
}

# Names seen in the CEF Name / LEEF Event ID slot mapped back to their rule-type id, so a LEEF
# line (which carries no id) still gets the same attack type as the CEF line of the same event.
RULE_TYPE_BY_NAME: dict[str, int] = {
    "sql injection": 0,
    "cross site scripting": 1,
    "illegal resource access": 3,
    "bot access control": 4,
    "ddos": 8,
    "backdoor protect": 9,
    "remote file inclusion": 10,
    "api specification violation": 12,
    "account takeover protection": 13,
    "bad bot": 14,
    "blocked country": -1,
    "accepted country": -1,
}


def rule_type_from_name(name: str | None) -> int | None:
    """Best-effort rule-type id from an event name; None when the name does not say."""
    if not name:
        return None
    low = name.strip().lower()
    if low.startswith("incaprules("):
        return 11
    return RULE_TYPE_BY_NAME.get(low)
