//! The one thing every decoder returns, and the one way a line fails.

use std::borrow::Cow;
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

/// A record's text: borrowed from the line (or a static key name) where it is the line's text
/// as it stands, owned where decoding changed it (un-escaped values, lower-cased keys that are not
/// Imperva's). Decoding a line allocates only for those.
pub type Text<'a> = Cow<'a, str>;

/// One decoded event line, before any ECS mapping; its text borrows from the line (`'a`).
///
/// `ext` holds canonical (lower-case, CEF-spelled) Imperva keys → raw text values, in the order
/// the keys first appear, whichever format the line came in. Repeated keys keep the first
/// non-empty value in `ext` and every value in `dups` (empty when no key repeats). `warnings`
/// lists what was tolerated on this line: the record is complete but flagged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub format: Option<Format>,
    pub ext: Vec<(Text<'a>, Text<'a>)>,
    pub vendor: Option<Text<'a>>,
    pub product: Option<Text<'a>>,
    /// Device/product version from the header.
    pub version: Option<Text<'a>>,
    /// CEF Signature ID (deviceEventClassId).
    pub signature: Option<Text<'a>>,
    /// CEF Name / LEEF Event ID / W3C `cs-rule`.
    pub name: Option<Text<'a>>,
    /// CEF severity slot: for Imperva the rule-type id.
    pub severity: Option<Text<'a>>,
    /// `0` of `CEF:0`, `1.0`/`2.0`/`0` of LEEF.
    pub format_version: Option<Text<'a>>,
    pub syslog_prefix: Option<Text<'a>>,
    pub dups: Vec<(Text<'a>, Vec<Text<'a>>)>,
    pub warnings: Vec<String>,
}

impl<'a> RawRecord<'a> {
    /// A record of `format` with nothing decoded yet.
    pub fn new(format: Format) -> RawRecord<'a> {
        RawRecord { format: Some(format), ..RawRecord::default() }
    }

    /// The value of canonical key `key`, if the line had it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.ext.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// The record with all its text owned (no longer tied to the line).
    pub fn into_owned(self) -> RawRecord<'static> {
        let own = |t: Text<'_>| -> Text<'static> { Cow::Owned(t.into_owned()) };
        let own_opt = |t: Option<Text<'_>>| t.map(own);
        RawRecord {
            format: self.format,
            ext: self.ext.into_iter().map(|(k, v)| (own(k), own(v))).collect(),
            vendor: own_opt(self.vendor),
            product: own_opt(self.product),
            version: own_opt(self.version),
            signature: own_opt(self.signature),
            name: own_opt(self.name),
            severity: own_opt(self.severity),
            format_version: own_opt(self.format_version),
            syslog_prefix: own_opt(self.syslog_prefix),
            dups: self.dups.into_iter().map(|(k, vs)| (own(k), vs.into_iter().map(own).collect())).collect(),
            warnings: self.warnings,
        }
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
