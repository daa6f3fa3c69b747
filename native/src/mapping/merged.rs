//! Two records on one line (DESIGN §7): a line break lost in transit, or a file written with
//! CR-only line endings, glues the next record onto the end of the last value of this one.
//! Imperva writes one record per line, so a second complete CEF or LEEF header after the first is
//! reported on the event (a warning and a counter); the event keeps the first record and
//! `event.original` keeps both, so nothing is lost and the cause can be fixed at the sender.
//!
//! A header is recognised by its shape, not by the marker alone (`CEF:0|` in an attack payload is
//! data): the marker, a version, then as many `|` separators as the format's header has, within
//! the next [`HEADER_SPAN`] bytes.

use std::sync::OnceLock;

use memchr::memmem::Finder;

/// How far after a marker the rest of a header must lie.
const HEADER_SPAN: usize = 1024;

/// Where a second record starts in `text` (the line as decoded), and whether a carriage return
/// comes right before it (CR-only line endings) — or `None` for a line of one record. `text`'s
/// first record may follow a syslog prefix.
pub fn second_record(text: &str) -> Option<SecondRecord> {
    let bytes = text.as_bytes();
    let first = header_at_or_after(bytes, 0)?;
    let mut from = first + 4;
    while let Some(at) = header_at_or_after(bytes, from) {
        // A second header must begin a record: at the line's start of a new record, i.e. right
        // after a blank, a carriage return or the end of a value (any character but `=` or `|`,
        // which would make it part of a key/value or header field being written).
        let before = bytes[at - 1];
        if before != b'=' && before != b'|' {
            let column = text[..at].chars().count() + 1;
            return Some(SecondRecord { column, after_carriage_return: before == b'\r' });
        }
        from = at + 4;
    }
    None
}

/// A second record on a line: its 1-based column, and whether a carriage return precedes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecondRecord {
    pub column: usize,
    pub after_carriage_return: bool,
}

impl SecondRecord {
    /// The warning recorded on the event.
    pub fn warning(self) -> String {
        let cause = if self.after_carriage_return {
            "the file uses carriage returns alone as line breaks"
        } else {
            "a line break was lost"
        };
        format!(
            "a second record starts at column {}: two records were merged into one line ({cause}); \
             the event holds the first, event.original holds both — fix the line breaks at the sender",
            self.column
        )
    }
}

/// The byte offset of the first complete CEF or LEEF header starting at or after `from` (both
/// markers end in `EF:`, found by one substring search).
fn header_at_or_after(bytes: &[u8], from: usize) -> Option<usize> {
    let start = from.min(bytes.len());
    static MARKER_END: OnceLock<Finder<'static>> = OnceLock::new();
    let finder = MARKER_END.get_or_init(|| Finder::new(b"EF:")); // built once: ~400 instructions
    for hit in finder.find_iter(&bytes[start..]) {
        let ef = start + hit;
        let (at, pipes) = if ef >= 2 && &bytes[ef - 2..ef] == b"LE" {
            (ef - 2, 5)
        } else if ef >= 1 && bytes[ef - 1] == b'C' {
            (ef - 1, 7)
        } else {
            continue;
        };
        if at >= from && is_header(&bytes[ef + 3..], pipes) {
            return Some(at);
        }
    }
    None
}

/// After the marker: a version (digits, optionally `.digits`) then `|`, and `pipes` separators in
/// all within [`HEADER_SPAN`] bytes, none of them after a line's worth of nothing.
fn is_header(after_marker: &[u8], pipes: usize) -> bool {
    let digits = after_marker.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return false;
    }
    let mut rest = &after_marker[digits..];
    if rest.first() == Some(&b'.') {
        let frac = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if frac == 0 {
            return false;
        }
        rest = &rest[1 + frac..];
    }
    if rest.first() != Some(&b'|') {
        return false;
    }
    // Counting stops at the `pipes`-th separator (a header's are in its first hundred bytes).
    let span = &rest[..rest.len().min(HEADER_SPAN)];
    memchr::memchr_iter(b'|', span).take(pipes).count() >= pipes
}

#[cfg(test)]
mod tests {
    use super::*;

    const CEF: &str = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1 src=10.0.0.1 end=1453290121336";
    const LEEF: &str = "LEEF:1.0|Incapsula|SIEMintegration|1.0|Normal|devTime=1453290121336\tsrc=10.0.0.1";

    #[test]
    fn one_record_is_one_record() {
        assert_eq!(second_record(CEF), None);
        assert_eq!(second_record(LEEF), None);
        assert_eq!(second_record(&format!("<14>Jan  1 00:00:00 host {CEF}")), None);
        assert_eq!(second_record("no record at all"), None);
    }

    #[test]
    fn a_lost_line_break_is_found_at_its_column() {
        let merged = format!("{CEF} {CEF}");
        assert_eq!(second_record(&merged), Some(SecondRecord { column: CEF.len() + 2, after_carriage_return: false }));
        let glued = format!("{CEF}{LEEF}");
        assert_eq!(second_record(&glued).map(|s| s.column), Some(CEF.len() + 1));
    }

    #[test]
    fn carriage_return_line_endings_are_named() {
        let merged = format!("{LEEF}\r{LEEF}\r{LEEF}");
        let found = second_record(&merged).unwrap();
        assert!(found.after_carriage_return);
        assert_eq!(found.column, LEEF.len() + 2);
        assert!(found.warning().contains("carriage returns alone"));
    }

    #[test]
    fn a_marker_inside_a_value_or_an_incomplete_header_is_data() {
        // An attack payload naming a header inside a value (`qstr=CEF:0|…`) is data.
        assert_eq!(second_record(&format!("{CEF} qstr=CEF:0|a|b|c|d|e|f|")), None);
        // Too few separators to be a header.
        assert_eq!(second_record(&format!("{CEF} cs1=x CEF:0|a|b")), None);
        // No version.
        assert_eq!(second_record(&format!("{CEF} cs1=x CEF:|a|b|c|d|e|f|g|")), None);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let merged = format!("{CEF} cs1=München {CEF}");
        let expected = format!("{CEF} cs1=München ").chars().count() + 1;
        assert_eq!(second_record(&merged).map(|s| s.column), Some(expected));
    }
}
