"""Test data: the CEF extension dictionary's short key ↔ full name, to compare peers' output with ours.

The peers name extensions by their CEF full names (Logstash always, Filebeat with
``WithFullExtensionNames``; ``sourceAddress`` for ``src``); wafpipe keys ``RawRecord.ext`` by the key
as written, lower-cased. :func:`canonical_key` brings either spelling to the latter form so that
both sides can be compared. Source: *ArcSight Common Event Format* v25 extension dictionary (the
list the removed ``wafpipe.decode.cef_types`` carried); only the keys whose full name differs from
the short one are listed — ``requestMethod``, ``fileId``, ``deviceExternalId``… are their own full
names. Legacy full names (``destinationLongitude``…) are left out: Logstash keeps them as written,
and so do we.
"""

from __future__ import annotations

import re

FULL_NAMES: dict[str, str] = {
    "act": "deviceAction",
    "agt": "agentAddress",
    "ahost": "agentHostName",
    "aid": "agentId",
    "amac": "agentMacAddress",
    "app": "applicationProtocol",
    "art": "agentReceiptTime",
    "at": "agentType",
    "atz": "agentTimeZone",
    "av": "agentVersion",
    "cat": "deviceEventCategory",
    "catdt": "categoryDeviceType",
    "cnt": "baseEventCount",
    "dhost": "destinationHostName",
    "dlat": "destinationGeoLatitude",
    "dlong": "destinationGeoLongitude",
    "dmac": "destinationMacAddress",
    "dntdom": "destinationNtDomain",
    "dpid": "destinationProcessId",
    "dpriv": "destinationUserPrivileges",
    "dproc": "destinationProcessName",
    "dpt": "destinationPort",
    "dst": "destinationAddress",
    "dtz": "deviceTimeZone",
    "duid": "destinationUserId",
    "duser": "destinationUserName",
    "dvc": "deviceAddress",
    "dvchost": "deviceHostName",
    "dvcmac": "deviceMacAddress",
    "dvcpid": "deviceProcessId",
    "end": "endTime",
    "fname": "filename",
    "fsize": "fileSize",
    "in": "bytesIn",
    "msg": "message",
    "out": "bytesOut",
    "outcome": "eventOutcome",
    "proto": "transportProtocol",
    "request": "requestUrl",
    "rt": "deviceReceiptTime",
    "shost": "sourceHostName",
    "slat": "sourceGeoLatitude",
    "slong": "sourceGeoLongitude",
    "smac": "sourceMacAddress",
    "sntdom": "sourceNtDomain",
    "spid": "sourceProcessId",
    "spriv": "sourceUserPrivileges",
    "sproc": "sourceProcessName",
    "spt": "sourcePort",
    "src": "sourceAddress",
    "start": "startTime",
    "suid": "sourceUserId",
    "suser": "sourceUserName",
}
"""Short key → full name (CEF v25)."""

# Numbered custom fields, any number (Logstash maps cfp15, c6a12…): full-name prefix → short prefix.
# flexStringN, flexNumberN, flexDateN and deviceCustomDateN are their own full names.
CUSTOM_PREFIXES: dict[str, str] = {
    "deviceCustomString": "cs",
    "deviceCustomNumber": "cn",
    "deviceCustomFloatingPoint": "cfp",
    "deviceCustomIPv6Address": "c6a",
}

_SHORT_BY_FULL = {full.lower(): short.lower() for short, full in FULL_NAMES.items()}
_CUSTOM = re.compile(
    "(" + "|".join(CUSTOM_PREFIXES) + r")(\d+)(label)?",
    re.IGNORECASE,
)
_CUSTOM_SHORT = {full.lower(): short for full, short in CUSTOM_PREFIXES.items()}


def canonical_key(name: str) -> str:
    """``sourceAddress``/``src``/``SRC`` → ``src``; ``deviceCustomString4Label`` → ``cs4label``; any
    other key → lower case (the form of ``RawRecord.ext``)."""
    low = name.lower()
    short = _SHORT_BY_FULL.get(low)
    if short is not None:
        return short
    m = _CUSTOM.fullmatch(low)
    if m is not None:
        return f"{_CUSTOM_SHORT[m.group(1)]}{m.group(2)}{m.group(3) or ''}"
    return low
