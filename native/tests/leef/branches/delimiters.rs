//! LEEF 2.0's delimiter field as the oracle reads it (Python's `int(…, 16)`: blanks, a sign,
//! Unicode digits), delimiters that could start a key, `|` and multibyte delimiters, the version's
//! blanks, a keyless head.

use _native::decode::leef::parse_delimiter;

use crate::support::{check, dec, err};

#[test]
fn parse_delimiter_is_pythons_int() {
    for (spec, want) in [
        ("x 5", Some(0x5)),
        ("x-0", Some(0x0)),
        ("x٥", Some(0x5)),
        ("x+A", Some(0xa)),
        ("xD800", Some(0xd800)), // a lone surrogate in Python: a code point, not a char
        ("x-1", None),
        ("x_5", None),
        ("x12345", None),
        ("x", Some('x' as u32)),
        ("0x", None),
        (" ^ ", None),
        (" x09 ", Some(0x9)),
        ("\t", Some(0x9)),
        ("  ", Some(0x9)),
        ("0x0x5", Some(0x5)),
        ("x0_1", Some(0x1)),
        ("X_", None),
        ("İ", Some(0x130)),
    ] {
        assert_eq!(parse_delimiter(spec), want, "{spec:?}");
    }
}

/// Python's int(…, 16) accepts blanks, a sign and Unicode digits in the delimiter field.
#[test]
fn leef_2_0_lenient_hex_delimiters() {
    check(
        &dec("LEEF:2.0|V|P|1|E|x 5E|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|X+5e|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|x٥e|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E| x09 |a=1\tb=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// chr(0xD800) is a lone surrogate: never in the line, so the attributes are cut at spaces.
#[test]
fn leef_2_0_surrogate_delimiter_falls_back_to_spaces() {
    check(
        &dec("LEEF:2.0|V|P|1|E|xD800|a=1 b=2\t"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// A delimiter that can start a key (here `_` and `=`) still cuts only where a key follows.
#[test]
fn leef_2_0_delimiter_is_a_key_character() {
    check(
        &dec("LEEF:2.0|V|P|1|E|_|a=1_b=2__c=3"),
        &[("a", "1"), ("b", "2"), ("_c", "3")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|=|a=b=c=d"),
        &[("a", "b"), ("c", "d")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|x3D|=a=b"),
        &[("a", "b")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// `|` as delimiter field, and a delimiter outside ASCII.
#[test]
fn leef_2_0_pipe_and_multibyte_delimiters() {
    let e = err("LEEF:2.0|V|P|1|E|||a=1|b=2");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '|a=1|b=2'", 19));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|é|a=1éb=2é"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|x2603|a=1☃b=x☃y☃"),
        &[("a", "1"), ("b", "x☃y")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// The version is stripped before the `2` test and in the record.
#[test]
fn leef_2_0_version_is_trimmed() {
    check(
        &dec("LEEF: 2.0 |V|P|1|E|^|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2|V|P|1|E|src=1"),
        &[("src", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2"), None, None],
    );
}

/// A second delimiter before the first key is a keyless value (empty in the message).
#[test]
fn leef_2_0_keyless_head_after_delimiter() {
    let e = err("LEEF:2.0|a|b|c|d|^|^^a=b");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: ''", 21));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
}
