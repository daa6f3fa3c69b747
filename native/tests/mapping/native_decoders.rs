//! The native decoders: they give the records of the one-event cases from the same lines.

use _native::decode::cef::decode_cef;
use _native::decode::leef::decode_leef;
use _native::decode::w3c::W3cDecoder;

use crate::samples::{
    CEF_ELASTIC_LINE, CEF_S31_ACCESS_OLD, CEF_S32_CACHE_HIT, CEF_S33_BROKEN_CONN, CEF_S34_SECURITY,
    CEF_S35_SQLI, CEF_S36_ELASTIC_XFF, CEF_S37_CS10_JSON, CEF_S38_IPV6, CEF_S39_UNCLOSED_QUOTE,
    FOREIGN_ATTACK_ANALYTICS, FOREIGN_CEF, FOREIGN_LEEF, LEEF_ACCESS_TABS, LEEF_DOC_SPACES, LEEF_IPV6_TABS,
    W3C_ACCESS, W3C_SQL_INJECTION,
};
use crate::support::{pairs, parse, record};
use crate::values::{
    DUPLICATES_AND_SYSLOG_PREFIX, LINE_BARE_CONTEXT, LINE_CONTROL_CHARS, LINE_LONG, LINE_NOT_UTF8,
    LINE_PARTIAL_EVERY_WARNING, UNKNOWN_KEYS_AND_LABELS,
};

/// The one-event cases (`samples`, `values`) map the records version 1's decoders produced. The
/// native decoders produce the same records from the same lines, so those cases' documents are also
/// what the native core gives for those lines, end to end.
#[test]
fn the_native_decoders_give_the_records_of_the_cases() {
    let lines: &[(&str, &str)] = &[
        ("cef_elastic_line", CEF_ELASTIC_LINE),
        ("cef_s31_access_old", CEF_S31_ACCESS_OLD),
        ("cef_s32_cache_hit", CEF_S32_CACHE_HIT),
        ("cef_s33_broken_conn", CEF_S33_BROKEN_CONN),
        ("cef_s34_security", CEF_S34_SECURITY),
        ("cef_s35_sqli", CEF_S35_SQLI),
        ("cef_s36_elastic_xff", CEF_S36_ELASTIC_XFF),
        ("cef_s37_cs10_json", CEF_S37_CS10_JSON),
        ("cef_s38_ipv6", CEF_S38_IPV6),
        ("cef_s39_unclosed_quote", CEF_S39_UNCLOSED_QUOTE),
        ("unknown_keys_and_labels", UNKNOWN_KEYS_AND_LABELS),
        ("foreign_cef", FOREIGN_CEF),
        ("foreign_attack_analytics", FOREIGN_ATTACK_ANALYTICS),
        ("line_not_utf8", LINE_NOT_UTF8),
        ("line_control_chars", LINE_CONTROL_CHARS),
        ("line_long", LINE_LONG),
        ("line_partial_every_warning", LINE_PARTIAL_EVERY_WARNING),
        ("line_bare_context", LINE_BARE_CONTEXT),
        ("duplicates_and_syslog_prefix", DUPLICATES_AND_SYSLOG_PREFIX),
        ("leef_doc_spaces", LEEF_DOC_SPACES),
        ("leef_access_tabs", LEEF_ACCESS_TABS),
        ("leef_ipv6_tabs", LEEF_IPV6_TABS),
        ("foreign_leef", FOREIGN_LEEF),
    ];
    for (name, json_text) in lines {
        let case = parse(json_text);
        let text = case["text"].as_str().unwrap();
        let decoded = match case["ctx"]["format"].as_str().unwrap() {
            "cef" => decode_cef(text),
            "leef" => decode_leef(text),
            other => panic!("{other}"),
        };
        assert_eq!(decoded.expect("the line decodes"), record(&case["record"]), "{name}");
    }
    for (name, json_text) in [("w3c_access", W3C_ACCESS), ("w3c_sql_injection", W3C_SQL_INJECTION)] {
        let case = parse(json_text);
        let mut decoder = W3cDecoder::new(&pairs(&case["ctx"]["header"]));
        for directive in W3C_DIRECTIVES {
            assert_eq!(decoder.decode(directive).unwrap(), None);
        }
        let decoded = decoder.decode(case["text"].as_str().unwrap()).unwrap().expect("an event");
        assert_eq!(decoded, record(&case["record"]), "{name}");
        assert_eq!(decoder.directives(), pairs(&case["ctx"]["directives"]).as_slice(), "{name}");
    }
}

/// The directive lines of the W3C sample file (`tests/decode/samples.py`, `W3C_FILE`).
const W3C_DIRECTIVES: [&str; 4] = [
    "#Software: Incapsula LOGS API",
    "#Version: 1.1",
    "#Date: 10/Jun/2024 06:13:20",
    "#Fields: date time cs-vid cs-clapp cs-browsertype cs-js-support cs-co-support c-ip s-caip cs-clappsig \
     s-capsupport s-suid cs(User-Agent) cs-sessionid s-siteid cs-countrycode s-tag cs-cicode s-computername cs-lat \
     cs-long s-accountname cs-uri cs-postbody cs-version sc-action s-externalid cs(Referrer) s-ip s-port cs-method \
     cs-uri-query sc-status s-xff cs-bytes cs-start cs-rule cs-severity cs-attacktype cs-attackid s-ruleName",
];
