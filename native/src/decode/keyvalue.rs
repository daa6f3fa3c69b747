//! What the CEF extension and the LEEF attributes share: in the Python both are cut by the one
//! `_cut` of `wafpipe.decode.cef` (LEEF passes its own delimiter), so both have the same key
//! grammar, un-escaping, unescaped-`=` test, keyless-value error and unescaped-`=` warning.
//!
//! The two cutters stay apart ([`super::cef::cut`] is a SWAR scan specialised to CEF's ASCII
//! separator; LEEF's handles any delimiter, key characters and `=` included); these are the
//! pieces they have in common.

use memchr::memchr;

use crate::decode::DecodeError;
use crate::pytext;

/// `[A-Za-z0-9_]`: the first character of a key.
pub(crate) const KEY_START: [bool; 256] = byte_class(b"_");
/// `[A-Za-z0-9_.,\[\]-]`: any further character of a key.
pub(crate) const KEY_CHAR: [bool; 256] = byte_class(b"_.,[]-");

const fn byte_class(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// Values are un-escaped after cutting (version 1's `_unescape_ext`): `\=` `\\` `\n` `\r` →
/// their characters; any other backslash stays as it is (`\|` stays `\|`, a trailing `\` stays).
/// Values without a backslash are copied once.
pub fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let Some(mut at) = memchr(b'\\', bytes) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(value.len());
    let mut done = 0;
    loop {
        out.push_str(&value[done..at]);
        let ch = match bytes.get(at + 1) {
            Some(b'=') => Some('='),
            Some(b'\\') => Some('\\'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            _ => None,
        };
        match ch {
            Some(ch) => {
                out.push(ch);
                done = at + 2;
            }
            None => {
                // Kept; the next byte is not a backslash, so scanning on from it is the same as
                // version 1's regex consuming the pair.
                out.push('\\');
                done = at + 1;
            }
        }
        match memchr(b'\\', &bytes[done..]) {
            Some(next) => at = done + next,
            None => break,
        }
    }
    out.push_str(&value[done..]);
    out
}

/// An `=` at `eq` preceded by 0, 2, 4… backslashes is not escaped (version 1's
/// `(?<!\\)(?:\\\\)*=`).
pub(crate) fn even_backslashes_before(bytes: &[u8], eq: usize) -> bool {
    bytes[..eq].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
}

/// Text before the first key that is not blank: the error quotes (as Python's `repr`) its first
/// 40 characters; `column` is where the attributes start.
pub(crate) fn keyless_value(head: &str, column: usize) -> DecodeError {
    DecodeError::new(
        format!("invalid extensions; keyless value present: {}", pytext::repr(pytext::char_prefix(head, 40))),
        column,
    )
    .with_hint("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
}

/// The warning for a value of `key` (as written) holding an unescaped `=` at 1-based `column`.
pub(crate) fn unescaped_eq_warning(key: &str, column: usize) -> String {
    format!("malformed value for {key} at column {column}: unescaped '=' kept in the value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_pairs() {
        assert_eq!(unescape(r"a\=b\\c\nd\re\|f\"), "a=b\\c\nd\re\\|f\\");
        assert_eq!(unescape(r"a\=b\\c\nd\re\qf\"), "a=b\\c\nd\re\\qf\\");
        assert_eq!(unescape(r"\\="), "\\=");
        assert_eq!(unescape(r"\\\="), "\\=");
        assert_eq!(unescape("\\é"), "\\é");
        assert_eq!(unescape("plain"), "plain");
    }

    #[test]
    fn escaped_equals() {
        assert!(!even_backslashes_before(br"a\=b", 2));
        assert!(even_backslashes_before(br"a\\=b", 3));
        assert!(even_backslashes_before(b"=x", 0));
    }
}
