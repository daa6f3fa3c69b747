//! Value converters of the field table: raw Imperva text → the typed value of one ECS field.
//!
//! Ported from version 1's `wafpipe/decode/convert.py`. Each converter is a pure function that
//! returns its typed value or an [`Invalid`] carrying the message version 1 put in its
//! `ValueError`, so the mapper keeps the raw text under `imperva.waf.invalid` and the warning
//! reads the same. Version 1's quirks are kept: Python's notion of whitespace (`str.strip()`,
//! which also strips U+001C–U+001F), `repr()` quoting in messages, `int()`/`float()` accepting `_`
//! between digits, orjson's reading of JSON. Nothing is cached here; the caller caches per batch.
//!
//! The times live in [`super::time`], the addresses in [`super::ip`], the `act` classes and rule
//! types in [`super::actions`].
//!
//! # Intended differences from version 1
//!
//! 1. **Only ASCII digits are numbers.** Python's `str.isdigit`, `int()` and `float()` accept
//!    other scripts' digits (`"١٢"` is 12); here they are Invalid, with the message Python gives
//!    for any other non-number (`to_long`, `to_double`, `to_date`, and the rule-type id of
//!    [`super::actions::rule_type_id`]).
//! 2. **Imperva epochs are milliseconds.** Version 1 read a value of 10 digits or fewer as
//!    seconds; [`super::time::to_date`] does not: a `start`/`end` value must be an epoch-ms time
//!    from 2000-01-01 (inclusive) to 2100-01-01 (exclusive), else Invalid
//!    "`'…' is not a plausible epoch-milliseconds time (expected between 2000 and 2100)`". This
//!    replaces version 1's "`'…' is past year 9999`" check.
//! 3. **An IPv6 zone id is not an `ip`.** Python accepts `fe80::1%eth0` and prints it with the
//!    zone, which Elasticsearch's `ip` type rejects. [`super::ip::to_ip`] rejects it;
//!    [`super::ip::to_ip_zoned`] returns the address without the zone and the zone apart, for
//!    the caller to keep in a keyword. [`super::ip::split_ips`] (XFF) counts a zoned member
//!    among the bad ones: a zone names an interface of the host that saw the address and means
//!    nothing in a forwarded-for chain.
//! 4. **W3C `date` + `time` is validated.** Version 1 built `f"{date}T{time}Z"` unchecked;
//!    [`super::time::w3c_timestamp`] requires a real calendar date (year 0001–9999 as four ASCII
//!    digits, leap years honoured) and `HH:MM:SS` with an optional fraction of 1–3 digits, and
//!    returns epoch milliseconds.
//!
//! Smaller differences that follow from typed results:
//!
//! 5. A `long` outside the 64-bit range is Invalid ("`'…' is out of range for a long`"); Python's
//!    `int()` returned a big integer that no sink could store.
//! 6. JSON nested more than 127 levels deep is Invalid (serde_json's recursion limit, which keeps
//!    the stack bounded); orjson allowed 1024. Imperva's JSON values nest a few levels.
//! 7. [`super::time::iso_ms`] zero-pads years below 1000 to four digits (ISO 8601); Python's
//!    `time.strftime("%Y")` on glibc did not. No plausible time is affected.
//! 8. A rule-type id (CEF severity slot) is `-?[0-9]+` within 64 bits; version 1's
//!    `sev.strip().lstrip("-").isdigit()` let `--5` and `²` through to `int()`, which raised.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::json_text::written_as_serde_writes;
use crate::pytext;

/// A value that does not convert: the text of the warning, worded as version 1 worded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    message: String,
}

impl Invalid {
    /// An Invalid with this message.
    pub fn new(message: impl Into<String>) -> Invalid {
        Invalid { message: message.into() }
    }

    /// The message, e.g. `'abc' is not true/false`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, owned.
    pub fn into_message(self) -> String {
        self.message
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// `"{value!r}{tail}"`: the shape of most of version 1's messages.
pub(crate) fn invalid_repr(value: &str, tail: &str) -> Invalid {
    let mut message = pytext::repr(value);
    message.push_str(tail);
    Invalid { message }
}

/// A `long` field: Python's `int(value.strip())` in base 10 — optional sign, ASCII digits, single
/// `_` between digits — within 64 bits.
pub fn to_long(value: &str) -> Result<i64, Invalid> {
    let v = pytext::strip(value);
    match pytext::int_ascii(v) {
        Some(Ok(n)) => Ok(n),
        Some(Err(pytext::OutOfRange)) => Err(invalid_repr(value, " is out of range for a long")),
        None => {
            let mut message = String::from("invalid literal for int() with base 10: ");
            pytext::push_repr_200(&mut message, v);
            Err(Invalid { message })
        }
    }
}

/// A `double` field: Python's `float(value.strip())`, finite values only.
pub fn to_double(value: &str) -> Result<f64, Invalid> {
    let v = pytext::strip(value);
    let parsed = without_underscores(v).and_then(|text| text.parse::<f64>().ok());
    match parsed {
        Some(f) if f.is_finite() => Ok(f),
        Some(_) => Err(invalid_repr(value, " is not a finite number")),
        None => {
            let mut message = String::from("could not convert string to float: ");
            pytext::push_repr(&mut message, v);
            Err(Invalid { message })
        }
    }
}

/// CPython's `_Py_string_to_number_with_underscores`: each `_` must sit between two ASCII digits,
/// and is dropped. `None` when one does not.
fn without_underscores(v: &str) -> Option<Cow<'_, str>> {
    if !v.contains('_') {
        return Some(Cow::Borrowed(v));
    }
    let b = v.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let before = i.checked_sub(1).and_then(|j| b.get(j));
            if !before.is_some_and(u8::is_ascii_digit) || !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
    }
    Some(Cow::Owned(v.replace('_', "")))
}

