//! Numbers and booleans: Python's int() and float() within what a field holds, true/false, and
//! keyword lists.

use _native::ecs::{to_bool, to_double, to_keyword_list, to_long};

use crate::support::message;

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
