"""Peer conformance: every decoding vector of Filebeat's ``decode_cef`` and Logstash's ``codec-cef``.

Each line of ``../shared/conformance/{filebeat-decode-cef,logstash-codec-cef}/cases.jsonl`` is one
case. Every case is either run here, against production code only, or listed in
:data:`NOT_APPLICABLE` with the reason (a test checks that this list is exactly the set of cases
without a runner, so nothing disappears). A case where we knowingly assert something else than the
peer is listed in :data:`DEVIATIONS` with what we assert, why, and — when the two peers contradict
each other — the other peer's case we follow; that table's assertions are run too, and each
deviation is checked to still be one.

How a case is judged
--------------------
* Plain decoding goes through the native core's CEF decoder (``wafpipe._native.decode_lines``, in
  the shape of version 1's ``decode_cef``: :func:`tests.decode.core.decode_cef`, which raises
  :class:`DecodeError` with the core's reason, column and hint). Its ``Record.ext`` keys are
  the keys as written, lower-cased; the peer's extension names are brought to that form with
  :func:`tests.decode.cef_names.canonical_key` (lower case; a CEF full name such as
  ``sourceAddress`` becomes its short key ``src``), and so are ours (a line may use a full name as
  its key). Header fields are compared with the record's ``format_version``, ``vendor``,
  ``product``, ``version``, ``signature``, ``name``, ``severity`` and ``syslog_prefix``. Filebeat's
  ``WithRemoveEmptyValues`` is applied to our record; ``WithFullExtensionNames`` needs nothing more
  than the canonical keys. Logstash's ``fields_ecs_disabled`` and Filebeat's processor
  ``cef.*`` fields are compared the same way (its other fields are Filebeat's own ECS mapping and
  raw ``message``); only the fields the case lists are compared, except that a successful Filebeat
  case must also produce exactly the peer's set of extensions.
* Filebeat's ``Type`` of an extension is compared only for the keys wafpipe types, i.e. the keys of
  its field table (:data:`wafpipe.fields.table.FIELDS`): the table's type must be the peer's and the
  peer's text must convert with the core's converter of that type (``wafpipe._native.convert``,
  :func:`tests.decode.core.convert`). wafpipe does not type CEF values it does not map (they are
  kept as text under ``imperva.waf.extensions``), so the other keys' ``Type`` says nothing about
  our output and is not compared.
* An error case (``"error": true``) matches when we raise :class:`DecodeError` (with a reason and a
  hint), or return a record flagged with warnings while every extension the peer still produced
  equals ours (a "flagged partial record", conformance README). Filebeat's ``error_contains`` words
  must appear in our message. ``"error": null`` (fuzz inputs) only requires no other exception than
  DecodeError.
* Streaming (``decode_stream``) goes through the production reader, :class:`FileReader`, over a
  headerless plain body made of the peer's chunks (each chunk one ``read()``). The reader splits on
  LF and drops the CR of a CRLF, so the peer's ``\\r\\n`` delimiter is honoured; a file always
  ends, so the peer's stream must end with a flush. The reader must yield one event per record the
  peer emits, in order, and no problem (a ``decode`` problem where the peer fails); each event is judged on the record decoded from its
  ``event.original`` (the text the reader decoded), whose header must also be the event's
  ``event.code``/``imperva.waf.event_name``/``observer.version``. *When* each record comes out
  (at its delimiter, or at the flush) is not observable through a file reader and is not compared.
  The non-UTF-8 case goes through the reader too (the reader decodes bytes): a flagged record
  whose ``imperva.waf.original_base64`` holds the input bytes, or a ``decode`` problem, matches.
  Logstash's ``raw_data_field`` is the reader's ``event.original``.
* Typed values: the only CEF values wafpipe types as dates are Imperva's ``start``/``end``, which
  Imperva writes as epoch milliseconds (FORMATS §2.3) and the core's ``date`` conversion reads
  (``_native.convert("date", …)``, :func:`tests.decode.core.to_date`). A ``cef_timestamp_value``
  case is run through ``to_date`` when its input is an epoch value (digits, optionally with
  decimals) or the peer expects it to be rejected; the textual CEF date
  forms (``MMM dd [yyyy] HH:mm:ss…``, zone and year inference) and ``cef_mac_value`` are
  :data:`NOT_APPLICABLE`, with what wafpipe does with such a value.
* Expectation keys that are not about decoding are named in :data:`NOT_DECODING` with the reason;
  any other unknown key fails the case.

The match rate (cases matched / cases run, per peer; a deviation where the peers contradict each
other counts as matched, any other deviation as not matched) must be at least 90 %;
``test_match_rate`` prints it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tests.decode.cef_names import canonical_key
from tests.decode.core import NON_UTF8_WARNING, Record, convert, decode_cef, to_date
from wafpipe.decode.reader import FileReader, Problem
from wafpipe.errors import DecodeError
from wafpipe.fields.table import FIELDS
from wafpipe.model import Event

FILEBEAT = "filebeat-decode-cef"
LOGSTASH = "logstash-codec-cef"
PEERS = (FILEBEAT, LOGSTASH)
MIN_RATE = 0.90


@dataclass(frozen=True)
class Case:
    peer: str
    id: str
    data: dict[str, Any]

    @property
    def kind(self) -> str | None:
        return self.data.get("kind")


def _conformance_path() -> Path:
    default = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
    return Path(os.environ.get("WAFPIPE_CONFORMANCE_DIR", default))


def _load() -> list[Case]:
    base = _conformance_path()
    cases: list[Case] = []
    for peer in PEERS:
        path = base / peer / "cases.jsonl"
        if not path.is_file():
            continue  # the `conformance` fixture skips (or fails in CI) below
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                cases.append(Case(peer, data["id"], data))
    return cases


CASES = _load()
BY_ID = {c.id: c for c in CASES}

# --------------------------------------------------------------------------------------------------
# What we do not run, and why.

_ENCODE = (
    "Logstash encoder (CEF output: sanitising header fields, keys, values; validating severity); "
    "wafpipe only decodes CEF"
)
_CEF_DATES = (
    "the CEF textual date grammar (`MMM dd [yyyy] HH:mm:ss[.fff] [zone]`, default zone, year "
    "inference). wafpipe has no parser for it, by design: it does not type CEF values it does not "
    "map (rt, art, … stay text under imperva.waf.extensions), and the only CEF keys it types as "
    "dates, Imperva's start/end, are epoch milliseconds (FORMATS §2.3) read by the core's date "
    "conversion. A textual start/end (a foreign device) is not parsed: to_date rejects it, the "
    "mapper keeps it under imperva.waf.invalid with a warning and @timestamp falls back to the next "
    "source"
)
_MAC = (
    "Filebeat's MACAddressType conversion. No key of wafpipe's field table is typed as a MAC address "
    "and Imperva sends none; MAC-valued CEF keys (smac, dmac, amac, dvcmac) are kept as text under "
    "imperva.waf.extensions, so there is no wafpipe conversion to check"
)
NOT_APPLICABLE: dict[str, str] = {
    **{f"sanitize/sanitize_header_field/{i}": _ENCODE for i in range(8)},
    **{f"sanitize/sanitize_extension_key/{i}": _ENCODE for i in range(6)},
    **{f"sanitize/sanitize_extension_val/{i}": _ENCODE for i in range(8)},
    **{f"sanitize/valid_severity/{i}": _ENCODE for i in range(9)},
    "decode_cef_test.go/TestProcessorRun/custom_target_root": (
        "Filebeat processor option target_field='' plus Filebeat's generic CEF→ECS field mapping "
        "(source.ip, event.severity…); wafpipe's ECS mapping is the Imperva field table. "
        "The decoded part of the same input is checked by TestProcessorRun/ecs_disabled"
    ),
    # TestToTimestamp/0 (epoch milliseconds) is run through the core's date conversion (to_date).
    **{f"types_test.go/TestToTimestamp/{i}": _CEF_DATES for i in range(1, 29)},
    "types_test.go/TestToTimestampWithTimezone": _CEF_DATES,
    **{f"types_test.go/TestToMACAddress/{i}": _MAC for i in range(8)},
    # The epoch-millisecond cases and the unparsable input are run through the core's to_date.
    **{
        f"timestamp_normalizer/{name}": _CEF_DATES
        for name in (
            "parsing dates with a year specified",
            "context tz/no offset in input",
            "context tz/offset in input",
            "whole second precision",
            "millisecond precision",
            "microsecond precision",
            "nanosecond precision",
            "late December/yearless early January string",
            "late December/yearless mid January string",
        )
    },
}

# Filebeat processor cases whose expectations are about decoding (the rest: NOT_APPLICABLE).
PROCESSOR_RUN = {
    "decode_cef_test.go/TestProcessorRun/parse_errors",
    "decode_cef_test.go/TestProcessorRun/ecs_disabled",
    "decode_cef_test.go/TestProcessorRun/truncated_header",
    "decode_cef_test.go/TestProcessorRun/not_cef",
    "decode_cef_test.go/TestProcessorRun/leading_garbage",
    "decode_cef_test.go/BenchmarkProcessorRun/long_msg",
}

# Expectation keys that say nothing about the decoded CEF, with the reason they are not compared.
NOT_DECODING: dict[str, str] = {
    "fields_ecs_v1": "Logstash's generic CEF→ECS mapping; ours is Imperva's field table (its "
    "@timestamp comes from start/end only, see NOT_APPLICABLE for the date forms)",
    "tags_include": "Logstash's failure tag; for us the DecodeError / flagged record, which is checked",
    "tags_equal": "Logstash's failure tag; for us the DecodeError / flagged record, which is checked",
    "logged_error_contains": "wording of a Logstash log line; our DecodeError reason and hint are checked",
    "logged_error_matches": "wording of a Logstash log line; our DecodeError reason and hint are checked",
    "message_equals_input": "the raw line is kept by the reader (event.original, dead-letter raw "
    "bytes), not by decode_cef, which these error cases go through",
}


@dataclass(frozen=True)
class Deviation:
    # {"ext": {key: value}} and/or {"warnings": [...]}, or {"raises": "text"} (decode_cef or, for
    # a cef_timestamp_value case, the core's to_date)
    ours: dict[str, Any]
    why: str
    follows: str | None  # the other peer's case we follow when the peers contradict each other


_FRACTIONAL_MS = (
    "the core's date conversion reads integral epoch milliseconds only (version 1's to_date also "
    "read 10-digit epoch seconds): Imperva writes start/end "
    "as 13-digit epoch milliseconds (FORMATS §2.3) and ECS dates carry milliseconds. A fractional "
    "start/end is rejected and kept under imperva.waf.invalid with a warning. Not a contradiction "
    "between the peers (Filebeat has no such case): counted as not matched"
)

DEVIATIONS: dict[str, Deviation] = {
    "cef_test.go/TestEventUnpack/emptyExtensionValue": Deviation(
        {"ext": {"src": "10.0.0.192", "dst": "", "spt": "1232"}, "warnings": []},
        "an empty value is legal and kept: Imperva writes `cs9= cs9Label=Rule name` (FORMATS §3.5) "
        "and Logstash keeps empty values; Filebeat calls it an error",
        "#decode/timestamp-normalized fields/empty values",
    ),
    "cef_test.go/TestEventUnpack/errorEscapedPipeInExtension": Deviation(
        {"ext": {"moo": "this\\|has an escaped pipe"}, "warnings": []},
        "a backslash that escapes nothing CEF defines is kept as it is, never an error: user agents "
        "and post bodies carry raw backslashes; Logstash does the same, Filebeat fails the line",
        "#decode/should be OK with escaped pipes in the message",
    ),
    "decode_cef_test.go/TestProcessorRun/truncated_header": Deviation(
        {"raises": "incomplete CEF header: found 3 of 7"},
        "a line whose header lacks Name and Severity is dead-lettered with its raw bytes (DESIGN §7) "
        "rather than turned into an event of unknown kind; Logstash also fails such a payload",
        "#decode/with a non-CEF payload/containing 4 header-like sections",
    ),
    "#decode/should be OK to have one or more spaces between keys": Deviation(
        {"ext": {"src": "10.0.0.192 ", "dst": "12.121.122.82 ", "spt": "1232"}},
        "only the one space before a key separates; further trailing blanks belong to the value "
        "(a user agent may end in a space), as Filebeat preserves them; Logstash drops them",
        "cef_test.go/TestEventUnpack/padded",
    ),
    "#decode/should be OK to have one or more spaces in values": Deviation(
        {"ext": {"dst": "12.121.122.82 ", "spt": "1232", "dproc": "InternetExplorer x.x.x.x"}},
        "same rule as the case above: `dst=12.121.122.82  spt=` keeps one of its two blanks",
        "cef_test.go/TestEventUnpack/padded",
    ),
    "timestamp_normalizer/context tz/millis since epoch with microsecond decimals": Deviation(
        {"raises": "is not epoch milliseconds"}, _FRACTIONAL_MS, None
    ),
    "timestamp_normalizer/context tz/millis since epoch with nanosecond decimals": Deviation(
        {"raises": "is not epoch milliseconds"}, _FRACTIONAL_MS, None
    ),
}

# --------------------------------------------------------------------------------------------------
# The peers' expectations and our output, in one key space.

FB_TYPES: dict[str, set[str]] = {  # Filebeat type → the field-table types that agree with it
    "IntegerType": {"long"},
    "LongType": {"long"},
    "FloatType": {"double"},
    "DoubleType": {"double"},
    "StringType": {"keyword", "text"},
    "BooleanType": {"boolean"},
    "IPType": {"ip"},
    "MACAddressType": set(),
    "TimestampType": {"date"},
}
TABLE_TYPES = {f.key: f.type for f in FIELDS}
FB_HEADER = {  # Filebeat header field → Record attribute
    "Version": "format_version",
    "DeviceVendor": "vendor",
    "DeviceProduct": "product",
    "DeviceVersion": "version",
    "DeviceEventClassID": "signature",
    "Name": "name",
    "Severity": "severity",
}
FB_FLAT_HEADER = {  # Filebeat processor field → Record attribute
    "cef.version": "format_version",
    "cef.device.vendor": "vendor",
    "cef.device.product": "product",
    "cef.device.version": "version",
    "cef.device.event_class_id": "signature",
    "cef.name": "name",
    "cef.severity": "severity",
}
FB_EXT = "cef.extensions."
LS_HEADER = {  # Logstash (ecs_compatibility disabled) field → Record attribute
    "cefVersion": "format_version",
    "deviceVendor": "vendor",
    "deviceProduct": "product",
    "deviceVersion": "version",
    "deviceEventClassId": "signature",
    "name": "name",
    "severity": "severity",
    "syslog": "syslog_prefix",
}
_POS = re.compile(r" at pos \d+$")
_LS_INDEX = re.compile(r"\[(.+)\]\[(\d+)\]")
_EPOCH = re.compile(r"\d+(?:\.\d+)?")


def _header(rec: Record, attr: str) -> str:
    return getattr(rec, attr) or ""


def _ext_key(name: str) -> str:
    """A peer's extension name → our ``ext`` key (Logstash writes ``ad.field[0]`` as ``[ad.field][0]``)."""
    m = _LS_INDEX.fullmatch(name)
    return canonical_key(f"{m.group(1)}[{m.group(2)}]" if m else name)


