//! Version 1's tests/decode/test_convert.py, case by case.

use _native::ecs::{iso_ms, to_date, to_ip, to_ip_list, to_json, to_keyword_list};

use crate::support::{message, text};

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
