//! Python `str` semantics that the Python decoders lean on, reproduced exactly.
//!
//! The native decoders must give the same records, messages and columns as the Python oracle
//! (`src/wafpipe/decode/*.py`) for every input, and the oracle uses Python's notion of
//! whitespace (`str.strip`/`split`, which also treat `\x1c`–`\x1f` as blanks, unlike Rust),
//! `repr()` in messages, `str.lower()` on W3C column names, `int(text, 16)` for LEEF 2.0
//! delimiters, and columns counted in code points rather than bytes. Each helper here is the
//! Python behaviour of CPython 3.11 (Unicode 14, see [`super::unicode`]). They live under LEEF
//! because LEEF was their first user; W3C and detection use them too.

use std::borrow::Cow;

use super::unicode::{DECIMAL_ZEROS, LOWER_UNCHANGED, NON_PRINTABLE, SIGMA_CASED, SIGMA_IGNORABLE};

/// `c.isspace()`: Rust's `White_Space` plus the four separators `\x1c`–`\x1f`, which Python
/// counts as blanks (so `str.strip()` and `str.split()` remove them).
#[inline]
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `s.strip()`.
#[inline]
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// `s.lstrip()`.
#[inline]
pub fn lstrip(s: &str) -> &str {
    s.trim_start_matches(is_space)
}

/// `s.rstrip()`.
#[inline]
pub fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// `s.split()` (no argument): runs of whitespace separate, empty pieces are dropped.
pub fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_space).filter(|piece| !piece.is_empty())
}

/// `s.isspace()`: non-empty and nothing but whitespace.
pub fn is_all_space(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_space)
}

/// `len(s)`: the length in code points, which is what every Python column counts.
#[inline]
pub fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `s[:n]` in code points.
pub fn char_prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// `s.lower()` as Python 3.11 does it. Rust's `char::to_lowercase` gives the same full case
/// mappings on a newer Unicode, except for letters that gained a lower case after Unicode 14,
/// which are kept. The one context-dependent mapping, capital sigma (`ς` at the end of a word,
/// else `σ`), is decided with Python's own tables, because which characters count as cased or
/// case-ignorable moved between Unicode versions too.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (at, c) in s.char_indices() {
        if c == '\u{3a3}' {
            out.push(if final_sigma(&s[..at], &s[at + c.len_utf8()..]) { 'ς' } else { 'σ' });
        } else if lower_unchanged(c) {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Cow::Owned(out)
}

/// CPython's `handle_capital_sigma`: final when, looking through case-ignorable characters, a
/// cased one comes before and none comes after.
fn final_sigma(before: &str, after: &str) -> bool {
    let cased = |c: Option<char>| c.is_some_and(|c| in_ranges(SIGMA_CASED, c as u32));
    let ignorable = |c: &char| in_ranges(SIGMA_IGNORABLE, *c as u32);
    cased(before.chars().rev().find(|c| !ignorable(c))) && !cased(after.chars().find(|c| !ignorable(c)))
}

fn lower_unchanged(c: char) -> bool {
    in_ranges(LOWER_UNCHANGED, c as u32)
}

fn in_ranges(table: &[(u32, u32)], cp: u32) -> bool {
    let i = table.partition_point(|&(_, hi)| hi < cp);
    i < table.len() && table[i].0 <= cp
}

/// `c.isprintable()`.
pub fn is_printable(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        return (0x20..0x7f).contains(&cp);
    }
    !in_ranges(NON_PRINTABLE, cp)
}

/// `repr(s)`: single quotes unless the text holds `'` and no `"`; `\\`, the quote, `\t`, `\n`,
/// `\r` escaped; other non-printable characters as `\xhh`, `\uhhhh` or `\Uhhhhhhhh`.
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if c == quote => {
                out.push('\\');
                out.push(c);
            }
            _ if is_printable(c) => out.push(c),
            _ => {
                let cp = c as u32;
                let esc = if cp <= 0xff {
                    format!("\\x{cp:02x}")
                } else if cp <= 0xffff {
                    format!("\\u{cp:04x}")
                } else {
                    format!("\\U{cp:08x}")
                };
                out.push_str(&esc);
            }
        }
    }
    out.push(quote);
    out
}

