//! CEF decoder: the ArcSight grammar plus every Imperva quirk of FORMATS.md §2.6.
//!
//! This is the same function as version 1's Python `decode_cef` — same keys, values, repeats,
//! header fields, warnings and errors (reason and column) for every input; version 1 is deleted,
//! and `tests/native/test_version1.py` compares the core with its stored output. The grammar
//! (checked against the Filebeat and Logstash vectors):
//!
//! * Anything before `CEF:` is a syslog prefix (kept, trailing blanks removed).
//! * The header is seven `|`-terminated fields; `\|` and `\\` are escapes there (CEF standard;
//!   a rule name may hold a pipe). The severity slot is kept as text: Imperva puts a rule-type id
//!   there, possibly `-1`; Attack Analytics a word.
//! * The extension starts after the seventh pipe, with or without blanks (third-party fixtures
//!   drop Imperva's space). It is cut at every ` key=` — one **space**, a key made of
//!   `[A-Za-z0-9_.,[\]-]` starting with a letter, digit or `_`, then `=`. A tab is not a
//!   separator. The separating space belongs to no value, so a value keeps any further trailing
//!   blanks (`a  b=` gives `a `); the last value loses its trailing blanks and line ending.
//! * Imperva lines (vendor `Incapsula`) add DESIGN §1's exception: inside the value of a free-text
//!   key, a candidate key that Imperva does not emit stays part of the value (user agents, post
//!   bodies and JSON hold unescaped `word=`). They also lose one blank after `=` (FORMATS §2.6 #21).
//! * Values are un-escaped after cutting: `\=`, `\\`, `\n`, `\r`; any other backslash is kept.
//!   Empty values are kept (`cs9=`).
//! * Tolerated but flagged in `RawRecord.warnings`: an unescaped `=` inside a value (`id==x`,
//!   `a =b`). Errors: no `CEF:`, fewer than seven header fields, text before the first key,
//!   several CEF records in one line.
//!
//! Speed: the header is one `memchr` walk over its pipes and backslashes, the extension one pass
//! over its bytes, 8 at a time; header fields, keys and values are borrowed from the line (a
//! static name for Imperva's keys written with upper case), and only what decoding changes
//! (un-escaped text) is allocated.

mod extension;

use std::borrow::Cow;
use std::sync::OnceLock;

use memchr::{memchr, memchr2, memmem};

pub use self::extension::{cut, Cut, KeySpelling};
pub use crate::decode::keyvalue::unescape;
pub use crate::decode::repeats::{fold_repeats, Dups};
use crate::decode::{DecodeError, Format, RawRecord};
use crate::pytext::{column, rstrip, strip};

/// The blanks and line ends removed from the end of the extension.
const TRAILING: [char; 4] = [' ', '\t', '\r', '\n'];
/// The blanks removed between the header and the first key.
const LEADING: [char; 2] = [' ', '\t'];

/// One CEF line → [`RawRecord`] with canonical (lower-case) keys.
pub fn decode_cef(line: &str) -> Result<RawRecord<'_>, DecodeError> {
    static MARKER: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    // Built once: `memmem::find` builds its searcher on every call (~250 instructions a line).
    let marker = MARKER.get_or_init(|| memmem::Finder::new(b"CEF:"));
    let Some(start) = marker.find(line.as_bytes()) else {
        return Err(DecodeError::new("line does not contain a CEF header (no 'CEF:' marker)", 1)
            .with_hint("the line is not CEF; check the file's format (--format)"));
    };
    let syslog_prefix = match rstrip(&line[..start]) {
        "" => None,
        prefix => Some(Cow::Borrowed(prefix)),
    };
    let (fields, ext_from) = split_header(line, start + 4)?;
    let trimmed = line[ext_from..].trim_end_matches(TRAILING);
    let ext = trimmed.trim_start_matches(LEADING);
    let ext_at = ext_from + (trimmed.len() - ext.len());
    check_newlines(line, ext_at, ext)?;
    let mut record = RawRecord::new(Format::Cef);
    if !ext.is_empty() {
        let imperva = fields[1] == "Incapsula";
        let found = cut(line, ext_at, ext_at + ext.len(), b' ', imperva, KeySpelling::Canonical)?;
        (record.ext, record.dups) = if found.distinct { (found.pairs, Vec::new()) } else { fold_repeats(found.pairs) };
        record.warnings = found.warnings;
    }
    let [format_version, vendor, product, version, signature, name, severity] = fields;
    record.format_version = Some(match format_version {
        Cow::Borrowed(v) => Cow::Borrowed(strip(v)),
        Cow::Owned(v) => Cow::Owned(strip(&v).to_owned()),
    });
    record.vendor = Some(vendor);
    record.product = Some(product);
    record.version = Some(version);
    record.signature = Some(signature);
    record.name = Some(name);
    record.severity = Some(severity);
    record.syslog_prefix = syslog_prefix;
    Ok(record)
}

