//! The FORMATS samples: every sample decodes cleanly, and each one's notable fields.

use _native::decode::Format;

use crate::samples::{
    CEF_SAMPLES, ELASTIC_LINE, S31_ACCESS_OLD, S32_CACHE_HIT, S33_BROKEN_CONN, S34_SECURITY, S35_SQLI, S36_ELASTIC_XFF,
    S37_CS10_JSON, S38_IPV6, S39_UNCLOSED_QUOTE,
};
use crate::support::{dec, get, split_ext};

#[test]
fn every_sample_decodes_cleanly() {
    for (name, line) in CEF_SAMPLES {
        let rec = dec(line);
        let split = split_ext(line.splitn(8, '|').nth(7).unwrap(), true).unwrap();
        assert_eq!(rec.format, Some(Format::Cef), "{name}");
        assert_eq!((rec.vendor.as_deref(), rec.product.as_deref()), (Some("Incapsula"), Some("SIEMintegration")));
        assert!(rec.warnings.is_empty(), "{name}: {:?}", rec.warnings);
        assert_eq!(rec.syslog_prefix, None);
        // Every unescaped '=' of a sample separates a key: nothing glued, nothing lost.
        assert_eq!(split.len(), line.matches('=').count() - line.matches("\\=").count(), "{name}");
        for (key, _) in &split {
            assert!(rec.get(&key.to_lowercase()).is_some(), "{name}: {key}");
        }
    }
}

