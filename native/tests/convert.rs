//! The ECS value converters (`native/src/ecs/`): every case of version 1's
//! `tests/decode/test_convert.py`, tables whose expected values were computed by running version 1
//! on Python 3.11.7 (addresses, warning texts, JSON), and the intended differences from version 1
//! listed at the top of `native/src/ecs/convert.rs`.

use _native::ecs::{
    attack_type, classify_action, is_known_action, iso_ms, rule_type_from_name, rule_type_id, rule_type_name,
    split_ips, to_bool, to_date, to_double, to_ip, to_ip_list, to_ip_zoned, to_json, to_keyword_list, to_long,
    w3c_timestamp, ActionClass, Invalid, Outcome, PLAUSIBLE_MS,
};
use serde_json::Value;

/// The message of an Invalid, failing the test on a value.
fn message<T: std::fmt::Debug>(r: Result<T, Invalid>) -> String {
    r.expect_err("expected Invalid").message().to_owned()
}

/// A JSON value as text, keys in their order (the comparison `Value ==` would ignore order).
fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// `expected` (orjson's text) parsed and written again, so number spelling does not matter.
fn normalised(expected: &str) -> String {
    text(&serde_json::from_str(expected).unwrap())
}

// ---- version 1's tests/decode/test_convert.py ------------------------------------------------

