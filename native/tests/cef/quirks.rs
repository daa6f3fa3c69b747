//! The quirks of FORMATS App. C: no space after the header, duplicates, quotes, pipes, control
//! characters, key case, syslog prefixes.

use crate::samples::S35_SQLI;
use crate::support::{dec, ext, generic, get, imperva, pairs};

#[test]
fn missing_space_after_header_same_as_with_space() {
    let a = ext("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|fileId=1 src=1.2.3.4");
    let b = ext("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1 src=1.2.3.4");
    assert_eq!(a, b);
    assert_eq!(a, pairs(&[("fileid", "1"), ("src", "1.2.3.4")]));
}

#[test]
fn rule_type_id_in_severity_slot() {
    for severity in ["-1", "0", "11", "14"] {
        let rec =
            dec(&format!("CEF:0|Incapsula|SIEMintegration|1|1|Blocked country|{severity}| ccode=CN act=REQ_BLOCKED"));
        assert_eq!(rec.severity.as_deref(), Some(severity));
        assert_eq!(rec.name.as_deref(), Some("Blocked country"));
    }
}

#[test]
fn duplicate_keys_first_non_empty_wins_all_kept() {
    let rec = dec(&imperva("ccode= src=1.1.1.1 ccode=US ccode=DE"));
    assert_eq!(get(&rec, "ccode"), "US");
    assert_eq!(rec.dups, vec![("ccode".to_string().into(), vec!["".to_string().into(), "US".to_string().into(), "DE".to_string().into()])]);
}

#[test]
fn duplicate_across_spellings() {
    let rec = dec(&imperva("fileid=1 fileId=2"));
    assert_eq!(get(&rec, "fileid"), "1");
    assert_eq!(rec.dups, vec![("fileid".to_string().into(), vec!["1".to_string().into(), "2".to_string().into()])]);
}

#[test]
fn unbalanced_quotes_and_apostrophes() {
    let rec = dec(&imperva("cicode=Al 'Ayyat requestClientApplication=\"Xpanse-bot ccode=EG"));
    assert_eq!(get(&rec, "cicode"), "Al 'Ayyat");
    assert_eq!(get(&rec, "requestclientapplication"), "\"Xpanse-bot");
    assert_eq!(get(&rec, "ccode"), "EG");
}

#[test]
fn pipes_in_user_agent() {
    let ua = "Android 11(70) | prodLalaland 1.47.9(162) | Redmi M2000K6G";
    let rec = dec(&imperva(&format!("requestClientApplication={ua} deviceFacility=fra")));
    assert_eq!(get(&rec, "requestclientapplication"), ua);
    assert_eq!(rec.name.as_deref(), Some("Normal")); // header split by counting pipes
}

#[test]
fn control_characters_inside_values_are_kept() {
    let ua = "Mozilla\x0b5.0\x1c(bot)\u{85}x\u{2028}y";
    let rec = dec(&imperva(&format!("requestClientApplication={ua} deviceFacility=iad cicode=A\x1cB")));
    assert_eq!(get(&rec, "requestclientapplication"), ua);
    assert_eq!(get(&rec, "cicode"), "A\x1cB");
    assert_eq!(get(&rec, "devicefacility"), "iad");
}

#[test]
fn key_case_variants_are_one_key() {
    for (spelling, canonical) in [
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
    ] {
        let rec = dec(&imperva(&format!("requestClientApplication=UA x {spelling}=v src=1.1.1.1")));
        assert_eq!(get(&rec, canonical), "v", "{spelling}");
        // A known key, in any case, still splits.
        assert_eq!(get(&rec, "requestclientapplication"), "UA x", "{spelling}");
        let keys: Vec<String> = ext(&imperva(&format!("{spelling}=v"))).into_iter().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(keys, vec![canonical.to_string()]);
    }
}

#[test]
fn request_with_spaces_pipe_and_query() {
    let rec = dec(&imperva(r"request=source.example.org/x.htm?Sip\=1.1.1.1 | cat /etc/passwd requestMethod=GET"));
    assert_eq!(get(&rec, "request"), "source.example.org/x.htm?Sip=1.1.1.1 | cat /etc/passwd");
    assert_eq!(get(&rec, "requestmethod"), "GET");
}

#[test]
fn bracketed_ccode_is_kept_raw() {
    assert_eq!(get(&dec(&imperva("ccode=[US] cicode=X")), "ccode"), "[US]");
}

#[test]
fn blank_after_equals_is_trimmed_on_imperva_lines_only() {
    let rec = dec(&imperva("ver= TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 cpt=1"));
    assert_eq!(get(&rec, "ver"), "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    assert_eq!(get(&dec(&generic("msg= hello x=1")), "msg"), " hello");
}

#[test]
fn attack_analytics_line_is_generic_cef() {
    let line = "CEF:0|Imperva Inc|Attack Analytics|0|1|Bad bots from 12 IPs|MAJOR|msg=Bad bots attack \
                x=y start=1700000000000 requestClientApplication=curl 7 foo=bar";
    let rec = dec(line);
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.severity.as_deref(), rec.name.as_deref()),
        (Some("Imperva Inc"), Some("Attack Analytics"), Some("MAJOR"), Some("Bad bots from 12 IPs"))
    );
    // Not an Imperva WAF line: the standard rule splits at every ` key=`.
    assert_eq!(
        rec.ext,
        pairs(&[
            ("msg", "Bad bots attack"),
            ("x", "y"),
            ("start", "1700000000000"),
            ("requestclientapplication", "curl 7"),
            ("foo", "bar"),
        ])
    );
    assert!(!rec.is_imperva());
}

#[test]
fn syslog_prefix() {
    let rec = dec(&format!("<14>Jun 10 06:13:20 shop.example.com cwaf {S35_SQLI}"));
    assert_eq!(rec.syslog_prefix.as_deref(), Some("<14>Jun 10 06:13:20 shop.example.com cwaf"));
    assert_eq!(rec.ext, ext(S35_SQLI));
}
