//! JSON text that is already what a `json` field stores: the test that lets [`super::to_json_text`]
//! keep a value as it is instead of parsing it into a `serde_json::Value` and writing it back.
//!
//! Imperva's JSON values (`additionalReqHeaders`, `additionalResHeaders`, rule info…) are written
//! compactly, with plain strings and whole numbers; parsing and re-serialising each one was about
//! 5k instructions per CEF event, ~3 % of the core. [`written_as_serde_writes`] is a single pass
//! that accepts only text whose round trip through serde_json (as `to_json` reads it, then
//! `serde_json::to_string`) gives the same bytes back; anything it is not sure of goes the slow
//! way, which stays the definition (a test holds the two together).

/// Deeper than this the slow path decides (serde_json refuses 128 levels and more).
const MAX_DEPTH: usize = 64;
/// Objects with more members than this go the slow way (repeated keys are found by comparing
/// each key with the ones before it).
const MAX_MEMBERS: usize = 16;
/// Whole numbers of up to 18 digits fit an `i64`: serde_json keeps them as integers and writes
/// them back digit for digit.
const MAX_DIGITS: usize = 18;

/// True when `text` is an object or a list of objects, written exactly as serde_json writes the
/// value it parses to: no blanks between tokens; strings with no escapes but `\"` `\\` `\b` `\f`
/// `\n` `\r` `\t` (so equal keys are equal bytes) and no raw control characters; numbers whole,
/// without a leading zero or `-0`, of at most 18 digits; no key repeated in an object.
pub(crate) fn written_as_serde_writes(text: &str) -> bool {
    let bytes = text.as_bytes();
    let end = match bytes.first() {
        Some(b'{') => object(bytes, 0, 1),
        Some(b'[') => list_of_objects(bytes),
        _ => None, // a scalar is wrapped as {"value": …}: the slow path does that
    };
    end == Some(bytes.len())
}