#[test]
fn json_tolerates_imperva_quirks_and_keeps_objects() {
    assert_eq!(text(&to_json(r#",,[{"a":"b"}]"#).unwrap()), r#"[{"a":"b"}]"#);
    assert_eq!(text(&to_json(r#"[{""rule_id"":""4709724""}]"#).unwrap()), r#"[{"rule_id":"4709724"}]"#);
    // flattened fields take objects only
    assert_eq!(text(&to_json(r#""just text""#).unwrap()), r#"{"value":"just text"}"#);
    assert_eq!(text(&to_json(r#"["a", 1]"#).unwrap()), r#"{"value":["a",1]}"#);
    assert!(to_json("{not json").is_err());
}

#[test]
fn addresses_and_lists() {
    assert_eq!(to_ip("2001:DB8::1").unwrap(), "2001:db8::1");
    assert!(to_ip("xxx.xxx.31.120").is_err());
    assert_eq!(to_ip_list("1.128.0.0, 81.2.69.144").unwrap(), ["1.128.0.0", "81.2.69.144"]);
    assert_eq!(to_keyword_list("[US]"), ["US"]);
    assert_eq!(
        to_keyword_list(",High Risk SQL Expressions,,SQL SELECT Expression,"),
        ["High Risk SQL Expressions", "SQL SELECT Expression"]
    );
}

#[test]
fn dates() {
    assert_eq!(iso_ms(to_date("1453290121336").unwrap()), "2016-01-20T11:42:01.336Z");
    // Version 1 read this as seconds (2016-01-20T11:42:01.000Z); intended difference 2.
    assert_eq!(
        message(to_date("1453290121")),
        "'1453290121' is not a plausible epoch-milliseconds time (expected between 2000 and 2100)"
    );
    assert!(to_date("yesterday").is_err());
}

// ---- addresses ---------------------------------------------------------------------------------

// Inputs → str(ipaddress.ip_address(v.strip().strip("[]"))) on Python 3.11.7; None: ValueError.
const IPS: &[(&str, Option<&str>)] = &[
    ("1.2.3.4", Some("1.2.3.4")),
    ("0.0.0.0", Some("0.0.0.0")),
    ("255.255.255.255", Some("255.255.255.255")),
    ("81.2.69.144", Some("81.2.69.144")),
    ("10.0.0.1", Some("10.0.0.1")),
    ("256.1.1.1", None),
    ("1.2.3.256", None),
    ("999.1.1.1", None),
    ("01.2.3.4", None),
    ("1.2.3.04", None),
    ("000.1.1.1", None),
    ("0.0.0.00", None),
    ("1.2.3.0004", None),
    ("1.2.3", None),
    ("1.2.3.4.5", None),
    ("1.2.3.", None),
    (".1.2.3", None),
    ("1..2.3", None),
    ("1.2.3.-4", None),
    ("+1.2.3.4", None),
    ("0x1.2.3.4", None),
    ("1e1.2.3.4", None),
    ("127.1", None),
    ("2130706433", None),
    ("1.2.3.4:80", None),
    ("1.2.3.4/32", None),
    ("1.2.3.4%eth0", None),
    ("\u{661}.2.3.4", None),
    ("\u{ff11}.2.3.4", None),
    ("xxx.xxx.31.120", None),
    (" 1.2.3.4", Some("1.2.3.4")),
    ("1.2.3.4 ", Some("1.2.3.4")),
    ("\u{9}1.2.3.4\u{a}", Some("1.2.3.4")),
    ("\u{1c}1.2.3.4\u{1f}", Some("1.2.3.4")),
    ("\u{a0}1.2.3.4\u{3000}", Some("1.2.3.4")),
    ("\u{200b}1.2.3.4", None),
    ("[1.2.3.4]", Some("1.2.3.4")),
    ("[[1.2.3.4]]", Some("1.2.3.4")),
    ("]1.2.3.4[", Some("1.2.3.4")),
    ("[1.2.3.4", Some("1.2.3.4")),
    ("[ 1.2.3.4]", None),
    (" [1.2.3.4] ", Some("1.2.3.4")),
    ("", None),
    (" ", None),
    ("[]", None),
    ("::", Some("::")),
    ("::1", Some("::1")),
    ("1::", Some("1::")),
    ("::0", Some("::")),
    ("0::0", Some("::")),
    ("2001:DB8::1", Some("2001:db8::1")),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", Some("2001:db8::1")),
    ("0000:0000:0000:0000:0000:0000:0000:0000", Some("::")),
    ("2001:db8:0:0:1:0:0:1", Some("2001:db8::1:0:0:1")),
    ("2001:db8::1:0:0:1", Some("2001:db8::1:0:0:1")),
    ("0:0:1:0:0:1:0:0", Some("::1:0:0:1:0:0")),
    ("1:0:0:1:0:0:0:1", Some("1:0:0:1::1")),
    ("1:0:1:0:1:0:1:0", Some("1:0:1:0:1:0:1:0")),
    ("1:0:0:2:0:0:3:4", Some("1::2:0:0:3:4")),
    ("a:b:c:d:e:f:0:0", Some("a:b:c:d:e:f::")),
    ("0:0:a:b:c:d:0:0", Some("::a:b:c:d:0:0")),
    ("2001:db8:0:1:1:1:1:1", Some("2001:db8:0:1:1:1:1:1")),
    ("2001:db8:0:0:0:0:2:1", Some("2001:db8::2:1")),
    ("2001:db8:85a3::8a2e:370:7334", Some("2001:db8:85a3::8a2e:370:7334")),
    ("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", Some("abcd:ef01:2345:6789:abcd:ef01:2345:6789")),
    ("1:2:3:4:5:6:7:8", Some("1:2:3:4:5:6:7:8")),
    ("1:2:3:4:5:6:7::", Some("1:2:3:4:5:6:7:0")),
    ("::2:3:4:5:6:7:8", Some("0:2:3:4:5:6:7:8")),
    ("1::2:3:4:5:6:7", Some("1:0:2:3:4:5:6:7")),
    ("::0:0:0:0:0:0:0", Some("::")),
    ("0:0:0:0:0:0:0::", Some("::")),
    ("1:2:3:4:5:6:7:8:9", None),
    ("1::2::3", None),
    (":::", None),
    ("::::", None),
    (":", None),
    ("1:2", None),
    (":1::", None),
    ("1:::2", None),
    ("::1:", None),
    (":1:2:3:4:5:6:7", None),
    ("1:2:3:4:5:6:7:", None),
    ("1:2:3:4:5:6:7:8::", None),
    ("::1:2:3:4:5:6:7:8", None),
    ("1::2:3:4:5:6:7:8", None),
    ("12345::", None),
    ("00000::", None),
    ("g::1", None),
    ("::ffff:1.2.3.4", Some("::ffff:102:304")),
    ("::1.2.3.4", Some("::102:304")),
    ("::ffff:0:1.2.3.4", Some("::ffff:0:102:304")),
    ("64:ff9b::192.0.2.33", Some("64:ff9b::c000:221")),
    ("1:2:3:4:5:6:1.2.3.4", Some("1:2:3:4:5:6:102:304")),
    ("1:2:3:4:5:6:7:1.2.3.4", None),
    ("::ffff:0.0.0.0", Some("::ffff:0:0")),
    ("::ffff:255.255.255.255", Some("::ffff:ffff:ffff")),
    ("::1.2.3", None),
    ("::01.2.3.4", None),
    ("::256.1.1.1", None),
    ("1.2.3.4::", None),
    ("::1.2.3.4:5", None),
    ("::\u{663}", None),
    ("::\u{ff21}\u{ff22}", None),
    ("::1/128", None),
    ("[::1]", Some("::1")),
    ("[[::1]]", Some("::1")),
    (" 2001:db8::1 ", Some("2001:db8::1")),
    ("\u{3000}::1", Some("::1")),
    ("::1\u{1c}", Some("::1")),
    ("2001:db8::", Some("2001:db8::")),
];

// Inputs → Python's text split at the zone: (address, zone), or None for ValueError
const ZONED: &[(&str, Option<(&str, &str)>)] = &[
    ("fe80::1%eth0", Some(("fe80::1", "eth0"))),
    ("FE80::ABCD%Eth0", Some(("fe80::abcd", "Eth0"))),
    ("[fe80::1%25eth0]", Some(("fe80::1", "25eth0"))),
    ("fe80::1% 1", Some(("fe80::1", " 1"))),
    ("fe80::1%\u{e9}", Some(("fe80::1", "\u{e9}"))),
    ("1:2:3:4:5:6:7:8%x", Some(("1:2:3:4:5:6:7:8", "x"))),
    ("::%x", Some(("::", "x"))),
    ("::ffff:1.2.3.4%1", Some(("::ffff:102:304", "1"))),
    ("fe80::1%", None),
    ("fe80::1%%", None),
    ("fe80::1%a%b", None),
    ("fe80::1%eth0/64", None),
    ("1.2.3.4%x", None),
    ("%eth0", None),
];

#[test]
fn addresses_are_canonical_as_python_prints_them() {
    for &(input, expected) in IPS {
        match expected {
            Some(canonical) => {
                assert_eq!(to_ip(input).as_deref(), Ok(canonical), "{input:?}");
                assert_eq!(to_ip_zoned(input), Ok((canonical.to_owned(), None)), "{input:?}");
            }
            None => {
                assert!(to_ip(input).is_err(), "{input:?} gave {:?}", to_ip(input));
                assert!(to_ip_zoned(input).is_err(), "{input:?}");
            }
        }
    }
}

#[test]
fn a_zone_id_is_kept_apart_from_the_address() {
    // Intended difference 3: Python printed `fe80::1%eth0`, which an Elasticsearch ip rejects.
    for &(input, expected) in ZONED {
        match expected {
            Some((address, zone)) => {
                assert_eq!(to_ip_zoned(input), Ok((address.to_owned(), Some(zone.to_owned()))), "{input:?}");
                assert!(message(to_ip(input))
                    .ends_with(" is an IPv6 address with a zone id, which an ip field cannot hold"));
            }
            None => {
                assert!(to_ip_zoned(input).is_err(), "{input:?}");
                assert!(message(to_ip(input)).ends_with(" is not an IP address"), "{input:?}");
            }
        }
    }
    assert_eq!(
        message(to_ip("fe80::1%eth0")),
        "'fe80::1%eth0' is an IPv6 address with a zone id, which an ip field cannot hold"
    );
}

#[test]
fn xff_chains_split_keep_order_and_report_the_rest() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(split_ips("1.2.3.4, 2001:DB8::1 ,5.6.7.8"), (s(&["1.2.3.4", "2001:db8::1", "5.6.7.8"]), s(&[])));
    assert_eq!(split_ips(" 9.9.9.9 ,, 1.1.1.1 , ,"), (s(&["9.9.9.9", "1.1.1.1"]), s(&[])));
    assert_eq!(split_ips("unknown, 10.0.0.1, [::1]"), (s(&["10.0.0.1", "::1"]), s(&["unknown"])));
    // Python's `\s` is str.isspace(): U+3000 and U+001C are whitespace there.
    assert_eq!(split_ips("1.2.3.4\u{3000},\u{1c}x y ,01.1.1.1"), (s(&["1.2.3.4"]), s(&["x y", "01.1.1.1"])));
    // Duplicates stay (related.ip de-duplicates, not the list).
    assert_eq!(split_ips("1.1.1.1,1.1.1.1"), (s(&["1.1.1.1", "1.1.1.1"]), s(&[])));
    assert_eq!(split_ips(""), (s(&[]), s(&[])));
    assert_eq!(split_ips(" , "), (s(&[]), s(&[])));
    // A zoned member is not an address of a chain (intended difference 3).
    assert_eq!(split_ips("fe80::1%eth0, 1.2.3.4"), (s(&["1.2.3.4"]), s(&["fe80::1%eth0"])));
    assert_eq!(message(to_ip_list("1.2.3.4, nope, 3::x")), "not IP addresses: nope, 3::x");
    assert_eq!(to_ip_list("").unwrap(), Vec::<String>::new());
}

// ---- warning texts ---------------------------------------------------------------------------

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

// ---- numbers and booleans ----------------------------------------------------------------------

#[test]
fn longs_are_python_int_within_64_bits() {
    for (input, want) in [
        ("42", 42),
        (" -7 ", -7),
        ("+1_000", 1000),
        ("0", 0),
        ("-0", 0),
        ("007", 7),
        ("\u{1c}5\u{3000}", 5),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
        ("1_2_3", 123),
    ] {
        assert_eq!(to_long(input), Ok(want), "{input:?}");
    }
    // Intended difference 5: Python returned a big int no sink could store.
    assert_eq!(message(to_long("9223372036854775808")), "'9223372036854775808' is out of range for a long");
    assert_eq!(message(to_long(" -9223372036854775809")), "' -9223372036854775809' is out of range for a long");
    // Intended difference 1: int("١٢") is 12 in Python.
    assert_eq!(message(to_long("١٢")), "invalid literal for int() with base 10: '١٢'");
}

#[test]
fn doubles_are_python_float_and_finite() {
    for (input, want) in [
        ("1.5", 1.5),
        (" -2e3 ", -2000.0),
        ("1_000.5", 1000.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e5_0", 1e50),
        ("+3", 3.0),
        ("0.1e-400", 0.0),
        ("0.30000000000000004", 0.30000000000000004),
        ("31.7683", 31.7683),
    ] {
        assert_eq!(to_double(input), Ok(want), "{input:?}");
    }
    assert!(to_double("-0").unwrap().is_sign_negative()); // float('-0') is -0.0
                                                          // Intended difference 1: float("١.٥") is 1.5 in Python.
    assert_eq!(message(to_double("١.٥")), "could not convert string to float: '١.٥'");
}

#[test]
fn booleans_are_true_or_false_in_any_case() {
    for (input, want) in [("true", true), ("FALSE", false), (" True ", true), ("\u{3000}fAlSe\u{1c}", false)] {
        assert_eq!(to_bool(input), Ok(want), "{input:?}");
    }
    for input in ["1", "yes", "t", "truee", "tru e", "ｔｒｕｅ"] {
        assert!(to_bool(input).is_err(), "{input:?}");
    }
}

#[test]
fn keyword_lists_drop_brackets_and_empty_members() {
    assert_eq!(to_keyword_list("30037,1001,"), ["30037", "1001"]);
    assert_eq!(to_keyword_list(" [US, IL] "), ["US", "IL"]);
    assert_eq!(to_keyword_list("[[x]]"), ["[x]"]);
    assert_eq!(to_keyword_list("[US"), ["[US"]);
    assert_eq!(to_keyword_list("a,\u{3000}b\u{1c},,"), ["a", "b"]);
    assert_eq!(to_keyword_list("[]"), Vec::<&str>::new());
    assert_eq!(to_keyword_list(""), Vec::<&str>::new());
    assert_eq!(to_keyword_list(" , ,"), Vec::<&str>::new());
}

// ---- times -----------------------------------------------------------------------------------

#[test]
fn iso_ms_writes_utc_with_milliseconds() {
    for (ms, want) in [
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (1_453_290_121_336, "2016-01-20T11:42:01.336Z"),
        (946_684_800_000, "2000-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_709_164_800_123, "2024-02-29T00:00:00.123Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (253_402_300_800_000, "10000-01-01T00:00:00.000Z"),
        (-30_610_224_000_000, "1000-01-01T00:00:00.000Z"),
        // Intended difference 7: Python (glibc strftime) wrote "1-01-01T00:00:00.000Z".
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        (-62_135_596_800_001, "0000-12-31T23:59:59.999Z"),
    ] {
        assert_eq!(iso_ms(ms), want, "{ms}");
    }
    let _ = iso_ms(i64::MIN);
    let _ = iso_ms(i64::MAX);
}

#[test]
fn dates_are_plausible_epoch_milliseconds() {
    assert_eq!(PLAUSIBLE_MS, 946_684_800_000..4_102_444_800_000);
    assert_eq!(to_date("946684800000"), Ok(946_684_800_000));
    assert_eq!(to_date(" 4102444799999 "), Ok(4_102_444_799_999));
    assert_eq!(to_date("0001453290121336"), Ok(1_453_290_121_336));
    let implausible = " is not a plausible epoch-milliseconds time (expected between 2000 and 2100)";
    // Intended difference 2: seconds are no longer multiplied up; the range is checked.
    for input in ["946684799999", "4102444800000", "0", "1453290121", "1453290121336000", "99999999999999999999999"] {
        assert_eq!(message(to_date(input)), format!("'{input}'{implausible}"));
    }
    // Intended difference 1: "١٤٥٣٢٩٠١٢١٣٣٦".isdigit() is true in Python.
    assert_eq!(message(to_date("١٤٥٣٢٩٠١٢١٣٣٦")), "'١٤٥٣٢٩٠١٢١٣٣٦' is not epoch milliseconds");
}

#[test]
fn w3c_date_and_time_must_be_a_real_utc_time() {
    let at = |d, t| w3c_timestamp(d, t).map(iso_ms);
    assert_eq!(at("2017-06-28", "07:26:35").as_deref(), Ok("2017-06-28T07:26:35.000Z"));
    assert_eq!(at("2024-02-29", "23:59:59.5").as_deref(), Ok("2024-02-29T23:59:59.500Z"));
    assert_eq!(at("2000-02-29", "00:00:00.12").as_deref(), Ok("2000-02-29T00:00:00.120Z"));
    assert_eq!(at("1970-01-01", "00:00:00.001").as_deref(), Ok("1970-01-01T00:00:00.001Z"));
    assert_eq!(at("0001-01-01", "00:00:00").as_deref(), Ok("0001-01-01T00:00:00.000Z"));
    assert_eq!(at("9999-12-31", "23:59:59.999").as_deref(), Ok("9999-12-31T23:59:59.999Z"));
    assert_eq!(w3c_timestamp("2016-01-20", "11:42:01.336"), Ok(1_453_290_121_336));
    // Intended difference 4: version 1 built "{date}T{time}Z" from any text.
    let bad_date = " is not a calendar date (expected YYYY-MM-DD, year 0001 to 9999)";
    let bad_time = " is not a time of day (expected HH:MM:SS or HH:MM:SS.mmm, UTC)";
    for date in [
        "hello",
        "2024-02-30",
        "2023-02-29",
        "1900-02-29",
        "2024-04-31",
        "2024-13-01",
        "2024-00-10",
        "2024-01-00",
        "-0001-01-01",
        "0000-01-01",
        "10000-01-01",
        "2024-1-01",
        "2024/01/01",
        " 2024-01-01",
        "٢٠٢٤-01-01",
        "",
    ] {
        assert_eq!(message(w3c_timestamp(date, "00:00:00")), format!("'{date}'{bad_date}"), "{date:?}");
    }
    for time in [
        "world",
        "25:61:61",
        "24:00:00",
        "23:60:00",
        "23:59:60",
        "1:02:03",
        "12:00",
        "12:00:00.",
        "12:00:00.1234",
        "12:00:00Z",
        "12:00:00 ",
        "12-00-00",
        "",
    ] {
        assert_eq!(message(w3c_timestamp("2024-01-01", time)), format!("'{time}'{bad_time}"), "{time:?}");
    }
    // The date is judged first.
    assert_eq!(message(w3c_timestamp("hello", "world")), format!("'hello'{bad_date}"));
}

// ---- JSON --------------------------------------------------------------------------------------

// Input → orjson.dumps(to_json(input)) of version 1 on Python 3.11.7; Err: its ValueError text.
const JSONS: &[(&str, Result<&str, &str>)] = &[
    (",,[{\"a\":\"b\"}]", Ok("[{\"a\":\"b\"}]")),
    ("[{\"\"rule_id\"\":\"\"4709724\"\"}]", Ok("[{\"rule_id\":\"4709724\"}]")),
    ("\"just text\"", Ok("{\"value\":\"just text\"}")),
    ("[\"a\", 1]", Ok("{\"value\":[\"a\",1]}")),
    ("{not json", Err("not valid JSON (kept as text)")),
    ("", Err("empty JSON value")),
    ("  ", Err("empty JSON value")),
    (",,", Err("empty JSON value")),
    (" , ,[1]", Err("not valid JSON (kept as text)")),
    (", {\"a\": 1}", Ok("{\"a\":1}")),
    ("[]", Ok("[]")),
    ("{}", Ok("{}")),
    ("null", Ok("{\"value\":null}")),
    ("true", Ok("{\"value\":true}")),
    ("1.5", Ok("{\"value\":1.5}")),
    ("-0", Ok("{\"value\":0}")),
    ("[-0]", Ok("{\"value\":[0]}")),
    ("{\"x\": -0, \"y\": [ -0, -0.0, -0e1, 1e2, 1E-2]}", Ok("{\"x\":0,\"y\":[0,-0.0,-0.0,100.0,0.01]}")),
    ("{\"k\": \"-0\", \"a\\\"-0\": -0}", Ok("{\"k\":\"-0\",\"a\\\"-0\":0}")),
    ("1e-0", Ok("{\"value\":1.0}")),
    ("--0", Err("not valid JSON (kept as text)")),
    ("[1,]", Err("not valid JSON (kept as text)")),
    ("{\"a\":1,\"a\":2,\"b\":3}", Ok("{\"a\":2,\"b\":3}")),
    ("{\"b\":1,\"a\":2}", Ok("{\"b\":1,\"a\":2}")),
    ("{\"n\": 18446744073709551615, \"m\": 18446744073709551616, \"i\": -9223372036854775808, \"j\": -9223372036854775809}", Ok("{\"n\":18446744073709551615,\"m\":1.8446744073709552e+19,\"i\":-9223372036854775808,\"j\":-9.223372036854776e+18}")),
    ("123456789012345678901234567890", Ok("{\"value\":1.2345678901234568e+29}")),
    ("1e400", Err("not valid JSON (kept as text)")),
    ("0.1e-400", Ok("{\"value\":0.0}")),
    ("NaN", Err("not valid JSON (kept as text)")),
    ("\"\\ud800\"", Err("not valid JSON (kept as text)")),
    ("\"\\ud83d\\ude00\"", Ok("{\"value\":\"\u{1f600}\"}")),
    ("\"\\u0000\"", Ok("{\"value\":\"\\u0000\"}")),
    ("\u{feff}{}", Err("not valid JSON (kept as text)")),
    ("{}x", Err("not valid JSON (kept as text)")),
    ("[{\"a\":1},{\"b\":2}]", Ok("[{\"a\":1},{\"b\":2}]")),
    ("[{\"a\":1},2]", Ok("{\"value\":[{\"a\":1},2]}")),
    ("[[{\"a\":1}]]", Ok("{\"value\":[[{\"a\":1}]]}")),
    ("{\"a\":\"\"}", Ok("{\"a\":\"\"}")),
    ("[{\"\"a\"\":\"\"\"\"}]", Ok("[{\"a\":\"\"}]")),
    ("\"say \"\"hi\"\"\"", Err("not valid JSON (kept as text)")),
    ("0.30000000000000004", Ok("{\"value\":0.30000000000000004}")),
    ("5e-324", Ok("{\"value\":5e-324}")),
    ("2.2250738585072011e-308", Ok("{\"value\":2.225073858507201e-308}")),
    ("9007199254740993", Ok("{\"value\":9007199254740993}")),
];

#[test]
fn json_reads_as_orjson_read_it() {
    for &(input, expected) in JSONS {
        match expected {
            Ok(want) => assert_eq!(text(&to_json(input).unwrap()), normalised(want), "{input:?}"),
            Err(want) => assert_eq!(message(to_json(input)), want, "{input:?}"),
        }
    }
}

#[test]
fn json_keeps_integer_minus_zero_an_integer_and_float_minus_zero_a_float() {
    let v = to_json(r#"{"i": -0, "f": -0.0, "s": "-0"}"#).unwrap();
    assert_eq!(text(&v), r#"{"i":0,"f":-0.0,"s":"-0"}"#);
    assert!(v["i"].is_u64());
}

#[test]
fn json_nesting_is_bounded() {
    // Intended difference 6: orjson reads up to 1024 levels, serde_json 127.
    let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(to_json(&nest(127)).is_ok());
    assert_eq!(message(to_json(&nest(128))), "not valid JSON (kept as text)");
    let objects = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    assert!(to_json(&objects(127)).is_ok());
    assert!(to_json(&objects(128)).is_err());
}

// ---- actions and rule types --------------------------------------------------------------------

#[test]
fn actions_are_classified_by_prefix() {
    use ActionClass::*;
    for (act, class, outcome, known) in [
        ("REQ_PASSED", Passed, Outcome::Success, true),
        ("REQ_CACHED_FRESH", Cached, Outcome::Success, true),
        ("req_cached_validated", Cached, Outcome::Success, true),
        ("REQ_CHALLENGE_CAPTCHA", Challenged, Outcome::Unknown, true),
        ("REQ_CHALLENGED_CAPTCHA", Challenged, Outcome::Unknown, true),
        ("REQ_BLOCKED_SESSION", Blocked, Outcome::Failure, true),
        ("REQ_BAD_CLIENT_CLOSED_CONNECTION", Bad, Outcome::Failure, true),
        ("REQ_UNRESOLVED_SITE_UNKNOWN", Unresolved, Outcome::Failure, true),
        ("REQ_ILLEGAL_PORT", Denied, Outcome::Failure, true),
        ("req_domain_blacklisted", Denied, Outcome::Failure, true),
        ("REQ_TOO_MANY_CONNECTIONS_TO_ORIGIN", Denied, Outcome::Failure, true),
        ("REQ_SOMETHING_NEW", Denied, Outcome::Failure, false),
        ("REQ_", Denied, Outcome::Failure, false),
        ("REQ", Unknown, Outcome::Unknown, false),
        ("PASSED", Unknown, Outcome::Unknown, false),
        ("", Unknown, Outcome::Unknown, false),
        (" REQ_PASSED", Unknown, Outcome::Unknown, false),
        // Python's str.upper(): ſ → S, ı → I, ß → SS.
        ("REQ_PAſſED", Passed, Outcome::Success, true),
        ("REQ_ſſL_NOT_ſUPPORTED", Denied, Outcome::Failure, true),
        ("req_ıllegal_port", Denied, Outcome::Failure, true),
        ("REQ_PASSEDß", Passed, Outcome::Success, true),
    ] {
        assert_eq!(classify_action(act), (class, outcome), "{act:?}");
        assert_eq!(is_known_action(act, class), known, "{act:?}");
    }
    assert_eq!(Challenged.as_str(), "challenged");
    assert_eq!(Outcome::Failure.to_string(), "failure");
}

#[test]
fn rule_types_from_names_ids_and_the_generated_tables() {
    for (name, want) in [
        ("SQL Injection", Some(0)),
        (" sql injection ", Some(0)),
        ("DDoS", Some(8)),
        ("Blocked country", Some(-1)),
        ("BLOC\u{212a}ED COUNTRY", Some(-1)), // Kelvin sign: "K".lower() is "k" in Python
        ("IncapRules(my rule)", Some(11)),
        ("incaprules(", Some(11)),
        ("\u{1c}Bad Bot\u{3000}", Some(14)),
        ("Cross Site Scripting ", Some(1)),
        ("Normal", None),
        ("IncapRules", None),
        ("", None),
    ] {
        assert_eq!(rule_type_from_name(Some(name)), want, "{name:?}");
    }
    assert_eq!(rule_type_from_name(None), None);
    assert_eq!(rule_type_name(0), Some("SQL Injection"));
    assert_eq!(rule_type_name(-1), Some("ACL"));
    assert_eq!(rule_type_name(14), Some("Bad Bot"));
    assert_eq!(rule_type_name(2), None);

    assert_eq!(rule_type_id(Some("3"), Some("SQL Injection")), Some(3));
    assert_eq!(rule_type_id(Some(" -1 "), None), Some(-1));
    assert_eq!(rule_type_id(Some(""), Some("DDoS")), Some(8));
    assert_eq!(rule_type_id(None, Some("IncapRules(x)")), Some(11));
    assert_eq!(rule_type_id(Some("MAJOR"), Some("Attack Analytics thing")), None);
    // Intended difference 8 (and 1): version 1 raised on "--5" and "²"; "٣" was 3.
    assert_eq!(rule_type_id(Some("--5"), Some("DDoS")), Some(8));
    assert_eq!(rule_type_id(Some("²"), None), None);
    assert_eq!(rule_type_id(Some("٣"), None), None);
    assert_eq!(rule_type_id(Some("99999999999999999999"), None), None);

    assert_eq!(attack_type(Some(0), Some("SQL Injection")), Some("SQL Injection"));
    assert_eq!(attack_type(Some(11), Some("IncapRules(block bots)")), Some("Manual rule"));
    assert_eq!(attack_type(Some(2), Some("IncapRules(x)")), Some("Manual rule"));
    assert_eq!(attack_type(Some(7), Some("Something new")), Some("Something new"));
    assert_eq!(attack_type(None, Some("Something new")), Some("Something new"));
    assert_eq!(attack_type(Some(7), Some("")), None);
    assert_eq!(attack_type(None, None), None);
}
