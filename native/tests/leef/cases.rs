//! Every decoder case of test_leef.py, with the same inputs and expectations.

use _native::decode::cef::decode_cef;
use _native::decode::leef::parse_delimiter;
use _native::decode::Format;

use crate::samples::{LEEF_ACCESS_TABS, LEEF_DOC_SPACES, LEEF_IPV6_TABS, S32_CACHE_HIT, S38_IPV6};
use crate::support::{dec, err, ext, get};

const IMPERVA: &str = "LEEF:0|Incapsula|SIEMintegration|0|Normal|";

#[test]
fn imperva_doc_example_space_separated() {
    let rec = dec(LEEF_DOC_SPACES);
    assert_eq!(rec.format, Some(Format::Leef));
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.version.as_deref(), rec.name.as_deref()),
        (Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("SQL Injection"))
    );
    assert_eq!(rec.format_version.as_deref(), Some("0"));
    assert!(rec.severity.is_none() && rec.signature.is_none()); // LEEF carries no rule-type id
                                                                // LEEF names → CEF names (FORMATS §4.2)
    assert_eq!(get(&rec, "devicefacility"), "mia");
    assert_eq!(get(&rec, "ccode"), "IL");
    assert_eq!(get(&rec, "request"), "test56111115.incaptest.co/");
    assert_eq!(get(&rec, "app"), "HTTP");
    assert_eq!(get(&rec, "act"), "REQ_PASSED");
    assert_eq!(get(&rec, "sip"), "54.195.35.43");
    assert_eq!(get(&rec, "spt"), "80");
    assert_eq!(get(&rec, "cpt"), "443");
    assert_eq!(get(&rec, "ver"), "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    for leef_name in ["popname", "calcountryorregion", "url", "proto", "cat", "dst", "dstport", "srcport", "protover"] {
        assert!(rec.get(leef_name).is_none(), "{leef_name}");
    }
    assert_eq!(
        get(&rec, "requestclientapplication"),
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Firefox/38.0"
    );
    assert!(get(&rec, "qstr").starts_with("keywords=3%29%29%29%20AND%203434")); // \= un-escaped
    assert_eq!(get(&rec, "cs9"), ",High Risk SQL Expressions,,SQL SELECT Expression,");
    assert_eq!(get(&rec, "cs9label"), "Rule name");
    assert_eq!(get(&rec, "filetype"), "12999,50999,50037,50044,");
    assert!(rec.warnings.is_empty() && rec.dups.is_empty());
}

/// The constructed LEEF lines of §4.3 were mapped from CEF lines: same keys, same values.
#[test]
fn tab_samples_give_the_cef_key_space() {
    for (leef, cef, missing) in
        [(LEEF_ACCESS_TABS, S32_CACHE_HIT, Some(["cs5", "cs5label"])), (LEEF_IPV6_TABS, S38_IPV6, None)]
    {
        let lrec = dec(leef);
        let crec = decode_cef(cef).expect("the CEF sample decodes");
        assert!(lrec.warnings.is_empty());
        let mut lext = ext(&lrec);
        if missing.is_none() {
            // §4.3's IPv6 line was built with one request header fewer than §3.8's.
            let at = lext.iter().position(|(k, _)| *k == "additionalreqheaders").expect("additionalreqheaders");
            assert_eq!(lext.remove(at).1, r#"[{"Content-Type":"application/json"}]"#);
        }
        for (k, v) in &lext {
            assert_eq!(crec.get(k), Some(*v), "{k}");
        }
        if let Some(missing) = missing {
            let extra: Vec<&str> = crec.ext.iter().map(|(k, _)| k.as_ref()).filter(|k| lrec.get(k).is_none()).collect();
            assert_eq!(extra, missing);
        }
        assert_eq!(lrec.name.as_deref(), Some("Normal"));
        assert_eq!(crec.name.as_deref(), Some("Normal"));
    }
}

#[test]
fn space_and_tab_forms_decode_alike() {
    let tabbed = dec(LEEF_IPV6_TABS);
    let spaced = dec(&LEEF_IPV6_TABS.replace('\t', " "));
    assert_eq!(spaced.ext, tabbed.ext);
    assert!(get(&tabbed, "requestclientapplication").starts_with("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"));
    assert_eq!(get(&tabbed, "xff"), "2001:db8:abcd::17, 198.51.100.23");
    assert_eq!(get(&tabbed, "additionalresheaders"), r#"[{"Content-Type":"application/json; charset=utf-8"}]"#);
}

#[test]
fn tab_form_values_keep_tabs_and_free_text() {
    let rec = dec(&format!("{IMPERVA}\trequestClientApplication=A\tB x\tfoo=bar\tsrc=1.1.1.1\tcs9=x\ty\tver=v\t\r\n"));
    assert_eq!(get(&rec, "requestclientapplication"), "A\tB x\tfoo=bar"); // free-text rule, TAB not before key=
    assert_eq!(get(&rec, "cs9"), "x\ty");
    assert_eq!(get(&rec, "src"), "1.1.1.1");
    assert_eq!(get(&rec, "ver"), "v"); // trailing TAB and line end dropped
}

#[test]
fn aliases_and_duplicates() {
    let rec = dec(&format!("{IMPERVA}\tpopName=mia\tdeviceFacility=fra\tcat=REQ_BLOCKED"));
    assert_eq!(get(&rec, "devicefacility"), "mia");
    assert_eq!(rec.dups, [("devicefacility".into(), vec!["mia".into(), "fra".into()])]);
    assert_eq!(get(&rec, "act"), "REQ_BLOCKED");
}

#[test]
fn leef_1_0_other_vendor_keeps_its_keys() {
    let line = "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tusrName=joe.black";
    let rec = dec(line);
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.version.as_deref(), rec.name.as_deref()),
        (Some("Microsoft"), Some("MSExchange"), Some("4.0 SP1"), Some("15345"))
    );
    assert_eq!(rec.format_version.as_deref(), Some("1.0"));
    assert_eq!(
        ext(&rec),
        [
            ("src", "192.0.2.0"),
            ("dst", "172.50.123.1"),
            ("sev", "5"),
            ("cat", "anomaly"), // QRadar's category, not Imperva's action: no alias
            ("srcport", "81"),
            ("usrname", "joe.black"),
        ]
    );
}

