//! Python's `repr()` of a `str`, as messages quote values.

use super::columns::char_prefix;
use super::in_ranges;
use super::unicode14::NON_PRINTABLE;

/// `c.isprintable()`.
pub fn is_printable(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        return (0x20..0x7f).contains(&cp);
    }
    !in_ranges(NON_PRINTABLE, cp)
}

/// `repr(s)` (CPython's `unicode_repr`): single quotes unless the text holds `'` and no `"`;
/// `\\`, `\t`, `\n`, `\r` and the chosen quote escaped; other non-printable characters as
/// `\xhh`, `\uhhhh` or `\Uhhhhhhhh` (lower-case hex).
pub fn repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_repr(&mut out, s);
    out
}

/// [`repr`] appended to `out`.
pub fn push_repr(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
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

/// CPython's `%.200R`: the repr cut to its first 200 characters (`int()`'s message uses it).
pub fn push_repr_200(out: &mut String, s: &str) {
    let start = out.len();
    push_repr(out, s);
    let kept = char_prefix(&out[start..], 200).len();
    out.truncate(start + kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_cpython() {
        assert_eq!(repr("abc"), "'abc'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("'\""), "'\\'\"'");
        assert_eq!(repr("a\\b\t\n\r\x00\x1b\x7f"), "'a\\\\b\\t\\n\\r\\x00\\x1b\\x7f'");
        assert_eq!(
            repr("é\u{a0}\u{ad}\u{2028}\u{200b}\u{e000}\u{10ffff}😀"),
            "'é\\xa0\\xad\\u2028\\u200b\\ue000\\U0010ffff😀'"
        );
        let mut cut = String::from("x: ");
        push_repr_200(&mut cut, &"a".repeat(300));
        assert_eq!(cut, format!("x: '{}", "a".repeat(199)));
    }
}