def _our_ext(rec: Record, *, drop_empty: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in rec.ext.items():
        if value or not drop_empty:
            out.setdefault(canonical_key(key), value)  # a full name used as a key meets its short key
    return out


def _peer_ext(names: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in names.items():
        key = _ext_key(name)
        assert key not in out, f"two peer fields canonicalise to {key!r}"
        out[key] = value
    return out


def _subset(expected: dict[str, Any], ours: dict[str, Any], what: str) -> None:
    diff = {k: (v, ours.get(k, "<missing>")) for k, v in expected.items() if ours.get(k, "<missing>") != v}
    assert not diff, f"{what}: (peer, ours) differ: {diff}"


def _error_text(case: Case, text: str) -> None:
    d = case.data
    for word in d.get("error_contains", []):
        assert word in text, f"error text {text!r} lacks {word!r}"
    wanted = [_POS.sub("", m) for m in d.get("error_messages", [])]
    if wanted:
        assert any(w in text for w in wanted), f"error text {text!r} has none of {wanted}"


def _check_keys(case: Case, handled: set[str]) -> None:
    unknown = set(case.data.get("expect") or {}) - handled - set(NOT_DECODING)
    assert not unknown, f"expectation keys nobody checks: {unknown}"


def _ls_compare(expected: dict[str, Any], rec: Record, what: str) -> None:
    """Logstash's ``fields_ecs_disabled`` (header fields and extensions) against our record."""
    header = {k: v for k, v in expected.items() if k in LS_HEADER}
    _subset(header, {k: _header(rec, attr) for k, attr in LS_HEADER.items()}, f"{what} header")
    ext = _peer_ext({k: v for k, v in expected.items() if k not in LS_HEADER})
    _subset(ext, _our_ext(rec), f"{what} extensions")


# --------------------------------------------------------------------------------------------------
# The production reader over bytes: a headerless plain body, read in the given chunks.


class _Chunks(io.RawIOBase):
    """A byte stream whose ``read()`` returns the chunks one by one (a socket's short reads)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = [c for c in chunks if c]

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if not self._chunks:
            return 0
        chunk = self._chunks[0]
        n = min(len(buf), len(chunk))
        buf[:n] = chunk[:n]
        if n < len(chunk):
            self._chunks[0] = chunk[n:]
        else:
            self._chunks.pop(0)
        return n


def read_stream(chunks: list[bytes]) -> tuple[list[Event], list[Problem]]:
    reader = FileReader(lambda: _Chunks(chunks), "conformance-stream", format="cef")
    events: list[Event] = []
    problems: list[Problem] = []
    for item in reader.items():
        (events if isinstance(item, Event) else problems).append(item)
    return events, problems


def _reader_record(event: Event) -> Record:
    """The record behind an event: ``event.original`` is the text the reader decoded."""
    doc = event.doc
    rec = decode_cef(doc["event"]["original"])
    assert doc["event"].get("code") == (rec.signature or None), "the event is not mapped from this record"
    assert doc["imperva"]["waf"].get("event_name") == rec.name
    assert doc["observer"].get("version") == (rec.version or None)
    return rec


# --------------------------------------------------------------------------------------------------
# Runners. Each raises AssertionError when we do not match the peer.


def _check_fb_types(expected_ext: dict[str, dict[str, str]]) -> None:
    for name, spec in expected_ext.items():
        key = _ext_key(name)
        ours = TABLE_TYPES.get(key)
        if "Type" not in spec or ours is None:
            continue  # a key wafpipe does not type (see the module docstring)
        assert ours in FB_TYPES[spec["Type"]], f"type of {name}: peer {spec['Type']}, our field table {ours}"
        try:
            convert(ours, spec["String"])
        except ValueError as exc:
            raise AssertionError(f"{name}={spec['String']!r} does not convert as {ours}: {exc}") from None


def run_filebeat_unpack(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    _check_keys(case, {"Extensions", *FB_HEADER})
    options = d.get("options") or []
    assert set(options) <= {"WithRemoveEmptyValues", "WithFullExtensionNames"}, f"unknown option {options}"
    try:
        rec = decode_cef(d["input"])
    except DecodeError as exc:
        assert d.get("error") is not False, f"peer decodes, we raise: {exc}"
        if d.get("error"):
            _error_text(case, str(exc))
        return
    if d.get("error") is None:
        return  # fuzz input: anything but a crash is fine
    ours = _our_ext(rec, drop_empty="WithRemoveEmptyValues" in options)
    header = {k: v for k, v in exp.items() if k != "Extensions"}
    version = rec.format_version or ""
    ours_header = {k: _header(rec, attr) for k, attr in FB_HEADER.items()}
    ours_header["Version"] = int(version) if version.isdigit() else version
    _subset(header, ours_header, "header")
    expected_ext: dict[str, dict[str, str]] = exp.get("Extensions") or {}
    peer = _peer_ext({k: spec["String"] for k, spec in expected_ext.items()})
    if d.get("error"):
        assert rec.warnings, "peer reports an error; we neither raise nor flag the record"
        _error_text(case, " | ".join(rec.warnings))
    elif "Extensions" in exp:
        assert set(ours) == set(peer), f"keys differ: peer {sorted(peer)}, ours {sorted(ours)}"
    _subset(peer, ours, "extensions")
    _check_fb_types(expected_ext)


def run_filebeat_processor(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    _check_keys(case, {"flattened_fields", "field_equals", "run_returns_error"})
    try:
        rec = decode_cef(d["input"])
    except DecodeError as exc:
        assert d.get("error"), f"peer decodes (its processor does not fail), we raise: {exc}"
        _error_text(case, str(exc))
        return
    assert not d.get("error"), "peer fails, we decode"
    ours: dict[str, Any] = {k: _header(rec, attr) for k, attr in FB_FLAT_HEADER.items()}
    ours.update({FB_EXT + k: v for k, v in _our_ext(rec).items()})

    def our_space(fields: dict[str, Any]) -> dict[str, Any]:
        header = {k: v for k, v in fields.items() if k in FB_FLAT_HEADER}
        ext = _peer_ext({k[len(FB_EXT) :]: v for k, v in fields.items() if k.startswith(FB_EXT)})
        return header | {FB_EXT + k: v for k, v in ext.items()}

    _subset(our_space(exp.get("field_equals", {})), ours, "fields")
    fields = exp.get("flattened_fields")
    if fields is None:
        return
    cef_fields = our_space(fields)  # the rest is Filebeat's ECS mapping and its raw `message`
    errors = fields.get("error.message")
    if errors:  # the peer decoded partially and reported errors: flagged partial record
        assert rec.warnings, f"peer reports {errors}; we do not flag the record"
        text = " | ".join(rec.warnings)
        assert any(_POS.sub("", e) in text for e in errors), f"warnings {text!r} match none of {errors}"
    else:
        assert set(cef_fields) == set(ours), f"fields differ: peer {sorted(cef_fields)}, ours {sorted(ours)}"
    _subset(cef_fields, ours, "fields")


def _to_date(value: str) -> datetime:
    """The core's ``date`` conversion (what the mapper applies to start/end), as an aware datetime."""
    try:
        iso = to_date(value)
    except ValueError as exc:
        raise AssertionError(f"peer parses {value!r}, we reject it: {exc}") from None
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _epoch_ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def run_filebeat_timestamp(case: Case) -> None:
    d = case.data
    _check_keys(case, {"parses_as_timestamp"})
    assert not d.get("options"), f"unknown option {d.get('options')}"
    if d.get("error"):
        try:
            got = to_date(d["input"])
        except ValueError:
            return
        raise AssertionError(f"peer rejects {d['input']!r}, we read {got}")
    _to_date(d["input"])


def run_logstash_timestamp(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    _check_keys(case, {"year", "month", "utc", "nsec", "epoch_seconds_rational"})
    options = d.get("options") or {}
    # Epoch values are never shifted by a zone, so the peer's context zone changes nothing here.
    assert set(options) <= {"context_timezone"}, f"unknown option {options}"
    if d.get("error"):
        try:
            got = to_date(d["input"])
        except ValueError as exc:
            assert d["error_message_contains"] in str(exc), f"{exc} does not name the value"
            return
        raise AssertionError(f"peer rejects {d['input']!r}, we read {got}")
    when = _to_date(d["input"])
    if "utc" in exp:
        assert when == datetime.fromisoformat(exp["utc"].replace("Z", "+00:00"))
    if "nsec" in exp:
        assert _epoch_ms(when) % 1000 * 1_000_000 == exp["nsec"]
    if "epoch_seconds_rational" in exp:
        assert Fraction(_epoch_ms(when), 1000) == Fraction(exp["epoch_seconds_rational"])
    if "year" in exp:
        assert when.year == exp["year"]
    if "month" in exp:
        assert when.month == exp["month"]


def run_logstash_decode(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    options = d.get("options") or {}
    line = d["input"]
    if d.get("input_encoding"):
        _check_keys(case, {"message_bytes_equal_input_bytes"})
        raw = line.encode(d["input_encoding"])
        events, problems = read_stream([raw])
        if problems:
            assert d.get("error"), f"peer decodes, we report {[p.message() for p in problems]}"
            assert [p.kind for p in problems] == ["decode"] and problems[0].raw == raw
            return
        assert len(events) == 1, f"{len(events)} events from one line"
        waf = events[0].doc["imperva"]["waf"]
        if d.get("error"):
            assert NON_UTF8_WARNING in waf.get("warnings", []), "peer fails; we do not flag the record"
        if exp.get("message_bytes_equal_input_bytes"):
            assert base64.b64decode(waf["original_base64"]) == raw, "the raw bytes are not kept"
        return
    _check_keys(case, {"fields_ecs_disabled"})
    assert set(options) <= {"raw_data_field", "delimiter"}, f"unknown option {options}"
    assert options.get("delimiter") is None, "a delimiter is a streaming case"
    try:
        rec = decode_cef(line)
    except DecodeError as exc:
        assert d.get("error"), f"peer decodes, we raise: {exc}"
        assert exc.reason and exc.hint, "a DecodeError must say what and how to fix"
        return
    if d.get("error"):
        assert rec.warnings, "peer fails the payload; we neither raise nor flag the record"
        return
    expected = dict(exp.get("fields_ecs_disabled", {}))
    raw_field = options.get("raw_data_field")
    if raw_field:  # the reader keeps the raw line as event.original
        events, problems = read_stream([line.encode()])
        assert not problems and len(events) == 1
        assert events[0].doc["event"]["original"] == expected.pop(raw_field)
    _ls_compare(expected, rec, "fields")


def run_logstash_stream(case: Case) -> None:
    d = case.data
    exp = d["expect"]
    _check_keys(case, {"steps", "events"})
    options = d.get("options") or {}
    assert options.get("delimiter") in ("\n", "\r\n"), "the reader splits records on LF (CRLF included)"
    if "steps" in exp:
        chunks = [step["decode"] for step in exp["steps"]]
        want = [event for step in exp["steps"] for event in step["events"]]
        ends = exp["steps"][-1]["flush"]
    else:
        chunks = [d["input"]]
        want = exp["events"]
        ends = bool(options.get("flush"))
    assert ends, "the peer's stream does not end; a file does"
    events, problems = read_stream([c.encode() for c in chunks])
    if d.get("error"):
        assert problems and {p.kind for p in problems} == {"decode"}, "peer fails a record; we report nothing"
    else:
        assert not problems, [p.message() for p in problems]
    assert len(events) == len(want), f"{len(events)} events, peer {len(want)}"
    for event, expected in zip(events, want, strict=True):
        _ls_compare(expected["fields_ecs_disabled"], _reader_record(event), "event")


def runner(case: Case) -> Callable[[Case], None] | None:
    """The function that checks ``case``, or None when the case is not applicable."""
    kind = case.kind
    if kind == "cef_timestamp_value":
        if not (_EPOCH.fullmatch(case.data["input"]) or case.data.get("error")):
            return None  # the textual CEF date grammar
        return run_filebeat_timestamp if case.peer == FILEBEAT else run_logstash_timestamp
    if case.peer == FILEBEAT:
        if kind is None:
            return run_filebeat_unpack
        if kind == "processor":
            return run_filebeat_processor if case.id in PROCESSOR_RUN else None
        assert kind == "cef_mac_value", f"unknown kind {kind}"
        return None
    if kind is None:
        return run_logstash_decode
    if kind.startswith("encode_"):
        return None
    return {"decode_stream": run_logstash_stream}[kind]


def matches_peer(case: Case) -> bool:
    run = runner(case)
    assert run is not None, f"{case.id} has no runner"
    try:
        run(case)
    except AssertionError:
        return False
    return True


def check_ours(case: Case, dev: Deviation) -> None:
    value = case.data["input"]
    parse = to_date if case.kind == "cef_timestamp_value" else decode_cef
    if "raises" in dev.ours:
        with pytest.raises(ValueError if parse is to_date else DecodeError) as err:
            parse(value)
        assert dev.ours["raises"] in str(err.value)
        return
    rec = decode_cef(value)
    _subset(dev.ours.get("ext", {}), rec.ext, "extensions")
    if "warnings" in dev.ours:
        assert list(rec.warnings) == dev.ours["warnings"]


# --------------------------------------------------------------------------------------------------
# Tests.

RUN = [c for c in CASES if c.id not in NOT_APPLICABLE]


def test_vectors_present(conformance: Path) -> None:
    for peer in PEERS:
        assert (conformance / peer / "cases.jsonl").is_file()
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique across the two files"


def test_not_applicable_is_exactly_the_cases_without_runner(conformance: Path) -> None:
    skipped = {c.id for c in CASES if runner(c) is None}
    assert skipped == set(NOT_APPLICABLE)


def test_deviation_table_is_sound(conformance: Path) -> None:
    for case_id, dev in DEVIATIONS.items():
        case = BY_ID[case_id]
        assert case_id not in NOT_APPLICABLE
        assert not matches_peer(case), f"{case_id}: we match the peer now; drop the deviation"
        if dev.follows is not None:
            other = BY_ID[dev.follows]
            assert other.peer != case.peer, f"{case_id}: a contradiction needs the other peer's case"
            assert other.id not in DEVIATIONS and matches_peer(other), (
                f"{case_id}: we do not follow {other.id}"
            )


@pytest.mark.parametrize("case", RUN, ids=[f"{c.peer}:{c.id}" for c in RUN])
def test_case(case: Case, conformance: Path) -> None:
    dev = DEVIATIONS.get(case.id)
    run = runner(case)
    assert run is not None
    if dev is not None:
        check_ours(case, dev)
    else:
        run(case)


_TEXT_INPUTS = [c for c in CASES if isinstance(c.data.get("input"), str)]


@pytest.mark.parametrize("case", _TEXT_INPUTS, ids=lambda c: c.id)
def test_never_crashes(case: Case, conformance: Path) -> None:
    """Every input — whatever the peer expects — decodes or raises DecodeError, nothing else; the
    reader turns it into events and problems, never an exception."""
    line = case.data["input"]
    try:
        decode_cef(line)
    except DecodeError as exc:
        assert exc.reason and exc.hint and exc.column >= 0
    read_stream([line.encode("utf-8", "surrogatepass")])


def test_match_rate(conformance: Path) -> None:
    report = []
    for peer in PEERS:
        cases = [c for c in RUN if c.peer == peer]
        devs = [c for c in cases if c.id in DEVIATIONS]
        exact = sum(matches_peer(c) for c in cases if c.id not in DEVIATIONS)
        followed = sum(DEVIATIONS[c.id].follows is not None for c in devs)
        matched = exact + followed
        rate = matched / len(cases)
        skipped = sum(1 for c in CASES if c.peer == peer and c.id in NOT_APPLICABLE)
        report.append(
            f"{peer}: {matched}/{len(cases)} cases run matched ({rate:.1%}): {exact} exact, "
            f"{followed} deviation(s) following the other peer; {len(devs) - followed} other "
            f"deviation(s); {skipped} not applicable; {len(cases) + skipped} cases in all"
        )
        assert rate >= MIN_RATE, report[-1]
    print("\n" + "\n".join(report))