#[test]
fn elastic_container_line() {
    let rec = dec(ELASTIC_LINE);
    assert_eq!(
        (rec.name.as_deref(), rec.severity.as_deref(), rec.signature.as_deref()),
        (Some("Normal"), Some("0"), Some("1"))
    );
    assert_eq!((rec.version.as_deref(), rec.format_version.as_deref()), (Some("1"), Some("0")));
    assert_eq!(get(&rec, "sourceservicename"), "site123.abcd.info");
    assert_eq!(
        get(&rec, "requestclientapplication"),
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0"
    );
    assert_eq!(get(&rec, "ver"), "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    assert_eq!(get(&rec, "requestmethod"), "GET");
    assert_eq!(get(&rec, "deviceexternalid"), "33411452762204224");
    assert_eq!((get(&rec, "cs7label"), get(&rec, "cs8")), ("latitude", "34.8186"));
    assert_eq!(get(&rec, "customer"), "CEFcustomer123");
    assert_eq!(
        get(&rec, "additionalreqheaders"),
        r#"[{"Accept":"*/*"},{"x-v":"1"},{"x-fapi-interaction-id":"10.10.10.10"}]"#
    );
    // \= un-escaped
    assert_eq!(get(&rec, "additionalresheaders"), r#"[{"Content-Type":"text/html; charset=UTF-8"}]"#);
    assert_eq!(get(&rec, "end"), "1566300670892"); // the last value loses nothing
    assert!(rec.dups.is_empty());
    assert_eq!(rec.ext.len(), 29);
}

#[test]
fn s31_older_access_example() {
    let rec = dec(S31_ACCESS_OLD);
    assert_eq!(get(&rec, "caip"), "13.13.13.13"); // kept although undocumented
    assert_eq!(get(&rec, "requestmethod"), "GET"); // `requestmethod` spelling
    assert_eq!(get(&rec, "deviceexternalid"), "33411452762204224"); // `deviceExternalID`
    assert_eq!(get(&rec, "cpt"), "443");
    assert!(rec.get("fileid").is_none() && rec.get("end").is_none());
}

#[test]
fn s32_cache_hit() {
    let rec = dec(S32_CACHE_HIT);
    assert_eq!((get(&rec, "sip"), get(&rec, "spt"), get(&rec, "act")), ("0.0.0.0", "0", "REQ_CACHED_FRESH"));
    assert!(get(&rec, "requestclientapplication").ends_with("please reach out to: sanitized_email.com"));
    assert_eq!(get(&rec, "cs8"), "-84.3871");
    assert_eq!(get(&rec, "dproc"), "Crawler");
}

#[test]
fn s33_broken_connection_keeps_html_entity() {
    let rec = dec(S33_BROKEN_CONN);
    assert!(get(&rec, "requestclientapplication").contains("customers&#39; presences")); // §2.6 #10
    assert!(rec.get("cn1").is_none() && rec.get("in").is_none()); // quirk #15
    assert_eq!(get(&rec, "act"), "REQ_BAD_CLIENT_CLOSED_CONNECTION");
    assert_eq!((get(&rec, "dproc"), get(&rec, "cs6")), ("Developer Tool", "Go HTTP library"));
}

#[test]
fn s34_security_example_duplicate_ccode_and_lists() {
    let rec = dec(S34_SECURITY);
    assert_eq!((rec.name.as_deref(), rec.severity.as_deref()), (Some("Illegal Resource Access"), Some("3")));
    assert_eq!(get(&rec, "ccode"), "IL");
    assert_eq!(rec.dups, vec![("ccode".to_string().into(), vec!["IL".to_string().into(), "IL".to_string().into()])]);
    assert_eq!(get(&rec, "qstr"), "p=%2fetc%2fpasswd");
    assert_eq!((get(&rec, "filetype"), get(&rec, "filepermission")), ("30037,1001,", "2,1,"));
    assert_eq!(get(&rec, "cs9"), "Block Malicious User,High Risk Resources,");
    assert_eq!(
        get(&rec, "cs11"),
        r#",,[{"api_specification_violation_type":"INVALID_PARAM_NAME","parameter_name":"somename"}]"#
    );
    assert_eq!(get(&rec, "cs11label"), "Rule Additional Info");
    assert_eq!(get(&rec, "start"), "123456789");
}

#[test]
fn s35_sqli_empty_cs9() {
    let rec = dec(S35_SQLI);
    assert_eq!((get(&rec, "cs9"), get(&rec, "cs9label")), ("", "Rule name"));
    assert_eq!((get(&rec, "filetype"), get(&rec, "filepermission")), ("50033", "666"));
    assert_eq!(get(&rec, "act"), "REQ_BLOCKED_SESSION");
    assert_eq!(get(&rec, "cs5").chars().count(), 256);
}

#[test]
fn s36_elastic_xff_list() {
    let rec = dec(S36_ELASTIC_XFF);
    assert_eq!((rec.name.as_deref(), rec.severity.as_deref()), (Some("Normal"), Some("3")));
    assert_eq!(get(&rec, "xff"), "1.128.0.0, 81.2.69.144");
    assert_eq!(get(&rec, "fileid"), "3412341160002518171");
    assert!(get(&rec, "cs11").starts_with(r#"[{"api_specification"#));
}

#[test]
fn s37_cs10_json_and_quoted_user_agent() {
    let rec = dec(S37_CS10_JSON);
    assert!(get(&rec, "cs10").starts_with(r#"[{"rule_id":"1234567","type":"AD_HEADER_RW""#));
    assert!(get(&rec, "cs10").contains("frame-ancestors 'self' https://example.com"));
    assert_eq!(get(&rec, "cs10label"), "Rule Info");
    // Quotes are data, never delimiters (§2.6 #9); balanced ones are left for the ECS layer.
    let ua = get(&rec, "requestclientapplication");
    assert!(ua.starts_with("\"Mozilla/5.0") && ua.ends_with('"'));
    assert_eq!(get(&rec, "ref"), "https://example.com/path/to/referrer");
}

#[test]
fn s38_ipv6() {
    let rec = dec(S38_IPV6);
    assert_eq!(get(&rec, "src"), "2001:db8:abcd::17");
    assert_eq!(get(&rec, "sip"), "2001:db8:10::25");
    assert_eq!(get(&rec, "xff"), "2001:db8:abcd::17, 198.51.100.23");
    assert_eq!(get(&rec, "cicode"), "Frankfurt am Main");
    assert_eq!(get(&rec, "additionalresheaders"), r#"[{"Content-Type":"application/json; charset=utf-8"}]"#);
}

#[test]
fn s39_no_space_after_header_unbalanced_quote_doubled_json_quotes() {
    let rec = dec(S39_UNCLOSED_QUOTE);
    assert_eq!((rec.name.as_deref(), rec.severity.as_deref()), (Some("IncapRules(Temp_dump)"), Some("11")));
    assert_eq!(get(&rec, "fileid"), "1415000720207605958"); // first key right after the header pipe
    assert_eq!(get(&rec, "requestclientapplication"), "\"Xpanse-bot");
    assert_eq!(get(&rec, "devicefacility"), "den");
    assert_eq!(get(&rec, "src"), "xxx.xxx.31.120");
    assert_eq!(get(&rec, "cs10"), r#"[{""rule_id"":""4709724""}]"#);
}
