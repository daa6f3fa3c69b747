"""Syslog messages and their transport framing: RFC 5424, RFC 3164, RFC 6587 (octet counting or a
newline), and CEF escaping.

One definition for the whole project: the syslog sink frames events with it and the collector's
alert outputs (:mod:`wafpipe.collector.alert_outputs`) frame alert changes with it, so a receiver
sees the same header from both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Literal

# RFC 5424 §6.2.1: facility and severity codes (PRI = facility * 8 + severity).
FACILITIES: Mapping[str, int] = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
    "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18,
    "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
SEVERITIES: Mapping[str, int] = {
    "emergency": 0, "alert": 1, "critical": 2, "error": 3, "warning": 4, "notice": 5,
    "informational": 6, "debug": 7,
}  # fmt: skip

Facility = Literal["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
                   "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5",
                   "local6", "local7"]  # fmt: skip
Severity = Literal["emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"]

NILVALUE = "-"
_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")  # RFC 5424 header fields: printable ASCII, no space
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BOM = b"\xef\xbb\xbf"  # RFC 5424 §6.4: a UTF-8 MSG starts with the BOM


def pri(facility: str, severity: str | int) -> int:
    """The PRI value of a facility and a severity (a name or a code)."""
    code = severity if isinstance(severity, int) else SEVERITIES[severity]
    return FACILITIES[facility] * 8 + code


def header_field(value: str | None, limit: int) -> str:
    """A header field as RFC 5424 allows it: printable ASCII without spaces, at most ``limit``
    characters, ``-`` when empty. Receivers split the header on spaces, so a space in a host name
    would shift every field after it."""
    cleaned = _PRINTUSASCII.sub("_", value or "")[:limit]
    return cleaned or NILVALUE


def sd_param(value: str) -> str:
    """An SD-PARAM value with ``"``, ``\\`` and ``]`` escaped (RFC 5424 §6.3.3)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424_timestamp(epoch: float) -> str:
    """UTC with milliseconds: ``2024-06-10T06:00:00.123Z``."""
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((epoch - whole) * 1000):03d}Z"


def rfc5424(
    priority: int, epoch: float, hostname: str, app_name: str, procid: str, msgid: str,
    structured_data: str, msg: bytes,
) -> bytes:
    """One RFC 5424 message: ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG``.

    ``structured_data`` is given ready (``-`` or ``[id k="v"]``, values escaped by :func:`sd_param`).
    No BOM is added: the messages here are JSON or CEF, which receivers read as they are, and a
    BOM would become part of what an ``omfile`` or a SIEM stores."""
    head = (f"<{priority}>1 {rfc5424_timestamp(epoch)} {header_field(hostname, 255)} "
            f"{header_field(app_name, 48)} {header_field(procid, 128)} {header_field(msgid, 32)} "
            f"{structured_data or NILVALUE} ")  # fmt: skip
    return head.encode() + msg


def rfc3164(priority: int, epoch: float, hostname: str, tag: str, msg: bytes) -> bytes:
    """One BSD syslog message (RFC 3164): ``<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG``, the time in
    UTC (the format has no zone; UTC is the only reading that does not depend on the receiver)."""
    t = time.gmtime(epoch)
    stamp = f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", tag)[:32] or "wafpipe"  # RFC 3164 §4.1.3: alphanumerics, ≤ 32
    return f"<{priority}>{stamp} {header_field(hostname, 255)} {tag}: ".encode() + msg


def octet_counted(message: bytes) -> bytes:
    """RFC 6587 §3.4.1 octet counting: ``LEN SP MSG``; a message may then hold any byte."""
    return str(len(message)).encode() + b" " + message


def newline_framed(message: bytes) -> bytes:
    """RFC 6587 §3.4.2 non-transparent framing: the message and a LF. A LF inside the message would
    split it in two at the receiver, so any is replaced by a space (CEF and JSON never hold one)."""
    return message.replace(b"\n", b" ") + b"\n"


def frame(message: bytes, framing: Literal["octet_counting", "newline"]) -> bytes:
    return octet_counted(message) if framing == "octet_counting" else newline_framed(message)


# CEF (ArcSight "Implementing ArcSight CEF" rev. 25): header fields escape ``\`` and ``|``; extension
# values escape ``\`` and ``=``, and newlines are written as ``\n`` / ``\r``.
def cef_header(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def cef_value(value: object) -> str:
    text = "" if value is None else str(value)
    return (text.replace("\\", "\\\\").replace("=", "\\=").replace("\r\n", "\\n")
            .replace("\n", "\\n").replace("\r", "\\r"))  # fmt: skip
