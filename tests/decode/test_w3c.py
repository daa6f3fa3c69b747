"""W3C decoder: FORMATS §5 — directives, quoting, empties, column counts, header field lists."""

from __future__ import annotations

import pytest

from tests.decode import samples
from wafpipe.decode.record import RawRecord
from wafpipe.decode.w3c import W3CDecoder, tokenize
from wafpipe.errors import DecodeError


def _file() -> tuple[dict[str, str], list[str]]:
    head, body = samples.W3C_FILE.split("|==|\n", 1)
    header = dict(line.split(":", 1) for line in head.splitlines())
    return {k.lower(): v for k, v in header.items()}, body.split("\n")


def test_sample_file() -> None:
    header, lines = _file()
    dec = W3CDecoder(header)
    assert dec.format == "w3c"
    out = [dec.decode(line) for line in lines]
    assert out[:4] == [None, None, None, None]  # directives
    assert dec.directives == {"Software": "Incapsula LOGS API", "Version": "1.1", "Date": "10/Jun/2024 06:13:20"}
    assert len(dec.columns) == 41
    first, second = out[4], out[5]
    assert isinstance(first, RawRecord) and isinstance(second, RawRecord)

    assert (first.format, first.vendor, first.name, first.severity, first.format_version) == (
        "w3c",
        "Incapsula",
        "Normal",  # empty cs-rule: access event
        None,
        "1.1",
    )
    ext = first.ext
    assert ext["date"] == "2024-06-10" and ext["time"] == "06:13:20"
    assert ext["cs4"] == "0d9c1f6e-2b7a-4c55-9d0e-5a3e8c1b2f47"
    assert ext["src"] == "2001:db8:abcd::17"
    assert ext["requestclientapplication"].startswith("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)")
    assert ext["fileid"] == "1510000220019876543"
    assert ext["customer"] == "Example Corp"
    assert ext["cicode"] == "Frankfurt am Main"
    assert ext["request"] == "shop.example.com/api/cart"
    assert (ext["app"], ext["act"], ext["requestmethod"], ext["cn1"]) == ("HTTPS", "REQ_PASSED", "POST", "201")
    assert (ext["sip"], ext["spt"]) == ("203.0.113.10", "443")
    assert ext["xff"] == "2001:db8:abcd::17, 198.51.100.23"
    assert ext["start"] == "1718000000123"
    for empty in ("caip", "cs5", "postbody", "ref", "qstr", "filetype", "cs9"):
        assert empty not in ext  # "" is empty

    assert (second.name, second.severity) == ("SQL Injection", "0")
    assert second.ext["qstr"] == "id=1%27%20OR%201%3D1"
    assert (second.ext["filetype"], second.ext["filepermission"]) == ("30037,", "2,")
    assert second.ext["cs9"] == "High Risk SQL Expressions,"
    assert "cs-rule" not in second.ext and "cs-severity" not in second.ext


def _decoder(fields: str) -> W3CDecoder:
    dec = W3CDecoder()
    assert dec.decode(f"#Fields: {fields}") is None
    return dec


def test_quoted_empty_dash_and_unquoted_values() -> None:
    dec = _decoder("date time c-ip cs(User-Agent) cs-uri-query x-extra")
    rec = dec.decode('2024-06-10 "06:13:20" - "Mozilla/5.0 (X11)" "" plain')
    assert rec is not None
    assert rec.ext == {
        "date": "2024-06-10",
        "time": "06:13:20",
        "requestclientapplication": "Mozilla/5.0 (X11)",
        "x-extra": "plain",  # unknown column: its own lower-case name
    }


def test_quotes_inside_values() -> None:
    dec = _decoder("cs(User-Agent) cs-uri s-ip")
    rec = dec.decode('"a ""quoted"" b" "x \\"y\\" z" """"')
    assert rec is not None
    assert rec.ext == {"requestclientapplication": 'a "quoted" b', "request": 'x "y" z', "sip": '"'}


def test_tokenize() -> None:
    assert tokenize('"a b" "" - c "d""e"') == ["a b", "", "", "c", 'd"e']
    assert tokenize('"""x"""') == ['"x"']
    assert tokenize("  a   b ") == ["a", "b"]
    assert tokenize('x"y "z"') == ['x"y', "z"]
    with pytest.raises(DecodeError, match="unterminated") as err:
        tokenize('"a" "b')
    assert err.value.column == 5


def test_wrong_column_count_names_expected_and_found() -> None:
    dec = _decoder("date time c-ip")
    with pytest.raises(DecodeError) as err:
        dec.decode('"2024-06-10" "06:13:20"')
    assert "has 2 values, expected 3" in err.value.reason
    with pytest.raises(DecodeError, match="has 4 values, expected 3"):
        dec.decode('"a" "b" "c" "d"')
    assert dec.decode('"a" "b" "c"') is not None  # the decoder goes on after a bad line


def test_data_line_before_fields() -> None:
    dec = W3CDecoder()
    assert dec.decode("#Software: Incapsula LOGS API") is None
    with pytest.raises(DecodeError, match="before any #Fields") as err:
        dec.decode('"2024-06-10" "06:13:20"')
    assert err.value.column == 1 and err.value.hint


@pytest.mark.parametrize("name", ["fields", "W3C fields", "w3cFields", "Field-List"])
def test_field_list_from_a_header_line(name: str) -> None:
    dec = W3CDecoder({name: "date, time c-ip"})
    rec = dec.decode('"2024-06-10" "06:13:20" "1.2.3.4"')
    assert rec is not None and rec.ext == {"date": "2024-06-10", "time": "06:13:20", "src": "1.2.3.4"}


def test_later_fields_directive_replaces_earlier() -> None:
    dec = W3CDecoder({"fields": "date time"})
    dec.decode("#Fields: c-ip sc-status")
    rec = dec.decode('"1.2.3.4" "200"')
    assert rec is not None and rec.ext == {"src": "1.2.3.4", "cn1": "200"}


def test_line_end_and_new_columns() -> None:
    dec = _decoder("c-ip c-port cs-end cs-protver s-sitetag cs-ruleInfo")
    rec = dec.decode('"1.2.3.4" "5" "6" "TLSv1.3" "tag" "[]"\r\n')
    assert rec is not None
    assert rec.ext == {"src": "1.2.3.4", "cpt": "5", "end": "6", "ver": "TLSv1.3", "sitetag": "tag", "cs11": "[]"}
