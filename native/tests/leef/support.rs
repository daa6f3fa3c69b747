//! Support for the LEEF tests: helpers that decode a line and pick out its record, pairs and
//! errors, and the check of a whole record.

use _native::decode::leef::decode_leef;
use _native::decode::{DecodeError, Format, RawRecord};

/// The record, owned (so tests may decode temporaries).
pub(crate) fn dec(line: &str) -> RawRecord<'static> {
    decode_leef(line).unwrap_or_else(|e| panic!("{line:?} failed: {e}")).into_owned()
}

pub(crate) fn err(line: &str) -> DecodeError {
    match decode_leef(line) {
        Ok(rec) => panic!("{line:?} decoded: {rec:?}"),
        Err(e) => e,
    }
}

pub(crate) fn ext<'r>(rec: &'r RawRecord<'_>) -> Vec<(&'r str, &'r str)> {
    rec.ext.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect()
}

pub(crate) fn get<'a>(rec: &'a RawRecord, key: &str) -> &'a str {
    rec.get(key).unwrap_or_else(|| panic!("no {key} in {:?}", rec.ext))
}

/// The whole record: ext in order, dups, warnings, and [vendor, product, version, name,
/// format_version, syslog_prefix, severity].
pub(crate) fn check(
    rec: &RawRecord,
    want_ext: &[(&str, &str)],
    want_dups: &[(&str, &[&str])],
    want_warnings: &[&str],
    head: [Option<&str>; 7],
) {
    assert_eq!(rec.format, Some(Format::Leef));
    assert_eq!(ext(rec), want_ext);
    let dups: Vec<(&str, Vec<&str>)> =
        rec.dups.iter().map(|(k, v)| (k.as_ref(), v.iter().map(|v| v.as_ref()).collect())).collect();
    let want: Vec<(&str, Vec<&str>)> = want_dups.iter().map(|(k, v)| (*k, v.to_vec())).collect();
    assert_eq!(dups, want);
    assert_eq!(rec.warnings, want_warnings);
    let got = [
        rec.vendor.as_deref(),
        rec.product.as_deref(),
        rec.version.as_deref(),
        rec.name.as_deref(),
        rec.format_version.as_deref(),
        rec.syslog_prefix.as_deref(),
        rec.severity.as_deref(),
    ];
    assert_eq!(got, head);
    assert_eq!(rec.signature, None);
}
