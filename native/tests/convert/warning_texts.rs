//! Warning texts: the ValueError texts of version 1, quoted as Python's repr() quotes.

use _native::ecs::{to_bool, to_date, to_double, to_ip, to_long};

use crate::support::message;

// (converter, input, the ValueError text of version 1 on Python 3.11.7)
const MESSAGES: &[(&str, &str, &str)] = &[
    ("to_bool", "abc", "'abc' is not true/false"),
    ("to_bool", "a'b", "\"a'b\" is not true/false"),
    ("to_bool", "a\"b", "'a\"b' is not true/false"),
    ("to_bool", "a'\"b", "'a\\'\"b' is not true/false"),
    ("to_bool", "\\", "'\\\\' is not true/false"),
    ("to_bool", "tab\u{9}here\u{d}\u{a}", "'tab\\there\\r\\n' is not true/false"),
    ("to_bool", "\u{0}\u{7}\u{1b}\u{7f}", "'\\x00\\x07\\x1b\\x7f' is not true/false"),
    ("to_bool", "\u{1c}\u{1f}", "'\\x1c\\x1f' is not true/false"),
    ("to_bool", "\u{85}\u{a0}\u{ad}", "'\\x85\\xa0\\xad' is not true/false"),
    ("to_bool", "\u{e9}\u{ff}", "'\u{e9}\u{ff}' is not true/false"),
    ("to_bool", "\u{301}x", "'\u{301}x' is not true/false"),
    ("to_bool", "\u{200b}\u{2028}\u{feff}", "'\\u200b\\u2028\\ufeff' is not true/false"),
    ("to_bool", "\u{e000}", "'\\ue000' is not true/false"),
    ("to_bool", "\u{1f600}", "'\u{1f600}' is not true/false"),
    ("to_bool", "\u{e0001}", "'\\U000e0001' is not true/false"),
    ("to_bool", "\u{10ffff}", "'\\U0010ffff' is not true/false"),
    ("to_bool", "\u{378}", "'\\u0378' is not true/false"),
    ("to_bool", "\u{65e5}\u{672c}", "'\u{65e5}\u{672c}' is not true/false"),
    ("to_bool", "\u{3000}x", "'\\u3000x' is not true/false"),
    ("to_bool", "\u{2003}", "'\\u2003' is not true/false"),
    ("to_bool", "TRUE!", "'TRUE!' is not true/false"),
    ("to_bool", "yes", "'yes' is not true/false"),
    ("to_bool", "", "'' is not true/false"),
    ("to_long", "abc", "invalid literal for int() with base 10: 'abc'"),
    ("to_long", " 12x ", "invalid literal for int() with base 10: '12x'"),
    ("to_long", "1__0", "invalid literal for int() with base 10: '1__0'"),
    ("to_long", "_1", "invalid literal for int() with base 10: '_1'"),
    ("to_long", "1_", "invalid literal for int() with base 10: '1_'"),
    ("to_long", "+_1", "invalid literal for int() with base 10: '+_1'"),
    ("to_long", "1 0", "invalid literal for int() with base 10: '1 0'"),
    ("to_long", "0x10", "invalid literal for int() with base 10: '0x10'"),
    ("to_long", "1e3", "invalid literal for int() with base 10: '1e3'"),
    ("to_long", "", "invalid literal for int() with base 10: ''"),
    ("to_double", "abc", "could not convert string to float: 'abc'"),
    ("to_double", "1__0", "could not convert string to float: '1__0'"),
    ("to_double", "1_.5", "could not convert string to float: '1_.5'"),
    ("to_double", "1e_5", "could not convert string to float: '1e_5'"),
    ("to_double", "0x10", "could not convert string to float: '0x10'"),
    ("to_double", ".", "could not convert string to float: '.'"),
    ("to_double", "e5", "could not convert string to float: 'e5'"),
    ("to_double", "nan_", "could not convert string to float: 'nan_'"),
    ("to_double", "nan", "'nan' is not a finite number"),
    ("to_double", "-inf", "'-inf' is not a finite number"),
    ("to_double", " 1e400 ", "' 1e400 ' is not a finite number"),
    ("to_double", "Infinity", "'Infinity' is not a finite number"),
    ("to_date", "yesterday", "'yesterday' is not epoch milliseconds"),
    ("to_date", "", "'' is not epoch milliseconds"),
    ("to_date", "-1", "'-1' is not epoch milliseconds"),
    ("to_date", "1.5", "'1.5' is not epoch milliseconds"),
    ("to_date", "0x10", "'0x10' is not epoch milliseconds"),
    ("to_ip", "xxx.xxx.31.120", "'xxx.xxx.31.120' is not an IP address"),
    ("to_ip", "", "'' is not an IP address"),
    ("to_ip", "1.2.3.4/32", "'1.2.3.4/32' is not an IP address"),
    ("to_ip", "\u{3000}bad\u{3000}", "'\\u3000bad\\u3000' is not an IP address"),
];

#[test]
fn warnings_read_as_version_1_wrote_them() {
    for &(converter, input, expected) in MESSAGES {
        let got = match converter {
            "to_bool" => message(to_bool(input)),
            "to_long" => message(to_long(input)),
            "to_double" => message(to_double(input)),
            "to_date" => message(to_date(input)),
            "to_ip" => message(to_ip(input)),
            other => panic!("{other}"),
        };
        assert_eq!(got, expected, "{converter}({input:?})");
    }
}

#[test]
fn int_messages_cut_the_repr_at_200_characters_as_cpython_does() {
    let p = "invalid literal for int() with base 10: ";
    assert_eq!(message(to_long(&"x".repeat(250))), format!("{p}'{}", "x".repeat(199)));
    assert_eq!(message(to_long(&"'".repeat(201))), format!("{p}\"{}", "'".repeat(199)));
    assert_eq!(message(to_long(&"\0".repeat(60))), format!("{p}'{}\\x0", "\\x00".repeat(49)));
    assert_eq!(message(to_long(&"é".repeat(210))), format!("{p}'{}", "é".repeat(199)));
    // float() does not cut.
    assert_eq!(
        message(to_double(&"x".repeat(250))),
        format!("could not convert string to float: '{}'", "x".repeat(250))
    );
}
