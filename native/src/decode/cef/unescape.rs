//! Extension values are un-escaped after cutting (the oracle's `_unescape_ext`).

use memchr::memchr;

/// `\=` `\\` `\n` `\r` → their characters; any other backslash stays as it is (`\|` stays `\|`,
/// a trailing `\` stays). Values without a backslash are copied once.
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
                // the oracle's regex consuming the pair.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_pairs() {
        assert_eq!(unescape(r"a\=b\\c\nd\re\|f\"), "a=b\\c\nd\re\\|f\\");
        assert_eq!(unescape(r"\\="), "\\=");
        assert_eq!(unescape(r"\\\="), "\\=");
        assert_eq!(unescape("\\é"), "\\é");
        assert_eq!(unescape("plain"), "plain");
    }
}
