//! JSON: read as orjson read it, minus zero, bounded nesting.

use _native::ecs::to_json;

use crate::support::{message, normalised, text};

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