/// `unicodedata.decimal(c)` for non-ASCII digits.
fn decimal(c: char) -> Option<u8> {
    let cp = c as u32;
    let i = DECIMAL_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = *DECIMAL_ZEROS.get(i.checked_sub(1)?)?;
    u8::try_from(cp - zero).ok().filter(|d| *d < 10)
}

/// `int(text, 16)`, or None where Python raises `ValueError`.
///
/// CPython first maps Unicode whitespace to `' '` and Unicode decimal digits to ASCII (anything
/// else non-ASCII makes the text invalid), then parses: blanks, a sign, an optional `0x` prefix
/// with one optional `_` after it, hex digits with single `_` between them, blanks. So
/// `int(" 5", 16)`, `int("0x5", 16)`, `int("-0", 16)` and `int("٥", 16)` are all valid.
pub fn int_hex(text: &str) -> Option<i64> {
    let mut buf: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.chars() {
        let cp = c as u32;
        if cp < 127 {
            buf.push(cp as u8);
        } else if is_space(c) {
            buf.push(b' ');
        } else {
            buf.push(b'0' + decimal(c)?);
        }
    }
    let s = buf.as_slice();
    let c_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while c_space(at(i)) {
        i += 1;
    }
    let negative = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    if at(i) == b'0' && matches!(at(i + 1), b'x' | b'X') {
        i += 2;
        if at(i) == b'_' {
            i += 1; // one underscore allowed after the prefix
        }
    }
    if at(i) == b'_' {
        return None;
    }
    let mut value: i64 = 0;
    let mut digits = 0usize;
    let mut prev = 0u8;
    loop {
        let b = at(i);
        if b == b'_' {
            if prev == b'_' {
                return None;
            }
        } else if let Some(d) = (b as char).to_digit(16) {
            digits += 1;
            value = value.checked_mul(16)?.checked_add(i64::from(d))?;
        } else {
            break;
        }
        prev = b;
        i += 1;
    }
    if prev == b'_' || digits == 0 {
        return None;
    }
    while c_space(at(i)) {
        i += 1;
    }
    if i != s.len() {
        return None;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_pythons() {
        assert!(is_space('\x1c') && is_space('\u{3000}') && is_space('\u{85}'));
        assert!(!is_space('\u{200b}'));
        assert_eq!(strip("\x1f a \x0b"), "a");
        assert_eq!(split(" a\x1eb  c ").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(is_all_space(" \t") && !is_all_space("") && !is_all_space(" a"));
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(repr("xyz"), "'xyz'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("'\""), "'\\'\"'");
        assert_eq!(repr("a\tb\\\u{7f}\u{0}"), "'a\\tb\\\\\\x7f\\x00'");
        assert_eq!(repr("\u{a0}é\u{200b}\u{e000}\u{10ffff}😀"), "'\\xa0é\\u200b\\ue000\\U0010ffff😀'");
    }

    #[test]
    fn lower_keeps_letters_python_3_11_does_not_know() {
        assert_eq!(lower("CS-Uri"), "cs-uri");
        assert_eq!(lower("ÀΣ"), "àς");
        assert_eq!(lower("İ"), "i\u{307}");
        assert_eq!(lower("ΑΣ\u{1c89}Σ"), "ας\u{1c89}σ");
        assert_eq!(lower("\u{295}Σ \u{1c8a}Σ Α\u{301}Σ"), "\u{295}ς \u{1c8a}σ α\u{301}ς");
    }

    #[test]
    fn int_hex_matches_python() {
        for (text, want) in [
            ("5e", Some(0x5e)),
            (" 5", Some(5)),
            ("0x5", Some(5)),
            ("0X_f", Some(15)),
            ("-0", Some(0)),
            ("+a", Some(10)),
            ("1_0", Some(16)),
            ("٥", Some(5)),
            ("5\u{3000}", Some(5)),
            ("", None),
            ("_5", None),
            ("5_", None),
            ("1__0", None),
            ("0x", None),
            ("zz", None),
            ("5\x1c", None),
            ("5\0", None),
            ("ａ", None),
            ("- 5", None),
        ] {
            assert_eq!(int_hex(text), want, "{text:?}");
        }
    }
}