/// Cut a CEF extension into (key, value) pairs at every ` key=`, keys as written (version 1's
/// public `split_extension`). For Imperva lines, inside the value of a free-text key a candidate
/// key that Imperva does not emit stays part of the value (DESIGN §1). Values are un-escaped
/// after cutting. Text before the first key is an error (column 1).
pub fn split_extension(ext: &str, imperva: bool) -> Result<Vec<(String, String)>, DecodeError> {
    let ext = ext.trim_start_matches(LEADING).trim_end_matches(TRAILING);
    if ext.is_empty() {
        return Ok(Vec::new());
    }
    let pairs = cut(ext, 0, ext.len(), b' ', imperva, KeySpelling::AsWritten)?.pairs;
    Ok(pairs.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

/// The seven header fields after `CEF:` (which ends at byte `body`), un-escaped, and the byte
/// just after the seventh pipe. A field is borrowed unless it held an escape.
fn split_header(line: &str, body: usize) -> Result<([Cow<'_, str>; 7], usize), DecodeError> {
    let bytes = line.as_bytes();
    let mut fields: [Cow<'_, str>; 7] = Default::default();
    let mut found = 0;
    let mut from = body; // start of the text not yet copied into the current field
    let mut at = body; // where to look for the next pipe or backslash
    let mut owned: Option<String> = None; // the current field, once it held an escape
    while let Some(i) = memchr2(b'|', b'\\', &bytes[at..]).map(|i| at + i) {
        if bytes[i] == b'|' {
            fields[found] = match owned.take() {
                Some(mut field) => {
                    field.push_str(&line[from..i]);
                    Cow::Owned(field)
                }
                None => Cow::Borrowed(&line[from..i]),
            };
            found += 1;
            from = i + 1;
            at = i + 1;
            if found == 7 {
                return Ok((fields, at));
            }
        } else if let Some(&next @ (b'|' | b'\\')) = bytes.get(i + 1) {
            let field = owned.get_or_insert_with(String::new);
            field.push_str(&line[from..i]);
            field.push(char::from(next));
            from = i + 2;
            at = i + 2;
        } else {
            at = i + 1; // a lone backslash is text
        }
    }
    Err(DecodeError::new(
        format!("incomplete CEF header: found {found} of 7 required pipe-terminated header fields"),
        column(line, line.len()),
    )
    .with_hint(
        "the line is truncated or is not CEF; a CEF header is \
         CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|",
    ))
}

/// A raw LF inside a value is kept (a control character, DESIGN §7); another CEF record after
/// one means the caller passed several lines as one — refuse rather than lose records. The column
/// is the first LF's.
fn check_newlines(line: &str, ext_at: usize, ext: &str) -> Result<(), DecodeError> {
    let Some(first) = memchr(b'\n', ext.as_bytes()) else {
        return Ok(());
    };
    let finder = memmem::Finder::new(b"CEF:");
    let more = ext[first + 1..].split('\n').filter(|seg| finder.find(seg.as_bytes()).is_some());
    let records = 1 + more.count();
    if records == 1 {
        return Ok(());
    }
    Err(DecodeError::new(
        format!(
            "message is not valid CEF because it contains unescaped newline characters \
             ({records} CEF records in one line)"
        ),
        column(line, ext_at + first),
    )
    .with_hint("split the input on '\\n' before decoding "))
}
