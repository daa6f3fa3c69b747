"""Format detection and per-file decoders."""

from __future__ import annotations

import pytest

from tests.decode import samples
from wafpipe.decode.detect import detect_format, make_decoder
from wafpipe.decode.w3c import W3CDecoder


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({"format": "CEF"}, "cef"),
        ({"format": " leef "}, "leef"),
        ({"format": "W3C"}, "w3c"),
        ({"Format": "LEEF"}, "leef"),  # the documented spelling (FORMATS §1.3)
    ],
)
def test_header_format_wins(header: dict[str, str], expected: str) -> None:
    assert detect_format(header, samples.S35_SQLI) == expected


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (samples.S35_SQLI, "cef"),
        ("<14>Jun 10 06:13:20 host cwaf " + samples.S35_SQLI, "cef"),
        (samples.LEEF_ACCESS_TABS, "leef"),
        ("<13>host " + samples.LEEF_ACCESS_TABS, "leef"),
        ("#Software: Incapsula LOGS API", "w3c"),
        ('"2024-06-10" "06:13:20"', "w3c"),
        ('{"json": true}', None),
        ("", None),
    ],
)
def test_content_decides_without_header(first: str, expected: str | None) -> None:
    assert detect_format({}, first) == expected
    assert detect_format({"format": "JSON"}, first) == expected  # an unknown format is no answer


def test_nothing_to_go_on() -> None:
    assert detect_format({}, None) is None


def test_make_decoder() -> None:
    cef = make_decoder("cef")
    assert cef.format == "cef"
    rec = cef.decode(samples.S35_SQLI)
    assert rec is not None and rec.format == "cef" and rec.ext["act"] == "REQ_BLOCKED_SESSION"
    # A foreign line in the stream decodes by its own marker rather than failing the file.
    other = cef.decode(samples.LEEF_ACCESS_TABS)
    assert other is not None and other.format == "leef"

    leef = make_decoder("leef")
    assert leef.format == "leef"
    rec = leef.decode(samples.LEEF_DOC_SPACES)
    assert rec is not None and rec.ext["devicefacility"] == "mia"
    aa = leef.decode("CEF:0|Imperva Inc|Attack Analytics|0|1|Bad bots|MAJOR|msg=x")
    assert aa is not None and aa.format == "cef" and aa.severity == "MAJOR"

    w3c = make_decoder("w3c", {"fields": "c-ip sc-status"})
    assert isinstance(w3c, W3CDecoder) and w3c.format == "w3c"
    rec = w3c.decode('"1.2.3.4" "200"')
    assert rec is not None and rec.ext == {"src": "1.2.3.4", "cn1": "200"}

    with pytest.raises(ValueError, match="unknown format 'json'"):
        make_decoder("json")


def test_decoders_are_independent_per_file() -> None:
    a = make_decoder("w3c")
    b = make_decoder("w3c")
    a.decode("#Fields: c-ip")
    assert a.decode('"1.2.3.4"') is not None
    assert isinstance(b, W3CDecoder) and b.columns == []
