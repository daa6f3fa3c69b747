//! Grammar details: escapes, blanks and line endings, empty values, unescaped '=',
//! `split_extension`.

use crate::support::{dec, ext, generic, pairs, split_ext, GENERIC};

#[test]
fn escapes() {
    let rec = dec(&generic(r"a=1\=2 b=c\\d c=line\nbreak\rx d=keep\|pipe\ e=\\= f=\\\="));
    assert_eq!(
        rec.ext,
        pairs(&[
            ("a", "1=2"),
            ("b", "c\\d"),
            ("c", "line\nbreak\rx"),
            ("d", "keep\\|pipe\\"),
            ("e", "\\="),
            ("f", "\\=")
        ])
    );
    assert_eq!(rec.warnings.len(), 1);
    assert!(rec.warnings[0].starts_with("malformed value for e "));
}

#[test]
fn header_escapes() {
    let rec = dec(r"CEF:0|Ven\|dor|Pro\\duct|1|2|Name \| with pipe|5|a=b");
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.name.as_deref(), rec.severity.as_deref()),
        (Some("Ven|dor"), Some("Pro\\duct"), Some("Name | with pipe"), Some("5"))
    );
    assert_eq!(rec.ext, pairs(&[("a", "b")]));
}

#[test]
fn blanks_and_line_endings() {
    // One separator blank; the line end goes.
    assert_eq!(ext(&generic("  a=x  b=y \t\r\n")), pairs(&[("a", "x "), ("b", "y")]));
    // A tab does not separate.
    assert_eq!(ext(&generic("a=x\tb=y")), pairs(&[("a", "x\tb=y")]));
}

#[test]
fn empty_values_and_header_only() {
    assert_eq!(ext(&generic("a= b= c=")), pairs(&[("a", ""), ("b", ""), ("c", "")]));
    assert_eq!(ext(GENERIC), pairs(&[]));
    assert_eq!(ext(&generic("   ")), pairs(&[]));
}

#[test]
fn unescaped_equals_is_kept_and_flagged_with_its_column() {
    let line = generic("msg=a =b id==x");
    let rec = dec(&line);
    assert_eq!(rec.ext, pairs(&[("msg", "a =b"), ("id", "=x")]));
    assert_eq!(
        rec.warnings,
        vec![
            format!(
                "malformed value for msg at column {}: unescaped '=' kept in the value",
                line.find(" =b").unwrap() + 2
            ),
            format!(
                "malformed value for id at column {}: unescaped '=' kept in the value",
                line.find("==").unwrap() + 2
            ),
        ]
    );
}

#[test]
fn split_extension_public_function() {
    assert_eq!(
        split_ext(" fileId=1 requestClientApplication=a b=c ver=x", true).unwrap(),
        pairs(&[("fileId", "1"), ("requestClientApplication", "a b=c"), ("ver", "x")])
    );
    assert_eq!(split_ext("a=b c=d", false).unwrap(), pairs(&[("a", "b"), ("c", "d")]));
    assert_eq!(split_ext("", false).unwrap(), pairs(&[]));
}
