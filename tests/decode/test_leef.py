"""LEEF decoder: Imperva's LEEF:0 (TAB- and space-separated, FORMATS §4), LEEF 1.0 and 2.0."""

from __future__ import annotations

import pytest

from tests.decode import samples
from wafpipe.decode.cef import decode_cef
from wafpipe.decode.leef import decode_leef, parse_delimiter
from wafpipe.errors import DecodeError

IMPERVA = "LEEF:0|Incapsula|SIEMintegration|0|Normal|"


def test_imperva_doc_example_space_separated() -> None:
    rec = decode_leef(samples.LEEF_DOC_SPACES)
    assert rec.format == "leef"
    assert (rec.vendor, rec.product, rec.version, rec.name, rec.format_version) == (
        "Incapsula",
        "SIEMintegration",
        "0",
        "SQL Injection",
        "0",
    )
    assert rec.severity is None and rec.signature is None  # LEEF carries no rule-type id
    ext = rec.ext
    # LEEF names → CEF names (FORMATS §4.2)
    assert ext["devicefacility"] == "mia"
    assert ext["ccode"] == "IL"
    assert ext["request"] == "test56111115.incaptest.co/"
    assert ext["app"] == "HTTP"
    assert ext["act"] == "REQ_PASSED"
    assert ext["sip"] == "54.195.35.43"
    assert ext["spt"] == "80"
    assert ext["cpt"] == "443"
    assert ext["ver"] == "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"
    for leef_name in ("popname", "calcountryorregion", "url", "proto", "cat", "dst", "dstport", "srcport", "protover"):
        assert leef_name not in ext
    assert ext["requestclientapplication"] == "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Firefox/38.0"
    assert ext["qstr"].startswith("keywords=3%29%29%29%20AND%203434")  # \= un-escaped
    assert ext["cs9"] == ",High Risk SQL Expressions,,SQL SELECT Expression,"
    assert ext["cs9label"] == "Rule name"
    assert ext["filetype"] == "12999,50999,50037,50044,"
    assert rec.warnings == [] and rec.dups is None


@pytest.mark.parametrize(
    ("leef", "cef", "missing"),
    [
        (samples.LEEF_ACCESS_TABS, samples.S32_CACHE_HIT, {"cs5", "cs5label"}),
        (samples.LEEF_IPV6_TABS, samples.S38_IPV6, None),
    ],
)
def test_tab_samples_give_the_cef_key_space(leef: str, cef: str, missing: set[str] | None) -> None:
    """The constructed LEEF lines of §4.3 were mapped from CEF lines: same keys, same values."""
    lrec, crec = decode_leef(leef), decode_cef(cef)
    assert lrec.warnings == []
    lext = dict(lrec.ext)
    if missing is None:  # §4.3's IPv6 line was built with one request header fewer than §3.8's
        assert lext.pop("additionalreqheaders") == '[{"Content-Type":"application/json"}]'
    assert {k: crec.ext.get(k) for k in lext} == lext
    if missing is not None:
        assert set(crec.ext) - set(lrec.ext) == missing
    assert lrec.name == crec.name == "Normal"


def test_space_and_tab_forms_decode_alike() -> None:
    tabbed = decode_leef(samples.LEEF_IPV6_TABS)
    spaced = decode_leef(samples.LEEF_IPV6_TABS.replace("\t", " "))
    assert spaced.ext == tabbed.ext
    assert tabbed.ext["requestclientapplication"].startswith("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)")
    assert tabbed.ext["xff"] == "2001:db8:abcd::17, 198.51.100.23"
    assert tabbed.ext["additionalresheaders"] == '[{"Content-Type":"application/json; charset=utf-8"}]'


def test_tab_form_values_keep_tabs_and_free_text() -> None:
    rec = decode_leef(IMPERVA + "\trequestClientApplication=A\tB x\tfoo=bar\tsrc=1.1.1.1\tcs9=x\ty\tver=v\t\r\n")
    assert rec.ext["requestclientapplication"] == "A\tB x\tfoo=bar"  # free-text rule, TAB not before key=
    assert rec.ext["cs9"] == "x\ty"
    assert rec.ext["src"] == "1.1.1.1"
    assert rec.ext["ver"] == "v"  # trailing TAB and line end dropped


def test_aliases_and_duplicates() -> None:
    rec = decode_leef(IMPERVA + "\tpopName=mia\tdeviceFacility=fra\tcat=REQ_BLOCKED")
    assert rec.ext["devicefacility"] == "mia"
    assert rec.dups == {"devicefacility": ["mia", "fra"]}
    assert rec.ext["act"] == "REQ_BLOCKED"


