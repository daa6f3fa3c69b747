//! The attributes: error and warning columns in code points, Imperva's free-text glue and blanks,
//! un-escaping, repeated keys, trailing delimiters and blanks, and hostile lines that must stay
//! linear.

use crate::support::{check, dec, err, get};

/// Messages quote with repr() and count columns in code points.
#[test]
fn leef_errors_quote_and_count_code_points() {
    let e = err("LEEF:2.0|V|P|1|E|it's|a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("LEEF 2.0 delimiter field \"it's\" is neither one character nor xHH", 18)
    );
    assert_eq!(e.hint.as_deref(), Some("LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|"));
    let e = err("LEEF:2.0|é|P|1|E|abcdefghijklmnopqrstuvwxyz|a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("LEEF 2.0 delimiter field 'abcdefghijklmnopqrst' is neither one character nor xHH", 18)
    );
    assert_eq!(e.hint.as_deref(), Some("LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|"));
    let e = err("LEEF:2.0|V|P|1|E|\u{0}\u{200b}|a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("LEEF 2.0 delimiter field '\\x00\\u200b' is neither one character nor xHH", 18)
    );
    assert_eq!(e.hint.as_deref(), Some("LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|"));
    let e = err("LEEF:1.0|é|b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("incomplete LEEF header: found 2 of 5 required pipe-terminated header fields", 13)
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("the line is truncated; a LEEF header is LEEF:Version|Vendor|Product|Version|EventID|")
    );
    let e = err("LEEF");
    assert_eq!((e.reason.as_str(), e.column), ("line does not contain a LEEF header (no 'LEEF:' marker)", 1));
    assert_eq!(e.hint.as_deref(), Some("the line is not LEEF; check the file's format (--format)"));
    let e = err("<13>é LEEF:1.0|V|P|1|E|éé text a=b");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: 'éé text'", 24));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
    let e = err("LEEF:1.0|V|P|1|E|éééééééééééééééééééééééééééééééééééééééééééééééééé a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("invalid extensions; keyless value present: 'éééééééééééééééééééééééééééééééééééééééé'", 18)
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
}

/// Unescaped '=' warnings name the key as written and the column of the '='.
#[test]
fn leef_warning_columns_count_code_points() {
    check(
        &dec("LEEF:1.0|Vé|P|1|E|Key=x=y\tb=\\\\=z\tc=\\=ok"),
        &[("key", "x=y"), ("b", "\\=z"), ("c", "=ok")],
        &[],
        &[
            "malformed value for Key at column 24: unescaped '=' kept in the value",
            "malformed value for b at column 31: unescaped '=' kept in the value",
        ],
        [Some("Vé"), Some("P"), Some("1"), Some("E"), Some("1.0"), None, None],
    );
    check(
        &dec("LEEF:0|Incapsula|P|0|N| ver= TLSv1.2 a=b requestClientApplication=UA x=y==z src=1"),
        &[("ver", "TLSv1.2"), ("a", "b"), ("requestclientapplication", "UA x=y==z"), ("src", "1")],
        &[],
        &["malformed value for x at column 73: unescaped '=' kept in the value"],
        [Some("Incapsula"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
}

/// Imperva lines glue unknown keys into free-text values, with the delimiter between; other vendors do not.
#[test]
fn leef_imperva_free_text_glue() {
    check(&dec("LEEF:0|Incapsula|SIEMintegration|0|Normal| requestClientApplication=Mozilla foo=bar baz=1 src=1.2.3.4 postbody=a=1&b=2 x=y"), &[("requestclientapplication", "Mozilla foo=bar baz=1"), ("src", "1.2.3.4"), ("postbody", "a=1&b=2 x=y")], &[], &["malformed value for postbody at column 113: unescaped '=' kept in the value"], [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None]);
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tcs9=a\tq=1\tpopName=mia\tfoo=2"),
        &[("cs9", "a\tq=1"), ("devicefacility", "mia"), ("foo", "2")],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|Other|P|0|N| requestClientApplication=Mozilla foo=bar"),
        &[("requestclientapplication", "Mozilla"), ("foo", "bar")],
        &[],
        &[],
        [Some("Other"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
}

/// Where '= ' occurs on an Imperva line, every value loses one leading blank.
#[test]
fn leef_imperva_blank_after_equals() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tver= TLSv1.3\tcs9=  two\tsrc=1"),
        &[("ver", "TLSv1.3"), ("cs9", " two"), ("src", "1")],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:1.0|V|P|1|E|ver= TLSv1.3\tsrc=1"),
        &[("ver", " TLSv1.3"), ("src", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("1.0"), None, None],
    );
}

/// `\=` `\\` `\n` `\r` are un-escaped; other backslashes stay.
#[test]
fn leef_unescape_and_backslashes() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tqstr=a\\=b\\\\c\\nd\\re\\qf\\\tsrc=1\\"),
        &[("qstr", "a=b\\c\nd\re\\qf\\"), ("src", "1\\")],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
}

/// Repeated keys: first position, first non-empty value, all values in dups by first appearance.
#[test]
fn leef_repeated_keys() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tcs9=\tsrc=1\tcs9=x\tsrc=2\tcs9=y"),
        &[("cs9", "x"), ("src", "1")],
        &[("cs9", &["", "x", "y"]), ("src", &["1", "2"])],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:1.0|V|P|1|E|b=1\ta=\ta=\tb=2"),
        &[("b", "1"), ("a", "")],
        &[("b", &["1", "2"]), ("a", &["", ""])],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("1.0"), None, None],
    );
}

