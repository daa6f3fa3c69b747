//! LEEF decoder: LEEF 1.0 and 2.0 (IBM QRadar) and Imperva's own `LEEF:0` variant
//! (FORMATS §4), a port of `wafpipe.decode.leef` that gives the same record, error or warning for
//! every input.
//!
//! Imperva writes `LEEF:0|Incapsula|SIEMintegration|0|<Event ID>|` followed by attributes that
//! are TAB-separated in some deliveries and space-separated in Imperva's documentation. LEEF 2.0
//! adds a delimiter field after the Event ID: one character, or its hex form `x5E` / `0x09`.
//! When the attributes hold the delimiter (TAB unless 2.0 names another) they are cut at every
//! `<delimiter>key=`; otherwise at ` key=` as in CEF. Either way a delimiter inside a value that
//! is not followed by `key=` stays in the value, and Imperva's free-text rule (DESIGN §1)
//! applies. On Imperva lines the LEEF spellings of Imperva keys (`popName`, `url`, `cat`…)
//! become their CEF names (FORMATS §4.2), so one field table serves every format; other vendors'
//! LEEF keys keep their own meaning (QRadar's `cat` is a category, not Imperva's action).
//!
//! Columns in messages count code points, as Python's do. The work is byte scanning with
//! `memchr`; the record borrows from the line, so what is allocated is only what decoding
//! changed (un-escaped values, lower-cased keys).
//!
//! One input has no Python result to match: attributes that are blanks only on a TAB- (or
//! custom-) delimited line (`…|Normal|\t\t`). Python's `values[-1].rstrip(…)` then indexes an
//! empty list and raises `IndexError`, which is no `DecodeError` and would abort the whole file;
//! here such a line decodes to a record without attributes, as `…|Normal|\t` already does in
//! Python.

pub(crate) mod cut;

/// Python's `str` semantics, first written for LEEF: now [`crate::pytext`], the crate's one copy.
pub use crate::pytext as pystr;

use std::borrow::Cow;
use std::sync::OnceLock;

use memchr::{memchr, memmem};

use crate::decode::repeats::fold_repeats;
use crate::decode::{DecodeError, Format, RawRecord};
use crate::pytext;

/// LEEF 2.0 delimiter field → the delimiter's code point; None when `spec` is not a delimiter.
///
/// One character stands for itself (even a space); `xHH`/`0xHH` (any case, 1–4 characters
/// after the `x`, read by Python's `int(…, 16)` with all its leniency: blanks, `_`, a sign,
/// Unicode digits) is a code point; a blank field means the default TAB. A code point rather
/// than a `char` because Python happily returns a lone surrogate (`xD800`), which no `char`
/// can hold; such a delimiter never occurs in a line, so the attributes fall back to spaces.
pub fn parse_delimiter(spec: &str) -> Option<u32> {
    let mut chars = spec.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(c as u32);
    }
    let s = pytext::strip(spec);
    if s.is_empty() {
        return Some('\t' as u32);
    }
    let low = pytext::lower(s);
    let low = if low.starts_with("0x") { &low[1..] } else { &low[..] };
    let digits = low.strip_prefix('x')?;
    if !(1..=4).contains(&pytext::char_len(digits)) {
        return None;
    }
    // chr() of a negative or too large number is a ValueError too.
    pytext::int_hex(digits).and_then(|cp| u32::try_from(cp).ok()).filter(|&cp| cp <= 0x10_ffff)
}

