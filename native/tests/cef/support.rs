//! Support for the CEF tests: the header prefixes, and helpers that decode a line and pick out its
//! record, pairs, header fields and errors.

use _native::decode::cef::{decode_cef, split_extension};
use _native::decode::{DecodeError, RawRecord, Text};

pub(crate) const HEAD: &str = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| ";
pub(crate) const GENERIC: &str = "CEF:0|Acme|Box|1.0|100|name|5|";
pub(crate) const KEYLESS_HINT: &str = "extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)";

pub(crate) fn imperva(ext: &str) -> String {
    format!("{HEAD}{ext}")
}

pub(crate) fn generic(ext: &str) -> String {
    format!("{GENERIC}{ext}")
}

/// The record, owned (so tests may decode temporaries).
pub(crate) fn dec(line: &str) -> RawRecord<'static> {
    decode_cef(line).unwrap_or_else(|e| panic!("{line:?} failed: {e}")).into_owned()
}

pub(crate) type Pair = (Text<'static>, Text<'static>);

pub(crate) fn err(line: &str) -> DecodeError {
    match decode_cef(line) {
        Ok(rec) => panic!("{line:?} decoded: {rec:?}"),
        Err(e) => e,
    }
}

pub(crate) fn get<'a>(rec: &'a RawRecord, key: &str) -> &'a str {
    rec.get(key).unwrap_or_else(|| panic!("no {key} in {:?}", rec.ext))
}

pub(crate) fn pairs(items: &[(&str, &str)]) -> Vec<Pair> {
    items.iter().map(|(k, v)| (k.to_string().into(), v.to_string().into())).collect()
}

/// `split_extension` with pairs comparable to [`pairs`].
pub(crate) fn split_ext(ext: &str, imperva: bool) -> Result<Vec<Pair>, DecodeError> {
    split_extension(ext, imperva).map(|p| p.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
}

pub(crate) fn ext(line: &str) -> Vec<Pair> {
    dec(line).ext
}

pub(crate) fn header<'a>(rec: &'a RawRecord<'_>) -> [Option<&'a str>; 8] {
    [
        rec.vendor.as_deref(),
        rec.product.as_deref(),
        rec.version.as_deref(),
        rec.signature.as_deref(),
        rec.name.as_deref(),
        rec.severity.as_deref(),
        rec.format_version.as_deref(),
        rec.syslog_prefix.as_deref(),
    ]
}