def test_leef_1_0_other_vendor_keeps_its_keys() -> None:
    line = "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tusrName=joe.black"
    rec = decode_leef(line)
    assert (rec.vendor, rec.product, rec.version, rec.name, rec.format_version) == (
        "Microsoft",
        "MSExchange",
        "4.0 SP1",
        "15345",
        "1.0",
    )
    assert rec.ext == {
        "src": "192.0.2.0",
        "dst": "172.50.123.1",
        "sev": "5",
        "cat": "anomaly",  # QRadar's category, not Imperva's action: no alias
        "srcport": "81",
        "usrname": "joe.black",
    }


@pytest.mark.parametrize(
    ("spec", "delim"),
    [("^", "^"), ("x5E", "^"), ("x5e", "^"), ("0x5E", "^"), ("0x09", "\t"), ("x09", "\t"), ("|", "|"), (" ", " "), ("", "\t")],
)
def test_parse_delimiter(spec: str, delim: str) -> None:
    assert parse_delimiter(spec) == delim


def test_parse_delimiter_rejects() -> None:
    assert parse_delimiter("xyz") is None
    assert parse_delimiter("0xZZ") is None
    assert parse_delimiter("a=b") is None


@pytest.mark.parametrize(
    ("spec", "sep"),
    [("^", "^"), ("x5E", "^"), ("0x5E", "^"), ("0x09", "\t"), ("x09", "\t"), ("", "\t"), ("x7C", "|")],
)
def test_leef_2_0_custom_delimiter(spec: str, sep: str) -> None:
    line = f"LEEF:2.0|Lancope|StealthWatch|1.0|41|{spec}|src=10.0.1.8{sep}dst=10.0.0.5{sep}msg=a b{sep}sev=5"
    rec = decode_leef(line)
    assert rec.format_version == "2.0" and rec.name == "41"
    assert rec.ext == {"src": "10.0.1.8", "dst": "10.0.0.5", "msg": "a b", "sev": "5"}


def test_leef_2_0_without_delimiter_field() -> None:
    rec = decode_leef("LEEF:2.0|V|P|1|E|src=1.1.1.1\tmsg=a|b")
    assert rec.ext == {"src": "1.1.1.1", "msg": "a|b"}


def test_leef_2_0_caret_inside_value_not_before_key() -> None:
    rec = decode_leef("LEEF:2.0|V|P|1|E|^|a=x^y^b=z")
    assert rec.ext == {"a": "x^y", "b": "z"}


def test_syslog_prefix() -> None:
    rec = decode_leef("<13>Jun 10 06:13:20 host " + IMPERVA + "\tfileId=1")
    assert rec.syslog_prefix == "<13>Jun 10 06:13:20 host"
    assert rec.ext == {"fileid": "1"}


def test_header_only() -> None:
    assert decode_leef(IMPERVA).ext == {}
    assert decode_leef(IMPERVA + "\t").ext == {}


def test_errors() -> None:
    with pytest.raises(DecodeError, match="does not contain a LEEF header"):
        decode_leef("CEF:0|a|b|c|d|e|f|")
    with pytest.raises(DecodeError, match="found 2 of 5") as err:
        decode_leef("LEEF:1.0|a|b")
    assert err.value.column == len("LEEF:1.0|a|b") + 1
    with pytest.raises(DecodeError, match="delimiter field 'xyz'"):
        decode_leef("LEEF:2.0|V|P|1|E|xyz|a=b")
    with pytest.raises(DecodeError, match="keyless value"):
        decode_leef("LEEF:1.0|V|P|1|E|just text")


def test_unescaped_equals_flagged() -> None:
    rec = decode_leef("LEEF:1.0|V|P|1|E|a=x=y\tb=2")
    assert rec.ext == {"a": "x=y", "b": "2"}
    assert len(rec.warnings) == 1 and "malformed value for a" in rec.warnings[0]


def test_an_attribute_part_of_blanks_only_is_an_event_without_attributes() -> None:
    """Version 1 raised IndexError here (aborting the whole file); found by the native port."""
    for line in ("LEEF:0|Incapsula|SIEMintegration|1|Normal|\t\t", "LEEF:0|Incapsula|SIEMintegration|1|Normal|\t"):
        rec = decode_leef(line)
        assert rec.ext == {} and rec.name == "Normal"