/// One LEEF line → [`RawRecord`] with canonical (CEF-spelled) keys.
///
/// Errors: no `LEEF:` marker, fewer than five `|`-terminated header fields, a LEEF 2.0
/// delimiter field that is neither a delimiter nor an attribute, text before the first key.
pub fn decode_leef(line: &str) -> Result<RawRecord<'_>, DecodeError> {
    let bytes = line.as_bytes();
    static MARKER: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    // Built once: `memmem::find` builds its searcher on every call (~250 instructions a line).
    let marker = MARKER.get_or_init(|| memmem::Finder::new(b"LEEF:"));
    let Some(start) = marker.find(bytes) else {
        return Err(DecodeError::new("line does not contain a LEEF header (no 'LEEF:' marker)", 1)
            .with_hint("the line is not LEEF; check the file's format (--format)"));
    };
    let prefix = Some(pytext::rstrip(&line[..start])).filter(|p| !p.is_empty()).map(Cow::Borrowed);

    // Five header fields, each ended by '|'; the rest of the line follows the fifth.
    let mut fields = [""; 5];
    let mut at = start + 5;
    for (found, field) in fields.iter_mut().enumerate() {
        let Some(n) = memchr(b'|', &bytes[at..]) else {
            return Err(DecodeError::new(
                format!("incomplete LEEF header: found {found} of 5 required pipe-terminated header fields"),
                pytext::column(line, line.len()),
            )
            .with_hint("the line is truncated; a LEEF header is LEEF:Version|Vendor|Product|Version|EventID|"));
        };
        *field = &line[at..at + n];
        at += n + 1;
    }
    let version = pytext::strip(fields[0]);

    // `delim` is None for a delimiter that cannot occur in text (a lone surrogate).
    let mut delim = Some('\t');
    let mut rest_at = at;
    if version.starts_with('2') {
        if let Some(n) = memchr(b'|', &bytes[at..]) {
            let spec = &line[at..at + n];
            match parse_delimiter(spec) {
                Some(cp) => {
                    delim = char::from_u32(cp);
                    rest_at = at + n + 1;
                }
                None if !spec.contains('=') => {
                    return Err(DecodeError::new(
                        format!(
                            "LEEF 2.0 delimiter field {} is neither one character nor xHH",
                            pytext::repr(pytext::char_prefix(spec, 20))
                        ),
                        pytext::column(line, at),
                    )
                    .with_hint("LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|"));
                }
                None => {} // no delimiter field at all: the '|' belongs to a value
            }
        }
    }

    let attrs = line[rest_at..].trim_end_matches(['\r', '\n']);
    let holds = |d: char| if d.is_ascii() { memchr(d as u8, attrs.as_bytes()).is_some() } else { attrs.contains(d) };
    let (delim, attrs) = match delim {
        Some(d) if holds(d) => (d, attrs),
        _ => (' ', attrs.trim_end_matches([' ', '\t'])),
    };
    // Python prepends the delimiter when the attributes do not start with one; `tail` is what
    // follows that (real or implied) first delimiter.
    let tail_at = if attrs.starts_with(delim) { rest_at + delim.len_utf8() } else { rest_at };
    let tail = tail_at..rest_at + attrs.len();

    let imperva = fields[1] == "Incapsula";
    let (ext, dups, warnings) = if tail.is_empty() {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        let cut::Cut { mut pairs, warnings, distinct } =
            cut::cut(&cut::Attrs { line, tail, delim, imperva, leef_aliases: imperva })?;
        if delim != ' ' {
            // Python strips the last value of blanks and delimiters (`values[-1].rstrip`); it
            // raises IndexError when the attributes are blanks only, which here is no pair.
            if let Some((_, last)) = pairs.last_mut() {
                let kept = last.trim_end_matches([' ', '\t', delim]).len();
                match last {
                    Cow::Borrowed(text) => *text = &text[..kept],
                    Cow::Owned(text) => text.truncate(kept),
                }
            }
        }
        let (ext, dups) = if distinct { (pairs, Vec::new()) } else { fold_repeats(pairs) };
        (ext, dups, warnings)
    };
    Ok(RawRecord {
        format: Some(Format::Leef),
        ext,
        vendor: Some(Cow::Borrowed(fields[1])),
        product: Some(Cow::Borrowed(fields[2])),
        version: Some(Cow::Borrowed(fields[3])),
        signature: None,
        name: Some(Cow::Borrowed(fields[4])),
        severity: None,
        format_version: Some(Cow::Borrowed(version)),
        syslog_prefix: prefix,
        dups,
        warnings,
    })
}