#[test]
fn parse_delimiter_accepts() {
    for (spec, delim) in [
        ("^", '^'),
        ("x5E", '^'),
        ("x5e", '^'),
        ("0x5E", '^'),
        ("0x09", '\t'),
        ("x09", '\t'),
        ("|", '|'),
        (" ", ' '),
        ("", '\t'),
    ] {
        assert_eq!(parse_delimiter(spec), Some(delim as u32), "{spec:?}");
    }
}

#[test]
fn parse_delimiter_rejects() {
    assert_eq!(parse_delimiter("xyz"), None);
    assert_eq!(parse_delimiter("0xZZ"), None);
    assert_eq!(parse_delimiter("a=b"), None);
}

#[test]
fn leef_2_0_custom_delimiter() {
    for (spec, sep) in
        [("^", "^"), ("x5E", "^"), ("0x5E", "^"), ("0x09", "\t"), ("x09", "\t"), ("", "\t"), ("x7C", "|")]
    {
        let line =
            format!("LEEF:2.0|Lancope|StealthWatch|1.0|41|{spec}|src=10.0.1.8{sep}dst=10.0.0.5{sep}msg=a b{sep}sev=5");
        let rec = dec(&line);
        assert_eq!(rec.format_version.as_deref(), Some("2.0"));
        assert_eq!(rec.name.as_deref(), Some("41"));
        assert_eq!(ext(&rec), [("src", "10.0.1.8"), ("dst", "10.0.0.5"), ("msg", "a b"), ("sev", "5")], "{spec:?}");
    }
}

#[test]
fn leef_2_0_without_delimiter_field() {
    let rec = dec("LEEF:2.0|V|P|1|E|src=1.1.1.1\tmsg=a|b");
    assert_eq!(ext(&rec), [("src", "1.1.1.1"), ("msg", "a|b")]);
}

#[test]
fn leef_2_0_caret_inside_value_not_before_key() {
    let rec = dec("LEEF:2.0|V|P|1|E|^|a=x^y^b=z");
    assert_eq!(ext(&rec), [("a", "x^y"), ("b", "z")]);
}

#[test]
fn syslog_prefix() {
    let rec = dec(&format!("<13>Jun 10 06:13:20 host {IMPERVA}\tfileId=1"));
    assert_eq!(rec.syslog_prefix.as_deref(), Some("<13>Jun 10 06:13:20 host"));
    assert_eq!(ext(&rec), [("fileid", "1")]);
}

#[test]
fn header_only() {
    assert!(dec(IMPERVA).ext.is_empty());
    assert!(dec(&format!("{IMPERVA}\t")).ext.is_empty());
}

#[test]
fn errors() {
    let e = err("CEF:0|a|b|c|d|e|f|");
    assert!(e.reason.contains("does not contain a LEEF header"), "{e}");
    let e = err("LEEF:1.0|a|b");
    assert!(e.reason.contains("found 2 of 5"), "{e}");
    assert_eq!(e.column, "LEEF:1.0|a|b".len() + 1);
    let e = err("LEEF:2.0|V|P|1|E|xyz|a=b");
    assert!(e.reason.contains("delimiter field 'xyz'"), "{e}");
    let e = err("LEEF:1.0|V|P|1|E|just text");
    assert!(e.reason.contains("keyless value"), "{e}");
}

#[test]
fn unescaped_equals_flagged() {
    let rec = dec("LEEF:1.0|V|P|1|E|a=x=y\tb=2");
    assert_eq!(ext(&rec), [("a", "x=y"), ("b", "2")]);
    assert_eq!(rec.warnings.len(), 1);
    assert!(rec.warnings[0].contains("malformed value for a"), "{:?}", rec.warnings);
}
