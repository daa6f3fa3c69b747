//! Python's `str.lower()` and `str.upper()`, and comparisons with them that build no string.
//!
//! Rust's `char::to_lowercase`/`to_uppercase` give CPython 3.11's full case mappings except where
//! Unicode moved after version 14: letters added since (and `ƛ`, `ɤ`, which gained capitals) are
//! kept as they are, as Python 3.11 keeps them. The one context-dependent mapping, capital sigma
//! (`ς` at the end of a word, else `σ`), is decided with Python's own tables, because which
//! characters count as cased or case-ignorable moved between Unicode versions too.

use std::borrow::Cow;

use super::in_ranges;
use super::unicode14::{LOWER_UNCHANGED, SIGMA_CASED, SIGMA_IGNORABLE, UPPER_UNCHANGED};

/// `s.lower()`.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    Cow::Owned(lower_chars(s).collect())
}

/// `value.lower() == lower`.
pub fn lower_eq(value: &str, lower: &str) -> bool {
    if value.is_ascii() {
        return value.len() == lower.len() && value.bytes().zip(lower.bytes()).all(|(v, l)| v.to_ascii_lowercase() == l);
    }
    lower_chars(value).eq(lower.chars())
}

/// `value.lower().startswith(lower)`.
pub fn lower_starts_with(value: &str, lower: &str) -> bool {
    if value.is_ascii() {
        return value.len() >= lower.len()
            && value.bytes().zip(lower.bytes()).all(|(v, l)| v.to_ascii_lowercase() == l);
    }
    let mut folded = lower_chars(value);
    lower.chars().all(|want| folded.next() == Some(want))
}

/// `value.upper() == upper`.
pub fn upper_eq(value: &str, upper: &str) -> bool {
    if value.is_ascii() {
        return value.len() == upper.len() && value.bytes().zip(upper.bytes()).all(|(v, u)| v.to_ascii_uppercase() == u);
    }
    upper_chars(value).eq(upper.chars())
}

/// `value.upper().startswith(upper)`.
pub fn upper_starts_with(value: &str, upper: &str) -> bool {
    if value.is_ascii() {
        return value.len() >= upper.len()
            && value.bytes().zip(upper.bytes()).all(|(v, u)| v.to_ascii_uppercase() == u);
    }
    let mut folded = upper_chars(value);
    upper.chars().all(|want| folded.next() == Some(want))
}

/// The characters of `s.lower()`, one source character at a time.
fn lower_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.char_indices().flat_map(move |(at, c)| {
        let kept = if c == '\u{3a3}' {
            Some(if final_sigma(&s[..at], &s[at + c.len_utf8()..]) { 'ς' } else { 'σ' })
        } else if in_ranges(LOWER_UNCHANGED, c as u32) {
            Some(c)
        } else {
            None
        };
        let mapped = if kept.is_none() { Some(c.to_lowercase()) } else { None };
        kept.into_iter().chain(mapped.into_iter().flatten())
    })
}

/// The characters of `s.upper()`, one source character at a time.
fn upper_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(|c| {
        let kept = in_ranges(UPPER_UNCHANGED, c as u32);
        let mapped = if kept { None } else { Some(c.to_uppercase()) };
        kept.then_some(c).into_iter().chain(mapped.into_iter().flatten())
    })
}

/// CPython's `handle_capital_sigma`: final when, looking through case-ignorable characters, a
/// cased one comes before and none comes after.
fn final_sigma(before: &str, after: &str) -> bool {
    let cased = |c: Option<char>| c.is_some_and(|c| in_ranges(SIGMA_CASED, c as u32));
    let ignorable = |c: &char| in_ranges(SIGMA_IGNORABLE, *c as u32);
    cased(before.chars().rev().find(|c| !ignorable(c))) && !cased(after.chars().find(|c| !ignorable(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_keeps_letters_python_3_11_does_not_know() {
        assert_eq!(lower("CS-Uri"), "cs-uri");
        assert_eq!(lower("ÀΣ"), "àς");
        assert_eq!(lower("İ"), "i\u{307}");
        assert_eq!(lower("ΑΣ\u{1c89}Σ"), "ας\u{1c89}σ");
        assert_eq!(lower("\u{295}Σ \u{1c8a}Σ Α\u{301}Σ"), "\u{295}ς \u{1c8a}σ α\u{301}ς");
    }

    #[test]
    fn comparisons_are_lower_and_upper() {
        assert!(lower_eq("SQL Injection", "sql injection") && !lower_eq("SQL", "SQL"));
        assert!(lower_eq("ΑΣ", "ας") && !lower_eq("ΑΣ", "ασ") && lower_eq("\u{1c89}", "\u{1c89}"));
        assert!(lower_starts_with("IncapRules(1)", "incaprules(") && !lower_starts_with("Incap", "incaprules("));
        assert!(lower_starts_with("ΣΑ", "σ") && !lower_starts_with("ΑΣ", "ασ"));
        assert!(upper_eq("req_passed", "REQ_PASSED") && upper_eq("straße", "STRASSE"));
        assert!(upper_eq("\u{19b}", "\u{19b}") && !upper_eq("\u{19b}", "\u{a7dc}"));
        assert!(upper_starts_with("req_ﬁ", "REQ_FI") && !upper_starts_with("req", "REQ_"));
    }
}
