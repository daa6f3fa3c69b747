//! The few rules of Python's `str` that version 1's converters depend on, so the native core
//! accepts the same text and words its warnings the same way: what `str.strip()` removes, what
//! `repr()` prints, and `str.lower()`/`str.upper()` compared without building a new string.

use super::printable::NON_PRINTABLE;

/// Python's `str.isspace()`: Unicode White_Space plus the four ASCII separators U+001C–U+001F
/// (Python counts their bidirectional class; Rust's `char::is_whitespace` does not).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `value.strip()` (no argument).
pub(crate) fn strip(value: &str) -> &str {
    value.trim_matches(is_space)
}

/// Python's `str.isprintable()` for one character.
fn is_printable(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        return (0x20..0x7f).contains(&cp);
    }
    let i = NON_PRINTABLE.partition_point(|&(_, last)| last < cp);
    match NON_PRINTABLE.get(i) {
        Some(&(first, _)) => cp < first,
        None => true,
    }
}

/// Python's `repr(value)` for a `str`: the quote Python picks, its escapes, and
/// `\xhh`/`\uhhhh`/`\Uhhhhhhhh` for what it deems unprintable.
pub(crate) fn repr(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_repr(&mut out, value);
    out
}

/// [`repr`] appended to `out`.
pub(crate) fn push_repr(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let quote = if value.contains('\'') && !value.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let cp = c as u32;
                let (lead, width) = match cp {
                    0..=0xff => ("\\x", 2),
                    0x100..=0xffff => ("\\u", 4),
                    _ => ("\\U", 8),
                };
                out.push_str(lead);
                for shift in (0..width).rev() {
                    out.push(HEX[(cp >> (shift * 4)) as usize & 0xf] as char);
                }
            }
        }
    }
    out.push(quote);
}

/// CPython's `%.200R`: the repr cut to its first 200 characters (used by `int()`'s message).
pub(crate) fn push_repr_200(out: &mut String, value: &str) {
    let start = out.len();
    push_repr(out, value);
    if let Some((cut, _)) = out[start..].char_indices().nth(200) {
        out.truncate(start + cut);
    }
}

/// `value.lower() == lower` without allocating (`lower` must already be lower case).
pub(crate) fn lower_eq(value: &str, lower: &str) -> bool {
    if value.is_ascii() {
        return value.eq_ignore_ascii_case(lower);
    }
    value.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// `value.lower().startswith(lower)` without allocating.
pub(crate) fn lower_starts_with(value: &str, lower: &str) -> bool {
    if value.is_ascii() {
        return value.len() >= lower.len() && value.as_bytes()[..lower.len()].eq_ignore_ascii_case(lower.as_bytes());
    }
    let mut folded = value.chars().flat_map(char::to_lowercase);
    lower.chars().all(|want| folded.next() == Some(want))
}

/// `value.upper() == upper` without allocating (`upper` must already be upper case).
pub(crate) fn upper_eq(value: &str, upper: &str) -> bool {
    if value.is_ascii() {
        return value.eq_ignore_ascii_case(upper);
    }
    value.chars().flat_map(char::to_uppercase).eq(upper.chars())
}

/// `value.upper().startswith(upper)` without allocating.
pub(crate) fn upper_starts_with(value: &str, upper: &str) -> bool {
    if value.is_ascii() {
        return value.len() >= upper.len() && value.as_bytes()[..upper.len()].eq_ignore_ascii_case(upper.as_bytes());
    }
    let mut folded = value.chars().flat_map(char::to_uppercase);
    upper.chars().all(|want| folded.next() == Some(want))
}
