//! Branches the oracle's tests miss, with expectations from the oracle's output.

use crate::support::{dec, err, ext, generic, header, imperva, pairs, split_ext, GENERIC, KEYLESS_HINT};

#[test]
fn header_escape_details() {
    // `\\` before a pipe: an escaped backslash, and the pipe ends the field.
    let rec = dec(r"CEF:0|Ven\\|p|v|s|n|5|a=b");
    assert_eq!(header(&rec), [Some("Ven\\"), Some("p"), Some("v"), Some("s"), Some("n"), Some("5"), Some("0"), None]);
    // A backslash before anything else is text.
    let rec = dec(r"CEF:0|a\b|c\|d|e|f|g|h|x=1");
    assert_eq!(header(&rec), [Some("a\\b"), Some("c|d"), Some("e"), Some("f"), Some("g"), Some("h"), Some("0"), None]);
    assert_eq!(rec.ext, pairs(&[("x", "1")]));
    // An escaped pipe does not count: 6 fields, column after the last character.
    let e = err(r"CEF:0|a\|b|c|d|e|f|g");
    assert_eq!(e.reason, "incomplete CEF header: found 6 of 7 required pipe-terminated header fields");
    assert_eq!(e.column, 21);
    assert_eq!(
        e.hint.as_deref(),
        Some("the line is truncated or is not CEF; a CEF header is CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|")
    );
    let e = err(r"CEF:0|Incapsula|a|b|c|d\");
    assert_eq!((e.reason.contains("found 5 of 7"), e.column), (true, 25));
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(err("CEF:0|é|ü|x").column, 12);
    let e = err(&format!("é€{GENERIC}[x]=1"));
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '[x]=1'", 33));
    let rec = dec(&format!("é{GENERIC}msg=é a =b"));
    assert_eq!(rec.warnings, vec!["malformed value for msg at column 40: unescaped '=' kept in the value"]);
    assert_eq!(rec.syslog_prefix.as_deref(), Some("é"));
}

#[test]
fn vendor_is_compared_after_unescaping() {
    let rec = dec(r"CEF:0|Incap\|sula|p|v|s|n|3|requestClientApplication=a b=c");
    assert_eq!(rec.vendor.as_deref(), Some("Incap|sula"));
    assert_eq!(rec.ext, pairs(&[("requestclientapplication", "a"), ("b", "c")]));
    // not Imperva
}

#[test]
fn python_whitespace_in_prefix_and_format_version() {
    // str.rstrip()/str.strip() count U+001C–U+001F and U+3000 as blanks.
    assert_eq!(dec(&format!("  \x1c {GENERIC}a=1")).syslog_prefix, None);
    assert_eq!(dec(&format!("<14>host \x1c{GENERIC}a=1")).syslog_prefix.as_deref(), Some("<14>host"));
    assert_eq!(dec("CEF: 0\x1c\u{3000}|Acme|Box|1.0|100|name|5|a=1").format_version.as_deref(), Some("0"));
    let rec = dec("xCEF:|||||||");
    assert_eq!(header(&rec), [Some(""), Some(""), Some(""), Some(""), Some(""), Some(""), Some(""), Some("x")]);
    assert!(rec.ext.is_empty());
}

#[test]
fn blank_text_before_the_first_key_is_dropped() {
    // Only spaces and tabs are trimmed after the header, but any Python blank before the first
    // key passes the keyless-value check.
    assert_eq!(ext(&generic("\x0c\x1c a=b")), pairs(&[("a", "b")]));
    assert_eq!(ext(&generic("\x0c\x1c")), pairs(&[]));
    let e = err(&generic("\u{3000}a=b"));
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '\\u3000a=b'", 31));
}

#[test]
fn keyless_value_is_quoted_as_python_repr() {
    let reason = |ext: &str| err(&generic(ext)).reason;
    assert_eq!(reason("it's garbage a=b"), "invalid extensions; keyless value present: \"it's garbage\"");
    assert_eq!(reason("say \"it's\" a=b"), "invalid extensions; keyless value present: 'say \"it\\'s\"'");
    assert_eq!(
        reason("é\x00\x1b\u{a0}\u{2028}\u{e000}\u{10ffff}😀\\ a=b"),
        "invalid extensions; keyless value present: 'é\\x00\\x1b\\xa0\\u2028\\ue000\\U0010ffff😀\\\\'"
    );
    assert_eq!(
        reason(&format!("{} a=b", "0123456789".repeat(5))),
        format!("invalid extensions; keyless value present: '{}'", "0123456789".repeat(4))
    );
    let e = err(&generic(" =x"));
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '=x'", 32));
    let e = err("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|\\");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '\\\\'", 46));
    assert_eq!(e.hint.as_deref(), Some(KEYLESS_HINT));
}

#[test]
fn newline_records_are_counted_after_the_first_lf() {
    let e = err(&generic("a=1\nb CEF:0|x c=2"));
    assert_eq!(
        e.reason,
        "message is not valid CEF because it contains unescaped newline characters (2 CEF records in one line)"
    );
    assert_eq!(e.column, 34); // the first LF
    assert_eq!(e.hint.as_deref(), Some("split the input on '\\n' before decoding "));
    let e = err(&format!("ü{GENERIC}a=1\nCEF:0|x|y\nCEF:\n"));
    assert!(e.reason.contains("(3 CEF records in one line)"));
    assert_eq!(e.column, 35);
    // `CEF:` before the first LF is value text.
    let rec = dec(&generic("a=1 CEF:0|x\nb=2"));
    assert_eq!(rec.ext, pairs(&[("a", "1 CEF:0|x\nb=2")]));
    assert_eq!(rec.warnings, vec!["malformed value for a at column 44: unescaped '=' kept in the value"]);
}

#[test]
fn glued_candidates_keep_their_own_warnings() {
    let rec = dec(&imperva(r"requestClientApplication=a b=c=d e=\=f g=\\=h"));
    assert_eq!(rec.ext, pairs(&[("requestclientapplication", r"a b=c=d e==f g=\=h")]));
    assert_eq!(
        rec.warnings,
        vec![
            "malformed value for b at column 77: unescaped '=' kept in the value",
            "malformed value for g at column 90: unescaped '=' kept in the value",
        ]
    );
}

#[test]
fn free_text_rule_details() {
    // The blank after '=' goes from a value that glued candidates extend; only one blank goes.
    assert_eq!(
        ext(&imperva("requestClientApplication= a b=c x=y src=1")),
        pairs(&[("requestclientapplication", "a b=c x=y"), ("src", "1")])
    );
    assert_eq!(ext(&imperva("ccode=  US")), pairs(&[("ccode", " US")]));
    // Unknown keys outside free text are keys; the rule starts at the free-text key.
    assert_eq!(
        ext(&imperva("foo=1 bar=2 requestClientApplication=x y=z")),
        pairs(&[("foo", "1"), ("bar", "2"), ("requestclientapplication", "x y=z")])
    );
    // Numbered slots and LEEF spellings are known keys (CEF keeps the LEEF spelling).
    assert_eq!(
        ext(&imperva("requestClientApplication=a cs12=x flexString1=y")),
        pairs(&[("requestclientapplication", "a"), ("cs12", "x"), ("flexstring1", "y")])
    );
    assert_eq!(
        ext(&imperva("requestClientApplication=a popName=x")),
        pairs(&[("requestclientapplication", "a"), ("popname", "x")])
    );
    // Keys longer than the stack buffer of the known-key test.
    assert_eq!(
        ext(&imperva("postbody=a cs123456789012345678901234567890123=x")),
        pairs(&[("postbody", "a"), ("cs123456789012345678901234567890123", "x")])
    );
    assert_eq!(
        ext(&imperva("postbody=a someveryveryveryveryverylongunknownkeyname=x")),
        pairs(&[("postbody", "a someveryveryveryveryverylongunknownkeyname=x")])
    );
    // Glued text is un-escaped with the value.
    assert_eq!(ext(&imperva("requestClientApplication=é€ b=c")), pairs(&[("requestclientapplication", "é€ b=c")]));
}

#[test]
fn key_characters() {
    assert_eq!(
        ext(&generic("a.b=1 x-y=2 a[0]=3 q,r=4 _k=5 9x=6")),
        pairs(&[("a.b", "1"), ("x-y", "2"), ("a[0]", "3"), ("q,r", "4"), ("_k", "5"), ("9x", "6")])
    );
}

#[test]
fn unescaped_equals_needs_an_even_run_of_backslashes() {
    let rec = dec(&generic(r"a==b c= =d e=\\\=f"));
    assert_eq!(rec.ext, pairs(&[("a", "=b"), ("c", " =d"), ("e", r"\=f")]));
    assert_eq!(
        rec.warnings,
        vec![
            "malformed value for a at column 33: unescaped '=' kept in the value",
            "malformed value for c at column 39: unescaped '=' kept in the value",
        ]
    );
}

#[test]
fn repeats_of_several_keys_and_of_empty_values() {
    let rec = dec(&generic("a= b= a=x b=y c="));
    assert_eq!(rec.ext, pairs(&[("a", "x"), ("b", "y"), ("c", "")]));
    assert_eq!(
        rec.dups,
        vec![
            ("a".to_string().into(), vec!["".to_string().into(), "x".to_string().into()]),
            ("b".to_string().into(), vec!["".to_string().into(), "y".to_string().into()]),
        ]
    );
    let rec = dec(&generic("a= a="));
    assert_eq!(rec.ext, pairs(&[("a", "")]));
    assert_eq!(rec.dups, vec![("a".to_string().into(), vec![String::new().into(), String::new().into()])]);
}

#[test]
fn trailing_backslash_inner_cr_and_leading_tab() {
    assert_eq!(ext(&generic("a=\\")), pairs(&[("a", "\\")]));
    assert_eq!(ext(&generic("\t a=1\rx b=2 \r\n\t ")), pairs(&[("a", "1\rx"), ("b", "2")]));
}

#[test]
fn split_extension_trims_and_rejects_keyless_text() {
    assert_eq!(split_ext("\t a=b \r\n", false).unwrap(), pairs(&[("a", "b")]));
    assert_eq!(split_ext("\x0c", false).unwrap(), pairs(&[]));
    let e = split_ext("garbage a=b", false).unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: 'garbage'", 1));
    let e = split_ext(" x requestClientApplication=a b=c", true).unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: 'x'", 1));
}

#[test]
fn long_lines_stay_linear() {
    // ~1 MB (DESIGN §7's `max_line_bytes`): a warning on every pair and every key repeated; warning
    // columns and repeat folding must not rescan the line per pair.
    let body: Vec<String> = (0..100_000).map(|i| format!("k{}==é{i}", i % 1000)).collect();
    let line = generic(&body.join(" "));
    let rec = dec(&line);
    assert_eq!((rec.ext.len(), rec.dups.len(), rec.warnings.len()), (1000, 1000, 100_000));
    assert_eq!(rec.ext[999], ("k999".to_string().into(), "=é999".to_string().into()));
    assert_eq!(rec.dups[0].1.len(), 100);
    let last = line.rfind("==").unwrap() + 1; // the second '=' of the last pair
    assert_eq!(
        rec.warnings[99_999],
        format!(
            "malformed value for k999 at column {}: unescaped '=' kept in the value",
            line[..last].chars().count() + 1
        )
    );
}
