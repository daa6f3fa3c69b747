//! Errors: not CEF, a truncated header, text before the first key, several records in one string.

use crate::samples::{S32_CACHE_HIT, S35_SQLI};
use crate::support::{err, ext, generic, pairs, KEYLESS_HINT};

#[test]
fn not_cef() {
    let e = err("LEEF:0|Incapsula|x");
    assert_eq!(e.reason, "line does not contain a CEF header (no 'CEF:' marker)");
    assert_eq!(e.column, 1);
    assert_eq!(e.hint.as_deref(), Some("the line is not CEF; check the file's format (--format)"));
}

#[test]
fn truncated_header_names_what_is_missing() {
    let line = "CEF:0|Incapsula|SIEMintegration|1|1|Normal";
    let e = err(line);
    assert!(e.reason.contains("found 5 of 7"), "{}", e.reason);
    assert_eq!(e.column, line.len() + 1);
}

#[test]
fn text_before_the_first_key() {
    let line = generic("garbage here a=b");
    let e = err(&line);
    assert_eq!(e.reason, "invalid extensions; keyless value present: 'garbage here'");
    assert_eq!(e.column, line.find("garbage").unwrap() + 1);
    assert_eq!(e.hint.as_deref(), Some(KEYLESS_HINT));
}

#[test]
fn several_records_in_one_string() {
    let e = err(&format!("{S35_SQLI}\n{S32_CACHE_HIT}"));
    assert!(e.reason.contains("2 CEF records"), "{}", e.reason);
    // A raw LF inside a value (no second record after it) is a control character: kept.
    assert_eq!(ext(&generic("msg=a\nb c=d")), pairs(&[("msg", "a\nb"), ("c", "d")]));
}

#[test]
fn decode_error_message_is_clear() {
    let e = err("CEF:0|only|three");
    assert!(e.to_string().contains("incomplete CEF header"));
    assert!(e.hint.is_some());
}
