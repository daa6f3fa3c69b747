//! The file's `checksum:` header against the MD5 of the decoded body (FORMATS §1.6).
//!
//! The digest covers the final plain text: after decryption and decompression, every byte the
//! body decoded to (blank lines and `\r` included). A mismatch never drops data: events are kept,
//! the file is flagged (DESIGN §7). The status words are v1's `FileInfo.checksum_status`.

/// How the header's checksum compares with the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumStatus {
    /// The body decoded to its end and its MD5 equals the header's (case-insensitively).
    Ok,
    /// The body decoded to its end and its MD5 differs.
    Mismatch,
    /// The header has no (or an empty) `checksum`.
    Absent,
    /// The body broke off: nothing to compare.
    Incomplete,
}

impl ChecksumStatus {
    /// v1's word: `ok`, `mismatch`, `absent`, `incomplete`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumStatus::Ok => "ok",
            ChecksumStatus::Mismatch => "mismatch",
            ChecksumStatus::Absent => "absent",
            ChecksumStatus::Incomplete => "incomplete",
        }
    }

    /// The status named by [`as_str`](Self::as_str)'s word.
    pub fn parse(word: &str) -> Option<ChecksumStatus> {
        [ChecksumStatus::Ok, ChecksumStatus::Mismatch, ChecksumStatus::Absent, ChecksumStatus::Incomplete]
            .into_iter()
            .find(|s| s.as_str() == word)
    }

    /// v1's rule: a body that broke off is `incomplete`; else no (or a blank) checksum is `absent`;
    /// else the trimmed, lower-cased header value equals `computed_md5` (lower-case hex) or it does not.
    pub fn judge(header_checksum: Option<&str>, computed_md5: &str, broke_off: bool) -> ChecksumStatus {
        let header = header_checksum.map(str::trim).unwrap_or("");
        if broke_off {
            ChecksumStatus::Incomplete
        } else if header.is_empty() {
            ChecksumStatus::Absent
        } else if header.to_ascii_lowercase() == computed_md5 {
            ChecksumStatus::Ok
        } else {
            ChecksumStatus::Mismatch
        }
    }
}

/// Lower-case hex of `bytes` (digests).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}