/// A `boolean` field: `true` or `false` in any case, surrounding whitespace ignored.
pub fn to_bool(value: &str) -> Result<bool, Invalid> {
    let v = pytext::strip(value);
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(invalid_repr(value, " is not true/false"))
    }
}

/// A `keyword_list` field: comma lists with trailing commas and brackets (`30037,1001,`, `[US]`);
/// members trimmed, empty ones dropped. Never fails.
pub fn to_keyword_list(value: &str) -> Vec<&str> {
    let mut v = pytext::strip(value);
    if v.len() >= 2 && v.starts_with('[') && v.ends_with(']') {
        v = &v[1..v.len() - 1];
    }
    v.split(',').map(pytext::strip).filter(|m| !m.is_empty()).collect()
}

/// A `json` field, as Imperva writes it: leading commas (`,,[…]`) and doubled quotes
/// (`[{""rule_id"":""4709724""}]`) tolerated. Fields of this type are indexed as `flattened`
/// (objects only), so anything but an object or a list of objects comes back as
/// `{"value": …}`. Keys keep their order; a repeated key keeps its first place and last value.
pub fn to_json(value: &str) -> Result<Value, Invalid> {
    let v = pytext::strip(pytext::strip(value).trim_start_matches(','));
    if v.is_empty() {
        return Err(Invalid::new("empty JSON value"));
    }
    if let Some(parsed) = parse_json(v) {
        return Ok(objects(parsed));
    }
    if v.contains("\"\"") {
        if let Some(parsed) = parse_json(&v.replace("\"\"", "\"")) {
            return Ok(objects(parsed));
        }
    }
    Err(Invalid::new("not valid JSON (kept as text)"))
}

/// [`to_json`] as the text a `json` field stores (serde_json's compact writing of the value).
/// Text already written that way (Imperva's, almost always) is returned as it is, without
/// building the value (see [`super::json_text`]).
pub fn to_json_text(value: &str) -> Result<Cow<'_, str>, Invalid> {
    let v = pytext::strip(pytext::strip(value).trim_start_matches(','));
    if written_as_serde_writes(v) {
        return Ok(Cow::Borrowed(v));
    }
    to_json(value).map(|parsed| Cow::Owned(serde_json::to_string(&parsed).expect("a JSON value serialises")))
}

/// orjson's reading of `text`, which differs from serde_json's on one point: the integer `-0`
/// is the integer 0 there and the float -0.0 here, so it is rewritten before parsing.
fn parse_json(text: &str) -> Option<Value> {
    match negative_zero_integers(text) {
        None => serde_json::from_str(text).ok(),
        Some(fixed) => serde_json::from_str(&fixed).ok(),
    }
}

/// `text` with each integer token `-0` (outside strings) written `0`, or `None` when it has none.
fn negative_zero_integers(text: &str) -> Option<String> {
    memchr::memmem::find(text.as_bytes(), b"-0")?;
    let b = text.as_bytes();
    let mut cuts = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for (i, &c) in b.iter().enumerate() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b'-'
            && b.get(i + 1) == Some(&b'0')
            && !matches!(b.get(i + 2), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
            && matches!(
                b[..i].iter().rev().find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r')),
                None | Some(b'[' | b',' | b':')
            )
        {
            cuts.push(i); // a value starts here: `[-0]`, `{"a": -0}`, `-0`, not `1e-0` or `--0`
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut fixed = String::with_capacity(text.len());
    let mut from = 0;
    for cut in cuts {
        fixed.push_str(&text[from..cut]);
        from = cut + 1;
    }
    fixed.push_str(&text[from..]);
    Some(fixed)
}

/// Version 1's `_objects`: an object, or a list of nothing but objects, stays; the rest is
/// wrapped as `{"value": …}`.
fn objects(parsed: Value) -> Value {
    match parsed {
        Value::Object(_) => parsed,
        Value::Array(ref items) if items.iter().all(Value::is_object) => parsed,
        other => {
            let mut wrapped = Map::with_capacity(1);
            wrapped.insert("value".to_owned(), other);
            Value::Object(wrapped)
        }
    }
}
