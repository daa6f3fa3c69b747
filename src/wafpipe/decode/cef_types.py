"""The CEF key dictionary and typed-value conversions (timestamps, MAC addresses).

The decoders return text. This module says what a standard CEF key means and how its text turns
into a typed value, for the generic CEF that shares a stream with Imperva's (Attack Analytics
lines, syslog relays) and for anyone mapping CEF beyond Imperva's keys:

* :data:`CEF_KEYS`, :func:`full_name`, :func:`extension_type` — the extension dictionary of
  *ArcSight Common Event Format* v25 (short key → full name, data type), plus the numbered
  custom fields (``csN``, ``cnN``, ``cfpN``, ``c6aN``, ``flexStringN``…, any ``N``) and their labels.
* :func:`parse_cef_timestamp` — every CEF time form: epoch milliseconds (with optional
  decimals), ``MMM dd[ yyyy] HH:mm:ss[.fff…][ zone]`` with a zone written as ``Z``, an
  abbreviation, ``±hh[[:]mm]``, ``GMT±hh:mm`` or an IANA name. A time without zone is read in the
  device's zone (``dtz``) when given, else UTC; a time without year takes the year that puts it in
  the past or at most two days ahead (``Dec 31`` read on ``Jan 1`` is last year; ``Jan 1`` read
  on ``Dec 31`` is next year). Nanoseconds are kept (:class:`CefTime`).
* :func:`to_mac` — MAC-48/EUI-64 in colon, hyphen, Cisco-dot or bare-hex form → one form.

Bad values raise :class:`CefValueError` (a :class:`~wafpipe.errors.DecodeError` and a
``ValueError``) naming the value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wafpipe.errors import DecodeError


class CefValueError(DecodeError, ValueError):
    """A CEF value does not convert to its type."""


# ``short full type`` — CEF v25 extension dictionary; a lone name means short == full.
_DICTIONARY = """
act deviceAction string
agt agentAddress ip
agentDnsDomain string
agentNtDomain string
agentTranslatedAddress ip
agentTranslatedZoneExternalID string
agentTranslatedZoneURI string
agentZoneExternalID string
agentZoneURI string
ahost agentHostName string
aid agentId string
amac agentMacAddress mac
app applicationProtocol string
art agentReceiptTime timestamp
at agentType string
atz agentTimeZone string
av agentVersion string
cat deviceEventCategory string
catdt categoryDeviceType string
cnt baseEventCount int
customerExternalID string
customerURI string
destinationDnsDomain string
destinationServiceName string
destinationTranslatedAddress ip
destinationTranslatedPort int
destinationTranslatedZoneExternalID string
destinationTranslatedZoneURI string
destinationZoneExternalID string
destinationZoneURI string
deviceDirection int
deviceDnsDomain string
deviceExternalId string
deviceFacility string
deviceInboundInterface string
deviceNtDomain string
deviceOutboundInterface string
devicePayloadId string
deviceProcessName string
deviceTranslatedAddress ip
deviceTranslatedZoneExternalID string
deviceTranslatedZoneURI string
deviceZoneExternalID string
deviceZoneURI string
dhost destinationHostName string
dlat destinationGeoLatitude double
dlong destinationGeoLongitude double
dmac destinationMacAddress mac
dntdom destinationNtDomain string
dpid destinationProcessId int
dpriv destinationUserPrivileges string
dproc destinationProcessName string
dpt destinationPort int
dst destinationAddress ip
dtz deviceTimeZone string
duid destinationUserId string
duser destinationUserName string
dvc deviceAddress ip
dvchost deviceHostName string
dvcmac deviceMacAddress mac
dvcpid deviceProcessId int
end endTime timestamp
eventId long
externalId string
fileCreateTime timestamp
fileHash string
fileId string
fileModificationTime timestamp
filePath string
filePermission string
fileType string
fname filename string
fsize fileSize int
in bytesIn long
msg message string
oldFileCreateTime timestamp
oldFileHash string
oldFileId string
oldFileModificationTime timestamp
oldFileName string
oldFilePath string
oldFilePermission string
oldFileSize int
oldFileType string
out bytesOut long
outcome eventOutcome string
proto transportProtocol string
rawEvent string
reason string
request requestUrl string
requestClientApplication string
requestContext string
requestCookies string
requestMethod string
rt deviceReceiptTime timestamp
shost sourceHostName string
slat sourceGeoLatitude double
slong sourceGeoLongitude double
smac sourceMacAddress mac
sntdom sourceNtDomain string
sourceDnsDomain string
sourceServiceName string
sourceTranslatedAddress ip
sourceTranslatedPort int
sourceTranslatedZoneExternalID string
sourceTranslatedZoneURI string
sourceZoneExternalID string
sourceZoneURI string
spid sourceProcessId int
spriv sourceUserPrivileges string
sproc sourceProcessName string
spt sourcePort int
src sourceAddress ip
start startTime timestamp
suid sourceUserId string
suser sourceUserName string
type int
"""

# Full names used by older CEF revisions (accepted as keys by Logstash).
_LEGACY = {
    "destinationLatitude": "double",
    "destinationLongitude": "double",
    "sourceLatitude": "double",
    "sourceLongitude": "double",
}


def _load() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for row in _DICTIONARY.split("\n"):
        cols = row.split()
        if len(cols) == 2:
            table[cols[0]] = (cols[0], cols[1])
        elif len(cols) == 3:
            table[cols[0]] = (cols[1], cols[2])
    return table


CEF_KEYS: dict[str, tuple[str, str]] = _load()
"""Short key → (full name, type). Types: string int long float double bool ip mac timestamp."""

_FULL_TYPES: dict[str, str] = {full: typ for full, typ in CEF_KEYS.values()} | _LEGACY
_LOWER_KEYS: dict[str, str] = {k.lower(): k for k in CEF_KEYS}

# Numbered custom fields: prefix → (full-name prefix, type). Any number, as Logstash accepts.
_CUSTOM = re.compile(r"(cs|cn|cfp|c6a|flexString|flexNumber|flexDate|deviceCustomDate)(\d+)(Label)?", re.I)
_CUSTOM_NAMES: dict[str, tuple[str, str]] = {
    "cs": ("deviceCustomString", "string"),
    "cn": ("deviceCustomNumber", "long"),
    "cfp": ("deviceCustomFloatingPoint", "float"),
    "c6a": ("deviceCustomIPv6Address", "ip"),
    "flexstring": ("flexString", "string"),
    "flexnumber": ("flexNumber", "long"),
    "flexdate": ("flexDate", "timestamp"),
    "devicecustomdate": ("deviceCustomDate", "timestamp"),
}


def _lookup(key: str) -> tuple[str, str] | None:
    hit = CEF_KEYS.get(key)
    if hit is not None:
        return hit
    typ = _FULL_TYPES.get(key)
    if typ is not None:
        return key, typ
    m = _CUSTOM.fullmatch(key)
    if m is not None:
        full, typ = _CUSTOM_NAMES[m.group(1).lower()]
        if m.group(3):
            return f"{full}{m.group(2)}Label", "string"
        return f"{full}{m.group(2)}", typ
    canonical = _LOWER_KEYS.get(key.lower())  # Imperva writes fileid, requestmethod…
    return CEF_KEYS[canonical] if canonical is not None else None


def full_name(key: str) -> str:
    """``src`` → ``sourceAddress``, ``cs4Label`` → ``deviceCustomString4Label``; a full name or an
    unknown key comes back unchanged."""
    hit = _lookup(key)
    return hit[0] if hit is not None else key


def extension_type(key: str) -> str | None:
    """The CEF data type of ``key`` (short or full name), None for keys outside the dictionary."""
    hit = _lookup(key)
    return hit[1] if hit is not None else None


# --- timestamps --------------------------------------------------------------------------------

_MONTHS = {m.lower(): i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_TS = re.compile(
    r"(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2})(?: +(?P<year>\d{4}))? +"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.(?P<frac>\d{1,9}))?(?: +(?P<zone>\S+))?"
)
_EPOCH_MS = re.compile(r"(\d+)(?:\.(\d+))?")
_OFFSET = re.compile(r"(?:GMT|UTC|UT)?([+-])(\d{1,2})(?::?(\d{2}))?", re.I)
# Common abbreviations (hours east of UTC). Ambiguous ones (IST, BST, CST in Asia…) take the
# reading most CEF devices mean; an unknown abbreviation is an error, never a silent UTC.
_ABBREVIATIONS: dict[str, float] = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2,
    "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "IST": 5.5, "SGT": 8, "HKT": 8, "JST": 9,
    "KST": 9, "AEST": 10, "AEDT": 11, "ACST": 9.5, "AWST": 8, "NZST": 12, "NZDT": 13,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
}  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class CefTime(NamedTuple):
    """An instant with nanosecond precision (CEF times can carry nine decimals)."""

    ns: int  # nanoseconds since 1970-01-01T00:00:00Z

    @property
    def datetime(self) -> datetime:
        """Aware UTC datetime (microsecond precision, truncated)."""
        return _EPOCH + timedelta(microseconds=self.ns // 1000)

    @property
    def nanosecond(self) -> int:
        """Nanoseconds within the second, 0–999 999 999."""
        return self.ns % 1_000_000_000

    def isoformat(self, digits: int | None = None) -> str:
        """``2021-03-17T12:34:56.987Z``. ``digits`` fixes the decimals (3 = milliseconds, as ECS
        documents carry them); by default the shortest of 0, 3, 6, 9 that loses nothing."""
        secs, frac = divmod(self.ns, 1_000_000_000)
        base = (_EPOCH + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
        if digits is None:
            digits = 0 if frac == 0 else 3 if frac % 1_000_000 == 0 else 6 if frac % 1000 == 0 else 9
        if digits <= 0:
            return f"{base}Z"
        return f"{base}.{f'{frac:09d}'[:digits]}Z"


def parse_zone(text: str) -> tzinfo:
    """``Z``, ``UTC``, ``EST``, ``+05``, ``+0500``, ``+05:00``, ``GMT+05:00`` or ``Europe/Moscow``."""
    hours = _ABBREVIATIONS.get(text.upper())
    if hours is not None:
        return UTC if hours == 0 else timezone(timedelta(hours=hours), text.upper())
    m = _OFFSET.fullmatch(text)
    if m is not None:
        sign, hh, mm = m.groups()
        delta = timedelta(hours=int(hh), minutes=int(mm or 0))
        if delta >= timedelta(hours=24):
            raise CefValueError(f"time zone offset {text!r} is out of range")
        return timezone(-delta if sign == "-" else delta)
    if "/" in text or text.isalpha():
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise CefValueError(
        f"unknown time zone {text!r}",
        hint="use an offset (+05:00), a common abbreviation (EST, CET) or an IANA name (Europe/Moscow)",
    )


def parse_cef_timestamp(
    value: str, tz: tzinfo | str | None = None, now: datetime | None = None
) -> CefTime:
    """A CEF time value → :class:`CefTime` (see the module docstring for the forms).

    ``tz``: the device's zone (the line's ``dtz``), used when the value has none; default UTC.
    ``now``: the reference instant for year-less values; default the current time.
    """
    text = value.strip()
    m = _EPOCH_MS.fullmatch(text)
    if m is not None:  # epoch milliseconds, decimals down to the nanosecond; never zone-shifted
        frac = (m.group(2) or "")[:6].ljust(6, "0")
        return CefTime(int(m.group(1)) * 1_000_000 + int(frac))
    m = _TS.fullmatch(text)
    month = _MONTHS.get(m.group("mon").lower()) if m is not None else None
    if m is None or month is None:
        raise CefValueError(
            f"unparsable CEF timestamp {value!r}",
            hint="CEF times are epoch milliseconds or 'MMM dd [yyyy] HH:mm:ss[.SSS] [zone]'",
        )
    if m.group("zone"):
        zone = parse_zone(m.group("zone"))
    elif isinstance(tz, str):
        zone = parse_zone(tz)
    else:
        zone = tz or UTC
    day, hour, minute, sec = int(m.group("day")), int(m.group("h")), int(m.group("mi")), int(m.group("s"))

    def at(year: int) -> datetime:
        d = day
        if month == 2 and d == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
            d = 28  # a year-less Feb 29 read in a common year
        return datetime(year, month, d, hour, minute, sec, tzinfo=zone)

    try:
        if m.group("year"):
            when = at(int(m.group("year")))
        else:
            ref = now if now is not None else datetime.now(UTC)
            if ref.tzinfo is None:
                ref = ref.replace(tzinfo=UTC)
            local_year = ref.astimezone(zone).year
            limit = ref + timedelta(days=2)
            when = at(local_year)
            if when > limit:  # on May 12, "May 15" is last year's
                when = at(local_year - 1)
            elif ref.astimezone(zone).month == 12 and at(local_year + 1) <= limit:
                when = at(local_year + 1)  # on Dec 31, "Jan 1" is (nearly) now, next year
    except ValueError as exc:
        raise CefValueError(f"invalid date in CEF timestamp {value!r}: {exc}") from None
    frac = (m.group("frac") or "").ljust(9, "0")
    return CefTime(((when - _EPOCH) // _SECOND) * 1_000_000_000 + int(frac))


# --- MAC addresses -----------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")


def to_mac(value: str, *, ecs: bool = False) -> str:
    """A MAC-48 or EUI-64 address → ``00:0d:60:af:1b:61`` (lower case, colons, as Filebeat
    writes it) or, with ``ecs=True``, ``00-0D-60-AF-1B-61`` (the RFC 7042 form ECS recommends).

    Accepted: ``00:0D:60:AF:1B:61``, ``00-0D-60-AF-1B-61``, ``000D.60AF.1B61``, ``000D60AF1B61``
    and their 8-octet forms.
    """
    text = value.strip()
    digits: str | None = None
    if len(text) in (17, 23) and text[2] in ":-":
        sep = text[2]
        groups = text.split(sep)
        if all(len(g) == 2 for g in groups):
            digits = "".join(groups)
    elif len(text) in (14, 19) and text[4] == ".":
        groups = text.split(".")
        if all(len(g) == 4 for g in groups):
            digits = "".join(groups)
    elif len(text) in (12, 16):
        digits = text
    if digits is None or not _HEX.issuperset(digits):
        raise CefValueError(
            f"not a MAC address: {value!r}",
            hint="write 6 or 8 octets as 00:0D:60:AF:1B:61, 00-0D-60-AF-1B-61, 000D.60AF.1B61 or 000D60AF1B61",
        )
    pairs = [digits[i : i + 2] for i in range(0, len(digits), 2)]
    return "-".join(pairs).upper() if ecs else ":".join(pairs).lower()
