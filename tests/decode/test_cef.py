"""CEF decoder: every sample line of FORMATS §1.2/§3 and every CEF quirk of FORMATS App. C."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.decode import samples
from wafpipe.decode.cef import decode_cef, split_extension
from wafpipe.errors import DecodeError
from wafpipe.fields.keys import FREE_TEXT_KEYS, IMPERVA_KEYS

HEAD = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| "
GENERIC = "CEF:0|Acme|Box|1.0|100|name|5|"


def imperva(ext: str, head: str = HEAD) -> str:
    return head + ext


# --- FORMATS samples ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(samples.CEF_SAMPLES))
def test_every_sample_decodes_cleanly(name: str) -> None:
    line = samples.CEF_SAMPLES[name]
    rec = decode_cef(line)
    pairs = split_extension(line.split("|", 7)[7], True)
    assert rec.format == "cef" and rec.vendor == "Incapsula" and rec.product == "SIEMintegration"
    assert rec.warnings == []
    assert rec.syslog_prefix is None
    # Every unescaped '=' of a sample separates a key: nothing glued, nothing lost.
    assert len(pairs) == line.count("=") - line.count("\\=")
    assert all(k.lower() in rec.ext for k, _ in pairs)


def test_elastic_container_line() -> None:
    rec = decode_cef(samples.ELASTIC_LINE)
    assert (rec.name, rec.severity, rec.signature, rec.version, rec.format_version) == ("Normal", "0", "1", "1", "0")
    ext = rec.ext
    assert ext["sourceservicename"] == "site123.abcd.info"
    assert ext["requestclientapplication"] == "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0"
    assert ext["ver"] == "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"
    assert ext["requestmethod"] == "GET"
    assert ext["deviceexternalid"] == "33411452762204224"
    assert ext["cs7label"] == "latitude" and ext["cs8"] == "34.8186"
    assert ext["customer"] == "CEFcustomer123"
    assert ext["additionalreqheaders"] == '[{"Accept":"*/*"},{"x-v":"1"},{"x-fapi-interaction-id":"10.10.10.10"}]'
    assert ext["additionalresheaders"] == '[{"Content-Type":"text/html; charset=UTF-8"}]'  # \= un-escaped
    assert ext["end"] == "1566300670892"  # the last value loses nothing
    assert rec.dups is None
    assert len(ext) == 29


def test_31_older_access_example() -> None:
    rec = decode_cef(samples.S31_ACCESS_OLD)
    assert rec.ext["caip"] == "13.13.13.13"  # kept although undocumented
    assert rec.ext["requestmethod"] == "GET"  # `requestmethod` spelling
    assert rec.ext["deviceexternalid"] == "33411452762204224"  # `deviceExternalID` spelling
    assert rec.ext["cpt"] == "443"
    assert "fileid" not in rec.ext and "end" not in rec.ext


def test_32_cache_hit() -> None:
    ext = decode_cef(samples.S32_CACHE_HIT).ext
    assert (ext["sip"], ext["spt"], ext["act"]) == ("0.0.0.0", "0", "REQ_CACHED_FRESH")
    assert ext["requestclientapplication"].endswith("please reach out to: sanitized_email.com")
    assert ext["cs8"] == "-84.3871"
    assert ext["dproc"] == "Crawler"


def test_33_broken_connection_keeps_html_entity() -> None:
    ext = decode_cef(samples.S33_BROKEN_CONN).ext
    assert "customers&#39; presences" in ext["requestclientapplication"]  # not decoded (§2.6 #10)
    assert "cn1" not in ext and "in" not in ext  # quirk #15
    assert ext["act"] == "REQ_BAD_CLIENT_CLOSED_CONNECTION"
    assert ext["dproc"] == "Developer Tool" and ext["cs6"] == "Go HTTP library"


def test_34_security_example_duplicate_ccode_and_lists() -> None:
    rec = decode_cef(samples.S34_SECURITY)
    assert (rec.name, rec.severity) == ("Illegal Resource Access", "3")
    ext = rec.ext
    assert ext["ccode"] == "IL"
    assert rec.dups == {"ccode": ["IL", "IL"]}
    assert ext["qstr"] == "p=%2fetc%2fpasswd"
    assert ext["filetype"] == "30037,1001," and ext["filepermission"] == "2,1,"
    assert ext["cs9"] == "Block Malicious User,High Risk Resources,"
    assert ext["cs11"] == ',,[{"api_specification_violation_type":"INVALID_PARAM_NAME","parameter_name":"somename"}]'
    assert ext["cs11label"] == "Rule Additional Info"
    assert ext["start"] == "123456789"


def test_35_sqli_empty_cs9() -> None:
    ext = decode_cef(samples.S35_SQLI).ext
    assert ext["cs9"] == "" and ext["cs9label"] == "Rule name"
    assert ext["filetype"] == "50033" and ext["filepermission"] == "666"
    assert ext["act"] == "REQ_BLOCKED_SESSION"
    assert len(ext["cs5"]) == 256


def test_36_elastic_xff_list() -> None:
    rec = decode_cef(samples.S36_ELASTIC_XFF)
    assert (rec.name, rec.severity) == ("Normal", "3")
    assert rec.ext["xff"] == "1.128.0.0, 81.2.69.144"
    assert rec.ext["fileid"] == "3412341160002518171"
    assert rec.ext["cs11"].startswith('[{"api_specification')


def test_37_cs10_json_and_quoted_user_agent() -> None:
    ext = decode_cef(samples.S37_CS10_JSON).ext
    assert ext["cs10"].startswith('[{"rule_id":"1234567","type":"AD_HEADER_RW"')
    assert "frame-ancestors 'self' https://example.com" in ext["cs10"]
    assert ext["cs10label"] == "Rule Info"
    # Quotes are data, never delimiters (§2.6 #9); balanced ones are left for the ECS layer.
    assert ext["requestclientapplication"].startswith('"Mozilla/5.0') and ext["requestclientapplication"].endswith('"')
    assert ext["ref"] == "https://example.com/path/to/referrer"


def test_38_ipv6() -> None:
    ext = decode_cef(samples.S38_IPV6).ext
    assert ext["src"] == "2001:db8:abcd::17"
    assert ext["sip"] == "2001:db8:10::25"
    assert ext["xff"] == "2001:db8:abcd::17, 198.51.100.23"
    assert ext["cicode"] == "Frankfurt am Main"
    assert ext["additionalresheaders"] == '[{"Content-Type":"application/json; charset=utf-8"}]'


def test_39_no_space_after_header_unbalanced_quote_doubled_json_quotes() -> None:
    rec = decode_cef(samples.S39_UNCLOSED_QUOTE)
    assert (rec.name, rec.severity) == ("IncapRules(Temp_dump)", "11")
    assert rec.ext["fileid"] == "1415000720207605958"  # first key right after the header pipe
    assert rec.ext["requestclientapplication"] == '"Xpanse-bot'
    assert rec.ext["devicefacility"] == "den"
    assert rec.ext["src"] == "xxx.xxx.31.120"
    assert rec.ext["cs10"] == '[{""rule_id"":""4709724""}]'


# --- App. C quirks ---------------------------------------------------------------------------------


def test_missing_space_after_header_same_as_with_space() -> None:
    a = decode_cef("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|fileId=1 src=1.2.3.4")
    b = decode_cef("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1 src=1.2.3.4")
    assert a.ext == b.ext == {"fileid": "1", "src": "1.2.3.4"}


@pytest.mark.parametrize("severity", ["-1", "0", "11", "14"])
def test_rule_type_id_in_severity_slot(severity: str) -> None:
    rec = decode_cef(f"CEF:0|Incapsula|SIEMintegration|1|1|Blocked country|{severity}| ccode=CN act=REQ_BLOCKED")
    assert rec.severity == severity and rec.name == "Blocked country"


def test_duplicate_keys_first_non_empty_wins_all_kept() -> None:
    rec = decode_cef(imperva("ccode= src=1.1.1.1 ccode=US ccode=DE"))
    assert rec.ext["ccode"] == "US"
    assert rec.dups == {"ccode": ["", "US", "DE"]}


def test_duplicate_across_spellings() -> None:
    rec = decode_cef(imperva("fileid=1 fileId=2"))
    assert rec.ext["fileid"] == "1"
    assert rec.dups == {"fileid": ["1", "2"]}


def test_unbalanced_quotes_and_apostrophes() -> None:
    ext = decode_cef(imperva("cicode=Al 'Ayyat requestClientApplication=\"Xpanse-bot ccode=EG")).ext
    assert ext["cicode"] == "Al 'Ayyat"
    assert ext["requestclientapplication"] == '"Xpanse-bot'
    assert ext["ccode"] == "EG"


def test_pipes_in_user_agent() -> None:
    ua = "Android 11(70) | prodLalaland 1.47.9(162) | Redmi M2000K6G"
    rec = decode_cef(imperva(f"requestClientApplication={ua} deviceFacility=fra"))
    assert rec.ext["requestclientapplication"] == ua
    assert rec.name == "Normal"  # header split by counting pipes, not at the first '| '


def test_control_characters_inside_values_are_kept() -> None:
    ua = "Mozilla\x0b5.0\x1c(bot)\x85x\u2028y"
    ext = decode_cef(imperva(f"requestClientApplication={ua} deviceFacility=iad cicode=A\x1cB")).ext
    assert ext["requestclientapplication"] == ua
    assert ext["cicode"] == "A\x1cB"
    assert ext["devicefacility"] == "iad"


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("fileid", "fileid"),
        ("fileId", "fileid"),
        ("FILEID", "fileid"),
        ("requestmethod", "requestmethod"),
        ("requestMethod", "requestmethod"),
        ("deviceExternalID", "deviceexternalid"),
        ("deviceExternalId", "deviceexternalid"),
        ("filetype", "filetype"),
        ("fileType", "filetype"),
        ("filepermission", "filepermission"),
        ("filePermission", "filepermission"),
        ("Customer", "customer"),
        ("cs9Label", "cs9label"),
    ],
)
def test_key_case_variants_are_one_key(spelling: str, canonical: str) -> None:
    rec = decode_cef(imperva(f"requestClientApplication=UA x {spelling}=v src=1.1.1.1"))
    assert rec.ext[canonical] == "v"
    assert rec.ext["requestclientapplication"] == "UA x"  # a known key, in any case, still splits
    assert list(decode_cef(imperva(f"{spelling}=v")).ext) == [canonical]


def test_request_with_spaces_pipe_and_query() -> None:
    ext = decode_cef(imperva(r"request=source.example.org/x.htm?Sip\=1.1.1.1 | cat /etc/passwd requestMethod=GET")).ext
    assert ext["request"] == "source.example.org/x.htm?Sip=1.1.1.1 | cat /etc/passwd"
    assert ext["requestmethod"] == "GET"


def test_bracketed_ccode_is_kept_raw() -> None:
    assert decode_cef(imperva("ccode=[US] cicode=X")).ext["ccode"] == "[US]"


def test_blank_after_equals_is_trimmed_on_imperva_lines_only() -> None:
    assert decode_cef(imperva("ver= TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 cpt=1")).ext["ver"] == (
        "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"
    )
    assert decode_cef(GENERIC + "msg= hello x=1").ext["msg"] == " hello"


def test_attack_analytics_line_is_generic_cef() -> None:
    line = (
        "CEF:0|Imperva Inc|Attack Analytics|0|1|Bad bots from 12 IPs|MAJOR|msg=Bad bots attack "
        "x=y start=1700000000000 requestClientApplication=curl 7 foo=bar"
    )
    rec = decode_cef(line)
    assert (rec.vendor, rec.product, rec.severity, rec.name) == (
        "Imperva Inc",
        "Attack Analytics",
        "MAJOR",
        "Bad bots from 12 IPs",
    )
    # Not an Imperva WAF line: the standard rule splits at every ` key=`.
    assert rec.ext == {"msg": "Bad bots attack", "x": "y", "start": "1700000000000", "requestclientapplication": "curl 7", "foo": "bar"}
    assert not rec.is_imperva


def test_syslog_prefix() -> None:
    line = "<14>Jun 10 06:13:20 shop.example.com cwaf " + samples.S35_SQLI
    rec = decode_cef(line)
    assert rec.syslog_prefix == "<14>Jun 10 06:13:20 shop.example.com cwaf"
    assert rec.ext == decode_cef(samples.S35_SQLI).ext


# --- The free-text-key rule (DESIGN §1) -------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(FREE_TEXT_KEYS))
def test_free_text_values_keep_unknown_key_candidates(key: str) -> None:
    rec = decode_cef(imperva(f"{key}=a b=c d.e=f g=h src=1.2.3.4"))
    assert rec.ext[key] == "a b=c d.e=f g=h"
    assert rec.ext["src"] == "1.2.3.4"
    assert set(rec.ext) == {key, "src"}


def test_free_text_value_still_ends_at_a_known_key() -> None:
    rec = decode_cef(imperva("postbody=user=admin&x=1 name=value cs10=[{\"a\":\"b c=d\"}] cs10Label=Rule Info"))
    assert rec.ext["postbody"] == "user=admin&x=1 name=value"
    assert rec.ext["cs10"] == '[{"a":"b c=d"}]'
    assert rec.ext["cs10label"] == "Rule Info"


def test_unknown_key_after_a_non_free_text_key_is_a_key() -> None:
    rec = decode_cef(imperva("ver=TLSv1.3 newKey=x src=1.1.1.1"))
    assert rec.ext == {"ver": "TLSv1.3", "newkey": "x", "src": "1.1.1.1"}


def test_free_text_rule_is_for_imperva_only() -> None:
    rec = decode_cef(GENERIC + "requestClientApplication=a b=c")
    assert rec.ext == {"requestclientapplication": "a", "b": "c"}


# --- Grammar details ----------------------------------------------------------------------------------


def test_escapes() -> None:
    ev = decode_cef(GENERIC + r"a=1\=2 b=c\\d c=line\nbreak\rx d=keep\|pipe\ e=\\= f=\\\=")
    assert ev.ext == {
        "a": "1=2",
        "b": "c\\d",
        "c": "line\nbreak\rx",
        "d": "keep\\|pipe\\",
        "e": "\\=",
        "f": "\\=",
    }
    assert len(ev.warnings) == 1 and ev.warnings[0].startswith("malformed value for e ")


def test_header_escapes() -> None:
    ev = decode_cef(r"CEF:0|Ven\|dor|Pro\\duct|1|2|Name \| with pipe|5|a=b")
    assert (ev.vendor, ev.product, ev.name, ev.severity) == ("Ven|dor", "Pro\\duct", "Name | with pipe", "5")
    assert ev.ext == {"a": "b"}


def test_blanks_and_line_endings() -> None:
    ev = decode_cef(GENERIC + "  a=x  b=y \t\r\n")
    assert ev.ext == {"a": "x ", "b": "y"}  # one separator blank; the line end goes
    assert decode_cef(GENERIC + "a=x\tb=y").ext == {"a": "x\tb=y"}  # a tab does not separate


def test_empty_values_and_header_only() -> None:
    assert decode_cef(GENERIC + "a= b= c=").ext == {"a": "", "b": "", "c": ""}
    assert decode_cef(GENERIC).ext == {}
    assert decode_cef(GENERIC + "   ").ext == {}


def test_unescaped_equals_is_kept_and_flagged_with_its_column() -> None:
    line = GENERIC + "msg=a =b id==x"
    rec = decode_cef(line)
    assert rec.ext == {"msg": "a =b", "id": "=x"}
    assert rec.warnings == [
        f"malformed value for msg at column {line.index(' =b') + 2}: unescaped '=' kept in the value",
        f"malformed value for id at column {line.index('==') + 2}: unescaped '=' kept in the value",
    ]


def test_split_extension_public_function() -> None:
    assert split_extension(" fileId=1 requestClientApplication=a b=c ver=x", imperva=True) == [
        ("fileId", "1"),
        ("requestClientApplication", "a b=c"),
        ("ver", "x"),
    ]
    assert split_extension("a=b c=d", imperva=False) == [("a", "b"), ("c", "d")]
    assert split_extension("", imperva=False) == []


# --- Errors ---------------------------------------------------------------------------------------------


def test_not_cef() -> None:
    with pytest.raises(DecodeError) as err:
        decode_cef("LEEF:0|Incapsula|x")
    assert "does not contain a CEF header" in err.value.reason and err.value.column == 1 and err.value.hint


def test_truncated_header_names_what_is_missing() -> None:
    line = "CEF:0|Incapsula|SIEMintegration|1|1|Normal"
    with pytest.raises(DecodeError) as err:
        decode_cef(line)
    assert "found 5 of 7" in err.value.reason
    assert err.value.column == len(line) + 1


def test_text_before_the_first_key() -> None:
    line = GENERIC + "garbage here a=b"
    with pytest.raises(DecodeError) as err:
        decode_cef(line)
    assert "keyless value" in err.value.reason and "garbage here" in err.value.reason
    assert err.value.column == line.index("garbage") + 1


def test_several_records_in_one_string() -> None:
    with pytest.raises(DecodeError) as err:
        decode_cef(samples.S35_SQLI + "\n" + samples.S32_CACHE_HIT)
    assert "2 CEF records" in err.value.reason
    # A raw LF inside a value (no second record after it) is a control character: kept.
    assert decode_cef(GENERIC + "msg=a\nb c=d").ext == {"msg": "a\nb", "c": "d"}


def test_decode_error_message_is_clear() -> None:
    with pytest.raises(DecodeError) as err:
        decode_cef("CEF:0|only|three")
    text = str(err.value)
    assert "incomplete CEF header" in text and "(hint:" in text


# --- Properties -------------------------------------------------------------------------------------------


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


_VALUE = st.text(
    alphabet=st.sampled_from(list("ab Z09 =\\|\"'{}[]:,.-_\t\n\r\x0b\x1cé€😀")) | st.characters(codec="utf-8"),
    max_size=40,
)
_KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEY, _VALUE, min_size=1, max_size=12))
def test_roundtrip_generic(pairs: dict[str, str]) -> None:
    items = list(pairs.items())
    assume(items[-1][1] == items[-1][1].rstrip(" \t\r\n"))  # the last value loses trailing blanks
    assume(len({k.lower() for k, _ in items}) == len(items))
    line = GENERIC + " ".join(f"{k}={escape(v)}" for k, v in items)
    assert split_extension(line.split("|", 7)[7], False) == items
    assert decode_cef(line).ext == {k.lower(): v for k, v in items}


_IMPERVA_KEYS = sorted((IMPERVA_KEYS | {"cs1", "cs9", "cs10", "cs11", "cs9Label"}) - {"customer"}) + ["Customer", "fileId"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_IMPERVA_KEYS), _VALUE, min_size=1, max_size=15))
def test_roundtrip_imperva(pairs: dict[str, str]) -> None:
    items = list(pairs.items())
    assume(all(not v.startswith(" ") for _, v in items))  # Imperva lines lose one blank after '='
    assume(items[-1][1] == items[-1][1].rstrip(" \t\r\n"))
    assume(len({k.lower() for k, _ in items}) == len(items))
    line = HEAD + " ".join(f"{k}={escape(v)}" for k, v in items)
    assert split_extension(line.split("|", 7)[7], True) == items
    rec = decode_cef(line)
    assert rec.ext == {k.lower(): v for k, v in items}
    assert rec.warnings == []


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["", "CEF:0|", GENERIC, HEAD, "CEF:0|a|b|c\\|d|e|f|"]))
def test_arbitrary_text_decodes_or_raises_decode_error(text: str, prefix: str) -> None:
    try:
        decode_cef(prefix + text)
    except DecodeError as exc:
        assert exc.reason and exc.column >= 0
