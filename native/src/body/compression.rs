//! Which compression a body (or the bytes after a stream) starts with, decided by content alone
//! (FORMATS §1.4).
//!
//! Imperva writes zlib; other tools wrap files in gzip; community collectors met raw deflate; and
//! "Compress logs" can be switched off. File names and headers say nothing reliable, so the first
//! bytes decide. The rules are exactly `wafpipe.imperva.compression.detect_compression` (v1), so
//! a file is read the same way by both cores.

/// A body's compression, as detected from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// RFC 1950 (Imperva's default).
    Zlib,
    /// RFC 1952 (other tools' wrapping).
    Gzip,
    /// RFC 1951 raw deflate, no header (a defensive fallback for bytes that are neither text nor
    /// a zlib/gzip header).
    Deflate,
    /// Plain text ("Compress logs" off, or a headerless JSON file).
    None,
}

impl Compression {
    /// The name v1 used (`FileInfo.compression`, error messages): `zlib`, `gzip`, `deflate`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Zlib => "zlib",
            Compression::Gzip => "gzip",
            Compression::Deflate => "deflate",
            Compression::None => "none",
        }
    }
}

/// How many leading bytes [`detect_compression`] looks at. Callers should hand it at least this
/// many (or the whole body when it is shorter): the answer never depends on anything later.
pub const DETECT_BYTES: usize = 64;

/// Starts of plain Imperva bodies (and of JSON/XML ones) that are text whatever follows.
const TEXT_STARTS: [&[u8]; 7] = [b"CEF:", b"LEEF:", b"#", b"\"", b"{", b"[", b"<"];

/// Bytes skipped before looking for a text start: whitespace and the bytes of a UTF-8 BOM (as a
/// set, like Python's `bytes.lstrip`, not as a sequence).
const LEADING: &[u8] = b" \t\r\n\xef\xbb\xbf";

/// The compression `head` (the first bytes of a body or of what follows a stream) starts with.
///
/// In order: `1f 8b` is gzip; a valid zlib header (CM 8, CINFO ≤ 7, FCHECK) is zlib; empty or
/// whitespace-only, a text start after leading whitespace/BOM, or ≥ 90 % printable bytes in the
/// first 64 is plain text; anything else is taken for raw deflate.
pub fn detect_compression(head: &[u8]) -> Compression {
    if head.starts_with(b"\x1f\x8b") {
        return Compression::Gzip;
    }
    if is_zlib_header(head) {
        return Compression::Zlib;
    }
    let start = head.iter().position(|b| !LEADING.contains(b)).unwrap_or(head.len());
    let stripped = &head[start..];
    if stripped.is_empty()
        || TEXT_STARTS.iter().any(|s| stripped.starts_with(s))
        || looks_like_text(&head[..head.len().min(DETECT_BYTES)])
    {
        Compression::None
    } else {
        Compression::Deflate
    }
}

/// RFC 1950 header check: deflate method, a window Python's `wbits=15` accepts, FCHECK valid.
fn is_zlib_header(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] & 0x0F == 8 && b[0] >> 4 <= 7 && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

/// At least 90 % of `sample` is printable ASCII, tab/CR/LF, or a byte that can start or continue
/// UTF-8 (≥ 0xC2). The float comparison is Python's own (`printable >= 0.9 * len`).
fn looks_like_text(sample: &[u8]) -> bool {
    if sample.is_empty() {
        return true;
    }
    let printable =
        sample.iter().filter(|&&c| (32..127).contains(&c) || c == 9 || c == 10 || c == 13 || c >= 0xC2).count();
    printable as f64 >= 0.9 * sample.len() as f64
}
