//! Which decoder a file needs: the header's `format` first, then the content (DESIGN §1); a port
//! of `wafpipe.decode.detect`.
//!
//! CEF and LEEF lines stand alone, so their decoders hold nothing; a W3C file carries its column
//! list in directives, so its decoder holds state. [`FileDecoder`] is one file's decoder either
//! way — Python's `make_decoder` result (`_Stateless` or `W3CDecoder`).

use crate::decode::cef::decode_cef;
use crate::decode::leef::decode_leef;
use crate::decode::w3c::W3cDecoder;
use crate::decode::{DecodeError, Format, RawRecord};
use crate::pytext;

/// How far into the first line a `CEF:`/`LEEF:` marker is looked for (after a syslog prefix),
/// in characters.
const MARKER_WINDOW: usize = 256;

/// `cef`/`leef`/`w3c` from the header's `format`, else from the first body line.
///
/// `header` holds the container header's (name, value) pairs, as the items of Python's header
/// dict. The name `format` is looked up exactly first, then in any case (`Format` is the
/// documented spelling, FORMATS §1.3); a value that is no known format (after trimming, any
/// case) is no answer, and the content decides: a line starting (after blanks) with `#` or `"`
/// is W3C, with `LEEF:` is LEEF; otherwise a `CEF:` then a `LEEF:` marker within the first 256
/// characters (behind a syslog prefix) decides.
pub fn detect_format(header: &[(String, String)], first_line: Option<&str>) -> Option<Format> {
    if let Some(declared) = header_format(header) {
        let declared = pytext::strip(declared);
        for format in [Format::Cef, Format::Leef, Format::W3c] {
            if declared.eq_ignore_ascii_case(format.as_str()) {
                return Some(format);
            }
        }
    }
    let line = pytext::lstrip(first_line?);
    if line.starts_with('#') || line.starts_with('"') {
        return Some(Format::W3c);
    }
    if line.starts_with("LEEF:") {
        return Some(Format::Leef);
    }
    let window = pytext::char_prefix(line, MARKER_WINDOW);
    if window.contains("CEF:") {
        return Some(Format::Cef);
    }
    if window.contains("LEEF:") {
        return Some(Format::Leef);
    }
    None
}

/// Python's `header.get("format")`, else the first name equal to `format` in any case. Dict
/// semantics: a name given twice has its last value.
fn header_format(header: &[(String, String)]) -> Option<&str> {
    let last = |name: &str| header.iter().rfind(|(k, _)| k == name).map(|(_, v)| v.as_str());
    last("format").or_else(|| {
        let (name, _) = header.iter().find(|(k, _)| k.eq_ignore_ascii_case("format"))?;
        last(name)
    })
}

/// One file's decoder (Python's `make_decoder`). CEF and LEEF lines stand alone; a line that
/// starts with the other format's marker (Attack Analytics CEF in a LEEF file, say) decodes by
/// that marker rather than failing the file. W3C keeps the file's columns and directives.
#[derive(Clone, Debug)]
pub enum FileDecoder {
    Cef,
    Leef,
    W3c(W3cDecoder),
}

/// A decoder for one file of `format`; W3C reads its column list from `header` too.
pub fn make_decoder(format: Format, header: &[(String, String)]) -> FileDecoder {
    match format {
        Format::Cef => FileDecoder::Cef,
        Format::Leef => FileDecoder::Leef,
        Format::W3c => FileDecoder::W3c(W3cDecoder::new(header)),
    }
}

impl FileDecoder {
    /// [`make_decoder`] for a format given by name (exactly `cef`, `leef` or `w3c`); otherwise
    /// Python's `ValueError` message.
    pub fn from_name(name: &str, header: &[(String, String)]) -> Result<FileDecoder, String> {
        match Format::parse(name) {
            Some(format) => Ok(make_decoder(format, header)),
            None => Err(format!("unknown format {}; expected one of cef, leef, w3c", pytext::repr(name))),
        }
    }

    /// The file's format (not that of a foreign line decoded by its own marker).
    pub fn format(&self) -> Format {
        match self {
            FileDecoder::Cef => Format::Cef,
            FileDecoder::Leef => Format::Leef,
            FileDecoder::W3c(_) => Format::W3c,
        }
    }

    /// One body line → a record, `Ok(None)` for a line that carries no event (a W3C directive),
    /// or the reason it does not decode.
    pub fn decode<'a>(&mut self, line: &'a str) -> Result<Option<RawRecord<'a>>, DecodeError> {
        match self {
            FileDecoder::Cef if line.starts_with("LEEF:") => decode_leef(line).map(Some),
            FileDecoder::Cef => decode_cef(line).map(Some),
            FileDecoder::Leef if line.starts_with("CEF:") => decode_cef(line).map(Some),
            FileDecoder::Leef => decode_leef(line).map(Some),
            FileDecoder::W3c(w3c) => w3c.decode(line),
        }
    }

    /// The W3C decoder (columns, directives), for a W3C file.
    pub fn w3c(&self) -> Option<&W3cDecoder> {
        match self {
            FileDecoder::W3c(w3c) => Some(w3c),
            _ => None,
        }
    }

    /// The W3C decoder, to restore its columns and directives (dead-letter replay).
    pub fn w3c_mut(&mut self) -> Option<&mut W3cDecoder> {
        match self {
            FileDecoder::W3c(w3c) => Some(w3c),
            _ => None,
        }
    }
}