/// The last value loses blanks and delimiters; line ends go first.
#[test]
fn leef_trailing_delimiters_and_line_ends() {
    check(
        &dec("LEEF:2.0|V|P|1|E|^|a=1^b=2^^ \t"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:0|V|P|0|N|a=1\tb=2 \t\r\n\r"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
    let e = err("LEEF:0|V|P|0|N| a=1 b=2  \t\r\n");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: ' a=1 b=2  \\t'", 16));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
}

/// Blanks (Python's, including \x1c) before the first key are allowed.
#[test]
fn leef_blanks_before_first_key() {
    check(
        &dec("LEEF:0|V|P|0|N|   a=1"),
        &[("a", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|V|P|0|N|\t \ta=1\tb=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|V|P|0|N|\u{1c} a=1"),
        &[("a", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
}

/// Python raises IndexError on TAB-separated blanks (see the module docs); here: no attributes.
#[test]
fn leef_blank_attributes_only() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\t\t"),
        &[],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\t \t"),
        &[],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
}

/// Hostile lines stay linear (Python's dict and regex are): a hundred thousand keys, each
/// repeated in another case, and a key-character delimiter over one long run. A quadratic
/// implementation would not finish this test in any reasonable time; nothing here is timed.
#[test]
fn leef_many_keys_and_long_runs_stay_linear() {
    let n = 100_000;
    let firsts: Vec<String> = (0..n).map(|i| format!("k{i}=v{i}")).collect();
    let seconds: Vec<String> = (0..n).map(|i| format!("K{i}=w{i}")).collect();
    let rec = dec(&format!("LEEF:1.0|V|P|1|E|{}\t{}", firsts.join("\t"), seconds.join("\t")));
    assert_eq!(rec.ext.len(), n);
    assert_eq!(rec.dups.len(), n);
    assert_eq!(rec.dups[1], ("k1".into(), vec!["v1".into(), "w1".into()]));
    assert_eq!(rec.ext[n - 1], ("k99999".into(), "v99999".into()));

    let rec = dec(&format!("LEEF:2.0|V|P|1|E|a|k={}b", "a".repeat(400_000)));
    assert_eq!(rec.ext.len(), 1);
    assert_eq!(get(&rec, "k").len(), 400_001);
    assert!(rec.warnings.is_empty());
}

/// One warning per value on a line of many unescaped '=' (columns are counted as Python counts
/// them, without going back to the start of the line for each).
#[test]
fn leef_many_warnings_stay_linear() {
    let n = 50_000;
    let pairs: Vec<String> = (0..n).map(|i| format!("k{i}=a=b")).collect();
    let line = format!("LEEF:1.0|V|P|1|E|x=y\t{}", pairs.join("\t"));
    let rec = dec(&line);
    assert_eq!(rec.warnings.len(), n);
    let last_eq = line.rfind("a=b").expect("a=b") + 2;
    assert_eq!(
        rec.warnings[n - 1],
        format!("malformed value for k{} at column {last_eq}: unescaped '=' kept in the value", n - 1)
    );
    let rec = dec(&format!("LEEF:1.0|Vé|P|1|E|k=a=b\t{}", "é".repeat(10)));
    assert_eq!(rec.warnings, ["malformed value for k at column 22: unescaped '=' kept in the value"]);
}
