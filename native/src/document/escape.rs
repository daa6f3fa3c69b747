//! JSON strings, escaped byte for byte as serde_json escapes them, for the documents
//! ([`super::json`]) and the `flattened` fields of [`crate::mapping`].
//!
//! The search for bytes to escape is tested a word at a time (16 bytes per step): runs without
//! a byte to escape are copied whole.

use crate::swar;

/// Where [`write_json_str`] writes: a document's bytes or a `flattened` field's `String`.
pub(crate) trait JsonOut {
    fn push_text(&mut self, text: &str);
    fn reserve_text(&mut self, additional: usize);
}

impl JsonOut for Vec<u8> {
    fn push_text(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
    fn reserve_text(&mut self, additional: usize) {
        self.reserve(additional);
    }
}

impl JsonOut for String {
    fn push_text(&mut self, text: &str) {
        self.push_str(text);
    }
    fn reserve_text(&mut self, additional: usize) {
        self.reserve(additional);
    }
}

/// `text` as a JSON string, byte for byte as serde_json writes it: quotes, `\"`, `\\`, the short
/// escapes `\b \f \n \r \t`, `\u00xx` (lower-case hex) for the other bytes below 0x20; nothing
/// else is escaped (not DEL, not non-ASCII). Runs without escapes are copied whole; the search
/// looks at 16 bytes per step (a quick SWAR test per word; the exact one only where it hits).
pub(crate) fn write_json_str<O: JsonOut + ?Sized>(text: &str, out: &mut O) {
    out.reserve_text(text.len() + 2);
    out.push_text("\"");
    let bytes = text.as_bytes();
    let mut from = 0; // the start of the run not yet copied
    if bytes.len() < 8 {
        for (at, &b) in bytes.iter().enumerate() {
            if ESCAPED[usize::from(b)] {
                out.push_text(&text[from..at]);
                push_escape(b, out);
                from = at + 1;
            }
        }
    } else {
        // Two words per step while 16 bytes are left (one quick test for both), then the last
        // 8 bytes as one word with the bytes already seen masked off.
        let escape = |word: u64, base: usize, seen: u32, from: &mut usize, out: &mut O| {
            let mut marks = escape_marks(word) & (u64::MAX << (8 * seen));
            while marks != 0 {
                let at = base + (marks.trailing_zeros() / 8) as usize;
                marks &= marks - 1;
                out.push_text(&text[*from..at]);
                push_escape(bytes[at], out);
                *from = at + 1;
            }
        };
        let mut pairs = bytes.chunks_exact(16);
        let mut base = 0;
        for pair in &mut pairs {
            let (a, b) = pair.split_at(8);
            let a = u64::from_le_bytes(a.try_into().expect("8 bytes"));
            let b = u64::from_le_bytes(b.try_into().expect("8 bytes"));
            if swar::any_escape(a) || swar::any_escape(b) {
                escape(a, base, 0, &mut from, out);
                escape(b, base + 8, 0, &mut from, out);
            }
            base += 16;
        }
        let rest = pairs.remainder().len();
        if rest >= 8 {
            let word = u64::from_le_bytes(bytes[base..base + 8].try_into().expect("8 bytes"));
            if swar::any_escape(word) {
                escape(word, base, 0, &mut from, out);
            }
            base += 8;
        }
        if base < bytes.len() {
            let last = bytes.len() - 8;
            let word = u64::from_le_bytes(bytes[last..].try_into().expect("8 bytes"));
            if swar::any_escape(word) {
                escape(word, last, (base - last) as u32, &mut from, out);
            }
        }
    }
    out.push_text(&text[from..]);
    out.push_text("\"");
}

/// The bytes JSON escapes: below 0x20, `"` and `\\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The high bit of each byte of `word` that JSON escapes (below 0x20, `"` or `\\`).
fn escape_marks(word: u64) -> u64 {
    swar::c0_bytes(word) | swar::eq_bytes(word, b'"') | swar::eq_bytes(word, b'\\')
}

fn push_escape<O: JsonOut + ?Sized>(b: u8, out: &mut O) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0c => "\\f",
        _ => {
            let code = [b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]];
            out.push_text(std::str::from_utf8(&code).expect("ASCII"));
            return;
        }
    };
    out.push_text(short);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é\u{2028}\u{10ffff}\"\\");
        let mut texts = vec![String::new(), all.clone(), "plain text without escapes".into()];
        for n in 0..20 {
            texts.push(format!("{}\"{}\\{}\n", "a".repeat(n), "é".repeat(n % 3), "\u{1}".repeat(n % 2)));
        }
        for i in 0..all.len() {
            if all.is_char_boundary(i) {
                texts.push(all[i..].to_owned());
            }
        }
        for len in 0..24 {
            for at in 0..len {
                for c in ['"', '\\', '\n', '\u{1f}'] {
                    let mut text: Vec<char> = vec!['a'; len];
                    text[at] = c;
                    text[len - 1 - at] = '\t';
                    texts.push(text.into_iter().collect());
                }
            }
        }
        for text in texts {
            let mut bytes = Vec::new();
            write_json_str(&text, &mut bytes);
            assert_eq!(bytes, serde_json::to_vec(&text).unwrap(), "{text:?}");
            let mut string = String::new();
            write_json_str(&text, &mut string);
            assert_eq!(string.as_bytes(), bytes);
        }
    }
}