/// `[` then objects separated by `,` then `]`, from the start: the end.
fn list_of_objects(b: &[u8]) -> Option<usize> {
    let mut at = 1;
    if b.get(at) == Some(&b']') {
        return Some(at + 1);
    }
    loop {
        if b.get(at) != Some(&b'{') {
            return None;
        }
        at = object(b, at, 1)?;
        match b.get(at) {
            Some(b',') => at += 1,
            Some(b']') => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The value at `at`: its end.
fn value(b: &[u8], at: usize, depth: usize) -> Option<usize> {
    match *b.get(at)? {
        b'"' => string(b, at),
        b'{' => object(b, at, depth + 1),
        b'[' => list(b, at, depth + 1),
        b't' => literal(b, at, b"true"),
        b'f' => literal(b, at, b"false"),
        b'n' => literal(b, at, b"null"),
        b'-' | b'0'..=b'9' => number(b, at),
        _ => None,
    }
}

/// The object whose `{` is at `at`: its end.
fn object(b: &[u8], mut at: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    at += 1;
    if b.get(at) == Some(&b'}') {
        return Some(at + 1);
    }
    let mut keys: [&[u8]; MAX_MEMBERS] = [&[]; MAX_MEMBERS];
    let mut n = 0;
    loop {
        if b.get(at) != Some(&b'"') || n == MAX_MEMBERS {
            return None;
        }
        let key_end = string(b, at)?;
        let key = &b[at..key_end];
        if keys[..n].contains(&key) {
            return None; // serde keeps the first place and the last value
        }
        keys[n] = key;
        n += 1;
        if b.get(key_end) != Some(&b':') {
            return None;
        }
        at = value(b, key_end + 1, depth)?;
        match b.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The list whose `[` is at `at`: its end.
fn list(b: &[u8], mut at: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    at += 1;
    if b.get(at) == Some(&b']') {
        return Some(at + 1);
    }
    loop {
        at = value(b, at, depth)?;
        match b.get(at) {
            Some(b',') => at += 1,
            Some(b']') => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The string whose `"` is at `at`: its end (after the closing quote).
fn string(b: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match b.get(i + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                _ => return None, // `\/`, `\u…`: serde writes them otherwise
            },
            0..=0x1f => return None, // serde refuses a raw control character
            _ => i += 1,
        }
    }
}

fn literal(b: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    b[at..].starts_with(word).then_some(at + word.len())
}

/// A whole number at `at`: its end.
fn number(b: &[u8], at: usize) -> Option<usize> {
    let start = at + usize::from(b[at] == b'-');
    let digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    let end = start + digits;
    let leading_zero = digits > 1 && b[start] == b'0';
    let negative_zero = start > at && digits == 1 && b[start] == b'0';
    if digits == 0 || digits > MAX_DIGITS || leading_zero || negative_zero {
        return None;
    }
    match b.get(end) {
        Some(b'.' | b'e' | b'E') => None, // a float: serde may write it otherwise
        _ => Some(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::to_json;

    /// The slow path's text: what `to_json` gives, written by serde_json.
    fn round_trip(text: &str) -> Option<String> {
        to_json(text).ok().map(|v| serde_json::to_string(&v).unwrap())
    }

    fn check(text: &str) {
        if written_as_serde_writes(text) {
            assert_eq!(round_trip(text).as_deref(), Some(text), "{text:?}");
        }
    }

    #[test]
    fn imperva_values_are_kept_as_written() {
        for text in [
            r#"[{"Content-Type":"application/json"},{"X-Request-Id":"a1b2c3"}]"#,
            r#"[{"Content-Type":"text/html; charset=UTF-8"}]"#,
            r#"{"a":{"b":[1,-2,true,false,null,"x\"y\\z\n\t\r\b\f"]},"c":[]}"#,
            "[]",
            "{}",
            "{\"k\":\"é 中文 \u{7f}\"}",
        ] {
            assert!(written_as_serde_writes(text), "{text}");
            check(text);
        }
    }

    #[test]
    fn what_serde_would_rewrite_goes_the_slow_way() {
        for text in [
            r#"{"a": 1}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":1234567890123456789}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":1,"a":2}"#,
            "{\"a\":\"\u{1}\"}",
            r#""text""#,
            "12",
            r#"[1,{"a":1}]"#,
            r#"[{"a":1}"#,
            r#"{"a":1}x"#,
            r#"{"a":tru}"#,
            r#"{"a":1,}"#,
            r#"[{"a":1},]"#,
            "",
        ] {
            assert!(!written_as_serde_writes(text), "{text}");
        }
        let deep = format!("{}{}", r#"{"a":"#.repeat(70), "1".to_owned() + &"}".repeat(70));
        assert!(!written_as_serde_writes(&deep));
        let many: Vec<String> = (0..17).map(|i| format!("\"k{i}\":{i}")).collect();
        assert!(!written_as_serde_writes(&format!("{{{}}}", many.join(","))));
        assert!(written_as_serde_writes(&format!("{{{}}}", many[..16].join(","))));
    }

    /// Every text built from a few JSON tokens, canonical or not: whenever the fast test accepts,
    /// the slow path gives the same bytes.
    #[test]
    fn accepted_text_round_trips_unchanged() {
        let tokens = [
            "{", "}", "[", "]", ",", ":", "\"a\"", "\"b\"", "\"a\\\"\"", "\"\\u0041\"", "\"A\"", "1", "-1", "0",
            "-0", "1.5", "true", "null", " ", "\"\\n\"", "\"\\/\"",
        ];
        let mut frontier = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::with_capacity(frontier.len() * tokens.len());
            for prefix in &frontier {
                for token in tokens {
                    next.push(format!("{prefix}{token}"));
                }
            }
            for text in &next {
                check(text);
            }
            frontier = next;
        }
        // Longer well-formed shapes, each mutated at every byte.
        let seeds = [
            r#"[{"a":"x","b":[1,{"c":null}],"d":{}},{"a":"y"}]"#,
            r#"{"h":[{"Content-Type":"application/json; charset=utf-8"}],"n":-12,"e":"\"\\"}"#,
        ];
        for seed in seeds {
            check(seed);
            let bytes = seed.as_bytes();
            for at in 0..bytes.len() {
                for with in [b' ', b'"', b'\\', b'0', b'-', b',', b'}', b']', b'a', b'.'] {
                    let mut mutated = bytes.to_vec();
                    mutated[at] = with;
                    if let Ok(text) = String::from_utf8(mutated) {
                        check(&text);
                    }
                    let mut removed = bytes.to_vec();
                    removed.remove(at);
                    if let Ok(text) = String::from_utf8(removed) {
                        check(&text);
                    }
                }
            }
        }
    }
}
