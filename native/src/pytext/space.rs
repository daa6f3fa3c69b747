//! Python's whitespace: `str.isspace()`, and what `strip()`, `lstrip()`, `rstrip()` and `split()`
//! (no argument) remove.

/// `c.isspace()`: Unicode `White_Space` plus the four information separators U+001C–U+001F,
/// which CPython counts as blanks (bidirectional class B or S) and Rust's `char::is_whitespace`
/// does not. The whole list for CPython 3.11.
#[inline]
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..=' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// A byte that is a whole character and no blank: printable ASCII and DEL. Every blank is below
/// it or (outside ASCII) starts and ends with bytes of 0x80 and above, so a text whose end byte
/// is one of these has no blank at that end: the strips below test that before decoding
/// characters (almost every value they see, ~100 a CEF event, has none at either end).
#[inline]
fn solid(b: Option<&u8>) -> bool {
    b.is_some_and(|&b| (0x21..0x80).contains(&b))
}

/// `s.strip()`.
#[inline]
pub fn strip(s: &str) -> &str {
    if solid(s.as_bytes().first()) && solid(s.as_bytes().last()) {
        return s;
    }
    s.trim_matches(is_space)
}

/// `s.lstrip()`.
#[inline]
pub fn lstrip(s: &str) -> &str {
    if solid(s.as_bytes().first()) {
        return s;
    }
    s.trim_start_matches(is_space)
}

/// `s.rstrip()`.
#[inline]
pub fn rstrip(s: &str) -> &str {
    if solid(s.as_bytes().last()) {
        return s;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_pythons() {
        assert!(is_space('\u{1c}') && is_space('\u{1f}') && is_space('\u{85}') && is_space('\u{3000}'));
        assert!(!is_space('\u{200b}') && !is_space('\u{180e}'));
        // Rust's White_Space is the rest of Python's list.
        for c in (0..0x11_0000).filter_map(char::from_u32) {
            assert_eq!(is_space(c), c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c), "{c:?}");
        }
        assert_eq!(strip("\u{1c} a \u{3000}"), "a");
        assert_eq!(strip("\x1f a \x0b"), "a");
        assert_eq!(lstrip(" \u{1d}a "), "a ");
        assert_eq!(rstrip(" a\u{85}"), " a");
        assert_eq!(split(" a\x1eb  c ").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(is_all_space(" \t") && !is_all_space("") && !is_all_space(" a"));
    }

    /// The quick end-byte test gives what trimming by characters gives, for every character at
    /// either end (with and without text between).
    #[test]
    fn strips_agree_with_trimming_characters() {
        let ends: Vec<String> =
            (0..0x3100).chain([0xfeff, 0x1_f600, 0x10_ffff]).filter_map(char::from_u32).map(String::from).collect();
        for a in &ends {
            for (middle, b) in [("", ""), ("x", ""), ("x y", "z"), ("", "\u{3000}")] {
                for text in [format!("{a}{middle}{b}"), format!("{b}{middle}{a}"), format!("{a}{middle}{a}")] {
                    assert_eq!(strip(&text), text.trim_matches(is_space), "{text:?}");
                    assert_eq!(lstrip(&text), text.trim_start_matches(is_space), "{text:?}");
                    assert_eq!(rstrip(&text), text.trim_end_matches(is_space), "{text:?}");
                }
            }
        }
    }
}
