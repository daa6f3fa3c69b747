"""The native decoders against the Python ones (the oracle until the core replaces them).

Every line is decoded by both, through ``wafpipe._native.decode_lines``, and the records — keys
in order, values, repeated keys, header slots, warnings — or the errors (reason and column) must
be identical. Lines come from generated files in every format, compression and quirk (with and
without ``--bad-input``), from the peer vectors, and from hypothesis, which builds lines out of the
pieces the tokenizers care about (separators, escapes, known and unknown keys, free-text keys).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.decode.test_conformance import CASES
from wafpipe import _native
from wafpipe.decode.detect import make_decoder
from wafpipe.decode.record import RawRecord, utf8_text
from wafpipe.errors import DecodeError
from wafpipe.imperva.container import ImpervaFile
from wafpipe.tools.generate import generate_files

FORMATS = ("cef", "leef", "w3c")


def _record(rec: RawRecord | None) -> dict[str, Any] | None:
    if rec is None:
        return None
    return {
        "format": rec.format,
        "ext": [[k, v] for k, v in rec.ext.items()],
        "vendor": rec.vendor,
        "product": rec.product,
        "version": rec.version,
        "signature": rec.signature,
        "name": rec.name,
        "severity": rec.severity,
        "format_version": rec.format_version,
        "syslog_prefix": rec.syslog_prefix,
        "dups": [[k, list(v)] for k, v in (rec.dups or {}).items()],
        "warnings": list(rec.warnings),
    }


def python_decode(fmt: str, header: dict[str, str], lines: list[str]) -> list[dict[str, Any] | None]:
    decoder = make_decoder(fmt, header)
    out: list[dict[str, Any] | None] = []
    for line in lines:
        try:
            out.append(_record(decoder.decode(line)))
        except DecodeError as exc:
            out.append({"error": exc.reason, "column": exc.column})
    return out


def native_decode(fmt: str, header: dict[str, str], lines: list[str]) -> list[dict[str, Any] | None]:
    return [_without_hint(r) for r in _native.decode_lines(fmt, header, lines)]


def _without_hint(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is not None and "error" in result:
        result.pop("hint", None)
    return result


def assert_same(fmt: str, header: dict[str, str], lines: list[str]) -> None:
    expected = python_decode(fmt, header, lines)
    actual = native_decode(fmt, header, lines)
    for line, want, got in zip(lines, expected, actual, strict=True):
        assert got == want, f"{fmt} line differs: {line!r}"


def _file_lines(path: Path) -> tuple[str, dict[str, str], list[str]]:
    f = ImpervaFile.from_path(path)
    lines = [utf8_text(bl.raw)[0] for bl in f.lines()]
    header = dict(f.info.header)
    fmt = (header.get("format") or "").lower()
    return fmt, header, lines


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("compression", ["zlib", "gzip", "none"])
def test_generated_files_decode_identically(tmp_path: Path, fmt: str, compression: str) -> None:
    paths = generate_files(tmp_path, events=1500, files=2, fmt=fmt, compression=compression,
                           attack_ratio=0.4, seed=7)
    for path in paths:
        file_fmt, header, lines = _file_lines(path)
        assert file_fmt == fmt and lines
        assert_same(fmt, header, lines)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_input_files_decode_identically(tmp_path: Path, fmt: str) -> None:
    paths = generate_files(tmp_path, events=200, files=1, fmt=fmt, seed=3, bad_input=True)
    checked = 0
    for path in paths[1:]:
        try:
            file_fmt, header, lines = _file_lines(path)
        except Exception:  # a container the Python reader refuses has no lines to compare
            continue
        assert_same(file_fmt if file_fmt in FORMATS else fmt, header, lines)
        checked += 1
    assert checked >= 3


def _peer_inputs() -> list[str]:
    out = []
    for case in CASES:
        raw = case.data.get("input")
        if not isinstance(raw, str):
            continue
        if case.data.get("input_encoding") == "base64":
            raw = base64.b64decode(raw).decode("utf-8", "replace")
        out.extend(raw.splitlines() or [raw])
    return out


@pytest.mark.parametrize("fmt", ["cef", "leef"])
def test_peer_vectors_decode_identically(conformance: Path, fmt: str) -> None:
    lines = _peer_inputs()
    assert len(lines) > 100
    assert_same(fmt, {}, lines)


# ------------------------------------------------------------------------------------ hypothesis
_KEYS = ["src", "act", "requestClientApplication", "postbody", "cs1", "cs1Label", "cs9", "cs10", "ref",
         "fileId", "foo", "x.y", "a[0]", "_k", "cicode", "ver", "start", "cn1", "popName", "url",
         "devTimeFormat", "cat", "sev", "usrName"]
_PIECES = st.sampled_from([" ", "  ", "=", "\\", "\\=", "\\\\", "\\n", "\\r", "|", "\\|", "\t", "\r", "\n",
                           "CEF:0|", "LEEF:1.0|", "LEEF:2.0|", "^", "x^", "\"", "é", "\ufffd", "a", "1", ",",
                           "[", "]", "{\"a\":1}", "/", "?", "-"])
_VALUE = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=6).map("".join)
_PAIR = st.tuples(st.sampled_from(_KEYS), _VALUE)


@st.composite
def cef_lines(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["", "<14>Jan 1 00:00:00 host ", "junk "]))
    vendor = draw(st.sampled_from(["Incapsula", "Other", "Inc\\|apsula"]))
    header = [draw(st.sampled_from(["0", "1", ""])), vendor, "SIEMintegration", "1",
              draw(st.sampled_from(["1", "0", "Normal"])), draw(_VALUE), draw(st.sampled_from(["0", "-1", "x"]))]
    cut = draw(st.integers(min_value=4, max_value=7))
    pairs = draw(st.lists(_PAIR, max_size=8))
    sep = draw(st.sampled_from([" ", "", "  "]))
    ext = " ".join(f"{k}={v}" for k, v in pairs)
    return prefix + "CEF:" + "|".join(header[:cut]) + "|" + sep + ext + draw(st.sampled_from(["", " ", "\r"]))


@st.composite
def leef_lines(draw: st.DrawFn) -> str:
    version = draw(st.sampled_from(["1.0", "2.0", "0", "2"]))
    delim = draw(st.sampled_from(["", "^", "x5E", "0x09", "|", "\t"])) if version.startswith("2") else ""
    head = ["LEEF:" + version, "Incapsula", "SIEMintegration", "1", draw(_VALUE)]
    if version.startswith("2"):
        head.append(delim)
    sep = {"": "\t", "^": "^", "x5E": "^", "0x09": "\t", "|": "|", "\t": "\t"}[delim]
    sep = draw(st.sampled_from([sep, "\t", "^"]))
    pairs = draw(st.lists(_PAIR, max_size=8))
    tail = draw(st.sampled_from(["", "\t", "\t\t", "^", " "]))
    return "|".join(head) + "|" + sep.join(f"{k}={v}" for k, v in pairs) + tail


_W3C_VALUE = st.one_of(st.sampled_from(["-", "\"a b\"", "\"\"", "\"x\"\"y\"", "1.2.3.4", "2024-01-01", "12:00:00",
                                        "GET", "\"", "a\"b"]), _VALUE.filter(lambda v: "\n" not in v))


@st.composite
def w3c_lines(draw: st.DrawFn) -> list[str]:
    columns = draw(st.lists(st.sampled_from(["date", "time", "c-ip", "cs-method", "cs(User-Agent)", "cs-rule",
                                             "cs-severity", "s-xff", "x-unknown", "cs-uri"]),
                            min_size=1, max_size=6, unique=True))
    lines = ["#Software: Imperva", "#Fields: " + " ".join(columns)]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        values = [draw(_W3C_VALUE) for _ in range(draw(st.integers(0, len(columns) + 1)))]
        lines.append(draw(st.sampled_from([" ", "\t"])).join(values))
    return lines


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.lists(cef_lines(), min_size=1, max_size=5))
def test_hypothesis_cef(lines: list[str]) -> None:
    assert_same("cef", {}, lines)


@_SETTINGS
@given(st.lists(leef_lines(), min_size=1, max_size=5))
def test_hypothesis_leef(lines: list[str]) -> None:
    assert_same("leef", {}, lines)


@_SETTINGS
@given(w3c_lines())
def test_hypothesis_w3c(lines: list[str]) -> None:
    assert_same("w3c", {}, lines)
