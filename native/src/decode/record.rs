//! The one thing every decoder returns, and the one way a line fails.

use std::fmt;

/// The three Imperva log formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Cef,
    Leef,
    W3c,
}

impl Format {
    /// The name used in configs, headers and documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::W3c => "w3c",
        }
    }

    /// The format named `name` (lower case), if it is one.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "cef" => Some(Format::Cef),
            "leef" => Some(Format::Leef),
            "w3c" => Some(Format::W3c),
            _ => None,
        }
    }
}

/// The warning recorded on a line that was not valid UTF-8 (its bytes were replaced, DESIGN §7).
pub const NON_UTF8_WARNING: &str = "line is not valid UTF-8; undecodable bytes replaced with U+FFFD";

/// One decoded event line, before any ECS mapping.
///
/// `ext` holds canonical (lower-case, CEF-spelled) Imperva keys → raw text values, in the order
/// the keys first appear, whichever format the line came in. Repeated keys keep the first
/// non-empty value in `ext` and every value in `dups` (empty when no key repeats). `warnings`
/// lists what was tolerated on this line: the record is complete but flagged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawRecord {
    pub format: Option<Format>,
    pub ext: Vec<(String, String)>,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// Device/product version from the header.
    pub version: Option<String>,
    /// CEF Signature ID (deviceEventClassId).
    pub signature: Option<String>,
    /// CEF Name / LEEF Event ID / W3C `cs-rule`.
    pub name: Option<String>,
    /// CEF severity slot: for Imperva the rule-type id.
    pub severity: Option<String>,
    /// `0` of `CEF:0`, `1.0`/`2.0`/`0` of LEEF.
    pub format_version: Option<String>,
    pub syslog_prefix: Option<String>,
    pub dups: Vec<(String, Vec<String>)>,
    pub warnings: Vec<String>,
}

impl RawRecord {
    /// A record of `format` with nothing decoded yet.
    pub fn new(format: Format) -> RawRecord {
        RawRecord { format: Some(format), ..RawRecord::default() }
    }

    /// The value of canonical key `key`, if the line had it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.ext.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// True for Imperva's own lines (vendor `Incapsula`, or any W3C line).
    pub fn is_imperva(&self) -> bool {
        self.vendor.as_deref() == Some("Incapsula") || self.format == Some(Format::W3c)
    }
}

/// One event line does not decode: what is wrong, where (1-based column, 0 when unknown), and
/// how to fix it when there is something to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub reason: String,
    pub column: usize,
    pub hint: Option<String>,
}

impl DecodeError {
    pub fn new(reason: impl Into<String>, column: usize) -> DecodeError {
        DecodeError { reason: reason.into(), column, hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> DecodeError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column > 0 {
            write!(f, "{} (column {})", self.reason, self.column)
        } else {
            f.write_str(&self.reason)
        }
    }
}

impl std::error::Error for DecodeError {}
