"""Peer conformance: every decoding vector of Filebeat's ``decode_cef`` and Logstash's ``codec-cef``.

Each line of ``../shared/conformance/{filebeat-decode-cef,logstash-codec-cef}/cases.jsonl`` is one
case. Every case is either run here or listed in :data:`NOT_APPLICABLE` with the reason (a test
checks that this list is exactly the set of cases without a runner, so nothing disappears). A
case where we knowingly assert something else than the peer is listed in :data:`DEVIATIONS` with
what we assert, why, and — when the two peers contradict each other — the other peer's case we
follow; that table's assertions are run too, and each deviation is checked to still be one.

How a case is judged
--------------------
* Plain decoding: the peer's header fields and extensions must equal ours (:func:`parse_cef`, keys
  in their original spelling). Filebeat's ``Type`` of a key must equal our CEF dictionary's
  (:func:`extension_type`); its options ``WithRemoveEmptyValues``/``WithFullExtensionNames`` are
  applied to our pairs here. Logstash's ``fields_ecs_disabled`` view is rebuilt from our pairs with
  the CEF full names (:func:`full_name`); only the fields the case lists are compared.
* An error case (``"error": true``) matches when we raise :class:`DecodeError`, or return a record
  flagged with warnings while every extension the peer still produced equals ours (a "flagged
  partial record", conformance README). Filebeat's ``error_contains`` words must appear in our
  message. ``"error": null`` (fuzz inputs) only requires no other exception than DecodeError.
* Streaming (``decode_stream``) goes through :class:`StreamDecoder`; typed values
  (``cef_timestamp_value``, ``cef_mac_value``) through :mod:`wafpipe.decode.cef_types`.
* Expectation keys that are not about decoding are named in :data:`NOT_DECODING` with the reason;
  any other unknown key fails the case.

The match rate (cases matched / cases run, per peer; a deviation where the peers contradict each
other counts as matched) must be at least 90 %; ``test_match_rate`` prints it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from wafpipe.decode.cef import CefEvent, decode_cef, parse_cef
from wafpipe.decode.cef_types import CefValueError, extension_type, full_name, parse_cef_timestamp, to_mac
from wafpipe.decode.record import RawRecord
from wafpipe.decode.stream import NON_UTF8_WARNING, StreamDecoder, StreamFailure, decode_bytes
from wafpipe.errors import DecodeError

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
NOT_APPLICABLE: dict[str, str] = {
    **{f"sanitize/sanitize_header_field/{i}": _ENCODE for i in range(8)},
    **{f"sanitize/sanitize_extension_key/{i}": _ENCODE for i in range(6)},
    **{f"sanitize/sanitize_extension_val/{i}": _ENCODE for i in range(8)},
    **{f"sanitize/valid_severity/{i}": _ENCODE for i in range(9)},
    "decode_cef_test.go/TestProcessorRun/custom_target_root": (
        "Filebeat processor option target_field='' plus Filebeat's generic CEF→ECS field mapping "
        "(source.ip, event.severity…); wafpipe's ECS mapping is the Imperva table in wafpipe.ecs. "
        "The decoded part of the same input is checked by TestProcessorRun/ecs_disabled"
    ),
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
    "fields_ecs_v1": "Logstash's generic CEF→ECS mapping; ours is Imperva's (wafpipe.ecs). A "
    "concrete @timestamp in it is checked through parse_cef_timestamp",
    "tags_include": "Logstash's failure tag; for us the DecodeError / flagged record, which is checked",
    "tags_equal": "Logstash's failure tag; for us the DecodeError / flagged record, which is checked",
    "logged_error_contains": "wording of a Logstash log line; our DecodeError reason and hint are checked",
    "logged_error_matches": "wording of a Logstash log line; our DecodeError reason and hint are checked",
    "message_equals_input": "the raw line is kept by the reader as event.original, not by the decoder",
    "message_bytes_equal_input_bytes": "the raw bytes are kept by the reader (event.original, dead letters)",
}


@dataclass(frozen=True)
class Deviation:
    ours: dict[str, Any]  # {"ext": {key: value}} and/or {"warnings": [...]}, or {"raises": "text"}
    why: str
    follows: str | None  # the other peer's case we follow when the peers contradict each other


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
}

# --------------------------------------------------------------------------------------------------
# Views of our output in each peer's terms.

FB_TYPES = {
    "IntegerType": "int",
    "LongType": "long",
    "FloatType": "float",
    "DoubleType": "double",
    "StringType": "string",
    "BooleanType": "bool",
    "IPType": "ip",
    "MACAddressType": "mac",
    "TimestampType": "timestamp",
}
FB_HEADER = ("Version", "DeviceVendor", "DeviceProduct", "DeviceVersion", "DeviceEventClassID", "Name", "Severity")
_POS = re.compile(r" at pos \d+$")
_LS_INDEX = re.compile(r"(.+)\[(\d+)\]")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT")


def _fb_header(ev: CefEvent) -> dict[str, Any]:
    return {
        "Version": int(ev.version) if ev.version.isdigit() else ev.version,
        "DeviceVendor": ev.vendor,
        "DeviceProduct": ev.product,
        "DeviceVersion": ev.device_version,
        "DeviceEventClassID": ev.signature,
        "Name": ev.name,
        "Severity": ev.severity,
    }


def _fb_flat(ev: CefEvent) -> dict[str, str]:
    flat = {
        "cef.version": ev.version,
        "cef.device.vendor": ev.vendor,
        "cef.device.product": ev.product,
        "cef.device.version": ev.device_version,
        "cef.device.event_class_id": ev.signature,
        "cef.name": ev.name,
        "cef.severity": ev.severity,
    }
    for key, value in ev.extensions:
        flat.setdefault(f"cef.extensions.{full_name(key)}", value)
    return flat


def _ls_key(name: str) -> str:
    m = _LS_INDEX.fullmatch(name)
    return f"[{m.group(1)}][{m.group(2)}]" if m else name  # Logstash field-reference syntax


def _ls_view(ev: CefEvent | RawRecord, line: str, options: dict[str, Any]) -> dict[str, str]:
    if isinstance(ev, CefEvent):
        view = {
            "cefVersion": ev.version,
            "deviceVendor": ev.vendor,
            "deviceProduct": ev.product,
            "deviceVersion": ev.device_version,
            "deviceEventClassId": ev.signature,
            "name": ev.name,
            "severity": ev.severity,
        }
        pairs = ev.extensions
    else:
        view = {
            "cefVersion": ev.format_version or "",
            "deviceVendor": ev.vendor or "",
            "deviceProduct": ev.product or "",
            "deviceVersion": ev.version or "",
            "deviceEventClassId": ev.signature or "",
            "name": ev.name or "",
            "severity": ev.severity or "",
        }
        pairs = list(ev.ext.items())
    if ev.syslog_prefix:
        view["syslog"] = ev.syslog_prefix
    for key, value in pairs:
        view.setdefault(_ls_key(full_name(key)), value)
    if options.get("raw_data_field"):
        view[options["raw_data_field"]] = line  # the reader keeps the raw line (event.original)
    return view


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


# --------------------------------------------------------------------------------------------------
# Runners. Each raises AssertionError when we do not match the peer.


def run_filebeat_unpack(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    _check_keys(case, {"Extensions", *FB_HEADER})
    options = d.get("options") or []
    try:
        ev = parse_cef(d["input"])
    except DecodeError as exc:
        assert d.get("error") is not False, f"peer decodes, we raise: {exc}"
        if d.get("error"):
            _error_text(case, str(exc))
        return
    if d.get("error") is None:
        return  # fuzz input: anything but a crash is fine
    pairs = ev.extensions
    if "WithRemoveEmptyValues" in options:
        pairs = [(k, v) for k, v in pairs if v]
    if "WithFullExtensionNames" in options:
        pairs = [(full_name(k), v) for k, v in pairs]
    ours = dict(reversed(pairs))  # first occurrence wins
    header = {k: v for k, v in exp.items() if k != "Extensions"}
    _subset(header, _fb_header(ev), "header")
    expected_ext: dict[str, dict[str, str]] = exp.get("Extensions") or {}
    if d.get("error"):
        assert ev.warnings, "peer reports an error; we neither raise nor flag the record"
        _error_text(case, " | ".join(ev.warnings))
    elif "Extensions" in exp:
        assert set(ours) == set(expected_ext), f"keys differ: peer {sorted(expected_ext)}, ours {sorted(ours)}"
    _subset({k: spec["String"] for k, spec in expected_ext.items()}, ours, "extensions")
    for key, spec in expected_ext.items():
        want = FB_TYPES[spec["Type"]] if "Type" in spec else None
        assert extension_type(key) == want, f"type of {key}: peer {want}, ours {extension_type(key)}"


def run_filebeat_processor(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    _check_keys(case, {"flattened_fields", "field_equals", "run_returns_error"})
    try:
        ev = parse_cef(d["input"])
    except DecodeError as exc:
        assert d.get("error"), f"peer decodes (its processor does not fail), we raise: {exc}"
        _error_text(case, str(exc))
        return
    assert not d.get("error"), "peer fails, we decode"
    flat = _fb_flat(ev)
    _subset(exp.get("field_equals", {}), flat, "fields")
    fields = exp.get("flattened_fields")
    if fields is None:
        return
    cef_fields = {k: v for k, v in fields.items() if k.startswith("cef.")}
    errors = fields.get("error.message")
    if errors:  # the peer decoded partially and reported errors: flagged partial record
        assert ev.warnings, f"peer reports {errors}; we do not flag the record"
        text = " | ".join(ev.warnings)
        assert any(_POS.sub("", e) in text for e in errors), f"warnings {text!r} match none of {errors}"
        _subset(cef_fields, flat, "fields")
    else:
        assert set(cef_fields) == set(flat), f"fields differ: peer {sorted(cef_fields)}, ours {sorted(flat)}"
        _subset(cef_fields, flat, "fields")


def run_filebeat_timestamp(case: Case) -> None:
    d = case.data
    exp = d["expect"]
    _check_keys(case, {"parses_as_timestamp", "utc_hour", "utc_minute"})
    tz = None
    if d.get("options") == ["default timezone = fixed offset +02:15"]:
        tz = timezone(timedelta(hours=2, minutes=15))
    else:
        assert not d.get("options"), f"unknown option {d.get('options')}"
    when = parse_cef_timestamp(d["input"], tz=tz).datetime
    if "utc_hour" in exp:
        assert (when.hour, when.minute) == (exp["utc_hour"], exp["utc_minute"])


def run_filebeat_mac(case: Case) -> None:
    d = case.data
    _check_keys(case, {"parses_as_mac"})
    mac = to_mac(d["input"])
    assert mac.replace(":", "") == re.sub(r"[^0-9A-Fa-f]", "", d["input"]).lower()


def run_logstash_decode(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    _check_keys(case, {"fields_ecs_disabled"})
    options = d.get("options") or {}
    line = d["input"]
    if d.get("input_encoding"):
        raw = line.encode(d["input_encoding"])
        try:
            rec = decode_bytes(raw)
        except DecodeError as exc:
            assert d.get("error"), f"peer decodes, we raise: {exc}"
            return
        assert not d.get("error") or NON_UTF8_WARNING in rec.warnings, "peer fails; we do not flag"
        return
    try:
        ev = parse_cef(line)
    except DecodeError as exc:
        assert d.get("error"), f"peer decodes, we raise: {exc}"
        assert exc.reason and exc.hint, "a DecodeError must say what and how to fix"
        return
    if d.get("error"):
        assert ev.warnings, "peer fails the payload; we neither raise nor flag the record"
        return
    _subset(exp.get("fields_ecs_disabled", {}), _ls_view(ev, line, options), "fields")
    stamp = (exp.get("fields_ecs_v1") or {}).get("@timestamp")
    if isinstance(stamp, str) and _ISO.match(stamp):
        view = _ls_view(ev, line, options)
        got = parse_cef_timestamp(view["deviceReceiptTime"], tz=view.get("deviceTimeZone"))
        assert got.isoformat() == stamp


def run_logstash_stream(case: Case) -> None:
    d = case.data
    exp = d["expect"]
    _check_keys(case, {"steps", "events"})
    options = d.get("options") or {}
    dec = StreamDecoder(decode_cef, delimiter=options["delimiter"])

    def views(got: list[RawRecord | StreamFailure], want: list[dict[str, Any]]) -> None:
        assert len(got) == len(want), f"{len(got)} events, peer {len(want)}"
        for rec, event in zip(got, want, strict=True):
            assert isinstance(rec, RawRecord), f"record failed: {rec}"
            _subset(event["fields_ecs_disabled"], _ls_view(rec, "", {}), "event")

    if "steps" in exp:
        for step in exp["steps"]:
            got = dec.decode(step["decode"])
            if step["flush"]:
                got += dec.flush()
            views(got, step["events"])
    else:
        got = dec.decode(d["input"])
        if options.get("flush"):
            got += dec.flush()
        views(got, exp["events"])


def run_logstash_timestamp(case: Case) -> None:
    d = case.data
    exp = d.get("expect") or {}
    _check_keys(case, {"year", "utc", "nsec", "month", "epoch_seconds_rational"})
    options = d.get("options") or {}
    now = None
    if "now" in options:  # 2020-12-31T23:53:08.123456789Z: datetime keeps microseconds
        stamp = re.sub(r"(\.\d{6})\d*Z$", r"\1+00:00", options["now"])
        now = datetime.fromisoformat(stamp).astimezone(UTC)
    if d.get("error"):
        with pytest.raises(CefValueError) as err:
            parse_cef_timestamp(d["input"], tz=options.get("context_timezone"), now=now)
        assert d["error_message_contains"] in str(err.value)
        return
    got = parse_cef_timestamp(d["input"], tz=options.get("context_timezone"), now=now)
    if "utc" in exp:
        assert got.isoformat() == exp["utc"]
    if "nsec" in exp:
        assert got.nanosecond == exp["nsec"]
    if "year" in exp:
        assert got.datetime.year == exp["year"]
    if "month" in exp:
        assert got.datetime.month == exp["month"]
    if "epoch_seconds_rational" in exp:
        assert Fraction(got.ns, 10**9) == Fraction(exp["epoch_seconds_rational"])


def runner(case: Case) -> Callable[[Case], None] | None:
    """The function that checks ``case``, or None when the case is not about decoding."""
    kind = case.kind
    if case.peer == FILEBEAT:
        if kind is None:
            return run_filebeat_unpack
        if kind == "processor":
            return run_filebeat_processor if case.id in PROCESSOR_RUN else None
        return {"cef_timestamp_value": run_filebeat_timestamp, "cef_mac_value": run_filebeat_mac}[kind]
    if kind is None:
        return run_logstash_decode
    if kind.startswith("encode_"):
        return None
    return {"decode_stream": run_logstash_stream, "cef_timestamp_value": run_logstash_timestamp}[kind]


def matches_peer(case: Case) -> bool:
    run = runner(case)
    assert run is not None, f"{case.id} has no runner"
    try:
        run(case)
    except AssertionError:
        return False
    return True


def check_ours(case: Case, dev: Deviation) -> None:
    line = case.data["input"]
    if "raises" in dev.ours:
        with pytest.raises(DecodeError) as err:
            parse_cef(line)
        assert dev.ours["raises"] in str(err.value)
        return
    ev = parse_cef(line)
    _subset(dev.ours.get("ext", {}), dict(reversed(ev.extensions)), "extensions")
    if "warnings" in dev.ours:
        assert list(ev.warnings) == dev.ours["warnings"]


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
            assert other.id not in DEVIATIONS and matches_peer(other), f"{case_id}: we do not follow {other.id}"


@pytest.mark.parametrize("case", RUN, ids=[f"{c.peer}:{c.id}" for c in RUN])
def test_case(case: Case, conformance: Path) -> None:
    dev = DEVIATIONS.get(case.id)
    run = runner(case)
    assert run is not None
    if dev is not None:
        check_ours(case, dev)
    else:
        run(case)


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.data.get("input"), str)], ids=lambda c: c.id)
def test_never_crashes(case: Case, conformance: Path) -> None:
    """Every input — whatever the peer expects — decodes or raises DecodeError, nothing else."""
    for func in (parse_cef, decode_cef):
        try:
            func(case.data["input"])
        except DecodeError as exc:
            assert exc.reason and exc.hint and exc.column >= 0


def test_match_rate(conformance: Path) -> None:
    report = []
    for peer in PEERS:
        cases = [c for c in RUN if c.peer == peer]
        matched = sum(
            (DEVIATIONS[c.id].follows is not None) if c.id in DEVIATIONS else matches_peer(c) for c in cases
        )
        rate = matched / len(cases)
        skipped = sum(1 for c in CASES if c.peer == peer and c.id in NOT_APPLICABLE)
        deviations = sum(1 for c in cases if c.id in DEVIATIONS)
        report.append(
            f"{peer}: {matched}/{len(cases)} decoding cases matched ({rate:.1%}); "
            f"{deviations} deviation(s), {skipped} not applicable"
        )
        assert rate >= MIN_RATE, report[-1]
    print("\n" + "\n".join(report))
