"""The syslog message of each event of a Batch: CEF (the original line when it was CEF, else
re-encoded from the ECS columns) or the JSON document, under an RFC 5424 or RFC 3164 header.

Messages are built when a Batch is written, not when they are sent, so the spool holds exactly the
bytes a receiver gets: a restart or a retry sends the same message again, never a re-rendered one.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from wafpipe.errors import SinkError
from wafpipe.fields.arrow import column
from wafpipe.fields.table import FIELDS
from wafpipe.sinks.syslog.framing import cef_header, cef_value, pri, rfc3164, rfc5424, sd_param

if TYPE_CHECKING:
    from wafpipe.model import Batch
    from wafpipe.sinks.syslog.config import SyslogSinkConfig

# An SD-ID needs an IANA enterprise number after the "@"; wafpipe has none, so it uses 32473, the
# number RFC 5612 reserves for examples and documentation, rather than someone else's.
SD_ID = "wafpipe@32473"

# CEF extension keys as Imperva spells them (the field table keeps them lower case).
_CEF_KEYS = {
    "fileid": "fileId", "sourceservicename": "sourceServiceName", "sitetag": "siteTag",
    "customer": "Customer", "requestclientapplication": "requestClientApplication",
    "devicefacility": "deviceFacility", "requestmethod": "requestMethod",
    "deviceexternalid": "deviceExternalId", "filetype": "fileType", "filepermission": "filePermission",
    "additionalreqheaders": "additionalReqHeaders", "additionalresheaders": "additionalResHeaders",
}  # fmt: skip
# The labels Imperva gives its custom strings, so a CEF consumer can name them.
_CEF_LABELS = {
    "cs1": "Cap Support", "cs2": "Javascript Support", "cs3": "CO Support", "cs4": "VID",
    "cs5": "clappsig", "cs6": "clapp", "cs7": "latitude", "cs8": "longitude", "cs9": "Rule name",
    "cs10": "Rule info", "cs11": "Rule additional info",
}  # fmt: skip


@dataclass(frozen=True)
class Header:
    """The parts of every message's header that come from the configuration."""

    protocol: str
    facility: str
    severity: str
    hostname: str
    app_name: str
    procid: str

    @classmethod
    def of(cls, config: SyslogSinkConfig) -> Header:
        return cls(config.protocol, config.facility, config.severity,
                   config.hostname or socket.gethostname() or "-", config.app_name, str(os.getpid()))  # fmt: skip


def _epochs(batch: Batch) -> list[float | None]:
    stamps = column(batch.events, "@timestamp")
    millis = pc.cast(stamps, pa.int64()) if pa.types.is_timestamp(stamps.type) else None
    return [None if m is None else m / 1000 for m in millis.to_pylist()] if millis is not None else [None] * len(batch)


def _cef_text(value: Any) -> str:
    """An extension value as Imperva writes it: dates as epoch milliseconds, lists comma-joined,
    booleans lower case."""
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return str(value)


def cef_lines(batch: Batch) -> list[str]:
    """Each event as a CEF line: ``event.original`` as it is when the event was decoded from CEF
    (the receiver gets Imperva's own line), else re-encoded from the typed columns."""
    originals = column(batch.events, "event.original").to_pylist()
    todo = [i for i, o in enumerate(originals) if not (isinstance(o, str) and o.startswith("CEF:"))]
    if not todo:
        return originals
    events = batch.events.take(pa.array(todo, pa.int64()))

    def col(path: str) -> list[Any]:
        return column(events, path).to_pylist()

    head = list(zip(col("imperva.waf.vendor"), col("imperva.waf.product"), col("observer.version"),
                    col("event.code"), col("imperva.waf.event_name"), col("imperva.waf.severity"),
                    col("imperva.waf.rule_type_id"), strict=True))  # fmt: skip
    extension = [(f.key, col(f.path)) for f in FIELDS]
    out = list(originals)
    for row, i in enumerate(todo):
        vendor, product, version, code, name, severity, rule_type = head[row]
        parts = ["CEF:0", cef_header(vendor or "Incapsula"), cef_header(product or "SIEMintegration"),
                 cef_header(version or "1"), cef_header(code or "1"), cef_header(name or "Normal"),
                 cef_header(severity or (rule_type if rule_type is not None else 0))]  # fmt: skip
        pairs = []
        for key, values in extension:
            value = values[row]
            if value is None or value == []:
                continue
            pairs.append(f"{_CEF_KEYS.get(key, key)}={cef_value(_cef_text(value))}")
            if key in _CEF_LABELS:
                pairs.append(f"{key}Label={cef_value(_CEF_LABELS[key])}")
        out[i] = "|".join(parts) + "|" + " ".join(pairs)
    return out


def messages(batch: Batch, header: Header, fmt: str) -> Iterator[tuple[str, int | None, bytes]]:
    """(event id, ordinal in its file, whole syslog message) for each event, in the Batch's order.

    RFC 5424 messages carry the event id as structured data (``[wafpipe@32473 id="…"]``) so a
    receiver can tell an event sent twice (after a crash between a send and the cursor) from two
    events; RFC 3164 has no place for it."""
    ids = batch.ids
    ordinals = column(batch.events, "imperva.waf.file.ordinal").to_pylist()
    if fmt == "json":
        if batch.documents is None:
            raise SinkError("the batch has no documents", hint="format = \"json\" needs them (a bug)")
        bodies: list[bytes] = list(batch.documents)
    else:
        bodies = [(line or "").encode() for line in cef_lines(batch)]
    priority = pri(header.facility, header.severity)
    for event_id, ordinal, body, epoch in zip(ids, ordinals, bodies, _epochs(batch), strict=True):
        when = epoch if epoch is not None else time.time()
        if header.protocol == "rfc3164":
            msg = rfc3164(priority, when, header.hostname, header.app_name, body)
        else:
            sd = f'[{SD_ID} id="{sd_param(event_id)}"]'
            msg = rfc5424(priority, when, header.hostname, header.app_name, header.procid, "waf", sd, body)
        yield event_id, ordinal, msg
