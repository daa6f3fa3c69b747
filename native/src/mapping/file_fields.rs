//! The per-line part of version 1's `LineRun.run`: the line's warnings (non-UTF-8, control
//! characters, long line; DESIGN §7) and the per-event file fields under `imperva.waf.file.*`,
//! `imperva.waf.original_base64`, `imperva.waf.line_truncated.*` and `log.*`.

use crate::body::{Cut, Line};
use crate::decode::NON_UTF8_WARNING;
use crate::document::Row;
use crate::swar;
use crate::fields::{
    IMPERVA_WAF_FILE_CHECKSUM_STATUS, IMPERVA_WAF_FILE_IDENTITY, IMPERVA_WAF_FILE_LINE, IMPERVA_WAF_FILE_NAME, IMPERVA_WAF_FILE_ORDINAL, IMPERVA_WAF_FILE_PARTIAL,
    IMPERVA_WAF_LINE_TRUNCATED_LENGTH, IMPERVA_WAF_LINE_TRUNCATED_SHA256, IMPERVA_WAF_ORIGINAL_BASE64, LOG_FILE_PATH,
    LOG_OFFSET,
};

use super::{Counters, FileContext};

/// The warning of a line holding control characters (U+0000–U+0008, U+000B–U+001F, U+007F).
pub const CONTROL_CHARS_WARNING: &str = "line holds control characters (kept)";

/// What the mapping needs to know about one event line of the decoded body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineFacts<'a> {
    /// 1-based among all lines of the decoded body (`imperva.waf.file.line`, as problems name it).
    pub line_no: u64,
    /// 0-based among event lines (`imperva.waf.file.ordinal`).
    pub ordinal: u64,
    /// Byte offset of the line in the decoded body (`log.offset`).
    pub offset: u64,
    /// The line's bytes (the head of a long line): base64'd into `imperva.waf.original_base64`
    /// when `non_utf8`.
    pub raw: &'a [u8],
    /// The bytes were not valid UTF-8 (the text was decoded with U+FFFD replacements).
    pub non_utf8: bool,
    /// For a line over `max_line_bytes`: its full length (0 for a whole line).
    pub full_length: u64,
    /// For a line over `max_line_bytes`: the SHA-256 (hex) of the whole line.
    pub full_hash: &'a str,
}

impl<'a> LineFacts<'a> {
    /// The facts of a line from the body's splitter. A [`Cut::Broken`] line is no event (it is
    /// dead-lettered) and must not be mapped; here it counts as whole.
    pub fn from_line(line: &'a Line<'a>, non_utf8: bool) -> LineFacts<'a> {
        let (full_length, full_hash) = match &line.cut {
            Cut::Long { full_length, full_hash } => (*full_length, full_hash.as_str()),
            Cut::Whole | Cut::Broken => (0, ""),
        };
        LineFacts {
            line_no: line.line_no,
            ordinal: line.ordinal,
            offset: line.offset,
            raw: line.raw,
            non_utf8,
            full_length,
            full_hash,
        }
    }
}

/// The line's warnings, appended to the record's (version 1 adds them to the record before
/// mapping, so they follow the decoder's warnings and precede the mapping's), counted:
/// not UTF-8, then control characters in `text` (the line as decoded), then a long line, then a
/// second record merged into the line (a version 2 check: version 1 merged them silently).
pub fn line_warnings(line: &LineFacts<'_>, text: &str, warnings: &mut Vec<String>, counters: &mut Counters) {
    if line.non_utf8 {
        warnings.push(NON_UTF8_WARNING.to_owned());
        counters.warning_non_utf8 += 1;
    }
    if has_control_chars(text) {
        warnings.push(CONTROL_CHARS_WARNING.to_owned());
        counters.warning_control_chars += 1;
    }
    if line.full_length > 0 {
        warnings.push(format!(
            "line of {} bytes exceeds max_line_bytes; decoded from its first {} bytes",
            line.full_length,
            line.raw.len()
        ));
        counters.warning_long_line += 1;
    }
    if let Some(second) = super::merged::second_record(text) {
        warnings.push(second.warning());
        counters.warning_merged_records += 1;
    }
}

/// Version 1's `CONTROL` pattern `[\x00-\x08\x0b-\x1f\x7f]` (tab and line feed are not); 8 bytes
/// per step.
fn has_control_chars(text: &str) -> bool {
    let control = |b: u8| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f;
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if !swar::any_control(word) {
            continue; // the common case: one quick test per word
        }
        let c0 = swar::c0_bytes(word) & !(swar::eq_bytes(word, b'\t') | swar::eq_bytes(word, b'\n'));
        if c0 | swar::eq_bytes(word, 0x7f) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| control(b))
}

/// The per-event file fields of one event (DESIGN §1): where it came from — `log.file.path`,
/// `log.offset`, `imperva.waf.file.name`, `.identity`, `.line`, `.ordinal` — and the flags it
/// needs to be judged on its own (`.checksum_status`, `.partial`, from the verdict on the whole
/// file when a first pass gave one); for a line that is not UTF-8 or was cut for length, what
/// rebuilds or proves the original. Nothing else about the file is repeated on each event.
pub fn add_line_fields(row: &mut Row, ctx: &FileContext, line: &LineFacts<'_>) {
    row.set_str(IMPERVA_WAF_FILE_NAME, ctx.name());
    if let Some(identity) = ctx.identity() {
        row.set_str(IMPERVA_WAF_FILE_IDENTITY, identity);
    }
    row.set_long(IMPERVA_WAF_FILE_LINE, long(line.line_no));
    row.set_long(IMPERVA_WAF_FILE_ORDINAL, long(line.ordinal));
    if let Some(verdict) = ctx.verdict() {
        row.set_str(IMPERVA_WAF_FILE_CHECKSUM_STATUS, verdict.checksum.as_str());
    }
    if ctx.verdict().is_some_and(|v| v.partial) {
        row.set_bool(IMPERVA_WAF_FILE_PARTIAL, true);
    }
    if line.non_utf8 {
        row.set_str(IMPERVA_WAF_ORIGINAL_BASE64, &base64(line.raw));
    }
    if line.full_length > 0 {
        row.set_long(IMPERVA_WAF_LINE_TRUNCATED_LENGTH, long(line.full_length));
        row.set_str(IMPERVA_WAF_LINE_TRUNCATED_SHA256, line.full_hash);
    }
    row.set_long(LOG_OFFSET, long(line.offset));
    if let Some(path) = ctx.path() {
        row.set_str(LOG_FILE_PATH, path);
    }
}

fn long(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Standard base64 with padding (RFC 4648 §4), as Python's `base64.b64encode`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_pythons() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"\xff\xfe\x00"), "//4A");
    }

    #[test]
    fn control_chars_are_versions_1s() {
        assert!(!has_control_chars("a\tb\nc é"));
        for c in ['\0', '\u{8}', '\u{b}', '\r', '\u{1f}', '\u{7f}'] {
            assert!(has_control_chars(&format!("a{c}")), "{c:?}");
        }
        assert!(!has_control_chars("\u{85}\u{9f}"), "C1 controls are not in the pattern");
        for n in 0..20 {
            let clean = format!("{}\t{}\n", "a".repeat(n), "é".repeat(n));
            assert!(!has_control_chars(&clean));
            for c in ['\0', '\r', '\u{7f}'] {
                assert!(has_control_chars(&format!("{clean}{c}{}", "b".repeat(n))), "{n} {c:?}");
            }
        }
    }
}
