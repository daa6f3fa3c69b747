//! The one way a body fails part-way, named for what happened (DESIGN §7).
//!
//! v1 called every zlib failure at the end "truncated", even a stream with invalid data; here a
//! stream that holds invalid data is *corrupt*, one that stops before its end marker is
//! *truncated*, and one that inflates past a bound is a *decompression bomb*. Each carries how many
//! decoded bytes came before the fault (the lines made from them stay valid; the file is partial)
//! and a hint saying what to do, rendered like v1's `WafpipeError`: `message (hint: hint)`.

use std::fmt;

use super::compression::Compression;

/// What went wrong with a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyErrorKind {
    /// The stream holds data that is not valid zlib/gzip/deflate (or fails its check value).
    Corrupt,
    /// The input ended inside a stream, before its end marker.
    Truncated,
    /// Output would pass [`Limits::max_output_bytes`](super::Limits::max_output_bytes).
    OutputLimit,
    /// Output per compressed byte passed [`Limits::max_ratio`](super::Limits::max_ratio).
    RatioLimit,
}

impl BodyErrorKind {
    /// A stable short name (for counters and the Python side).
    pub fn as_str(self) -> &'static str {
        match self {
            BodyErrorKind::Corrupt => "corrupt",
            BodyErrorKind::Truncated => "truncated",
            BodyErrorKind::OutputLimit => "bomb_output",
            BodyErrorKind::RatioLimit => "bomb_ratio",
        }
    }

    /// True for the two decompression-bomb kinds.
    pub fn is_bomb(self) -> bool {
        matches!(self, BodyErrorKind::OutputLimit | BodyErrorKind::RatioLimit)
    }
}

/// v1's hint for a corrupt stream.
pub const CORRUPT_HINT: &str = "the file is damaged or was not written completely; fetch it again";
/// v1's hint for a truncated stream.
pub const TRUNCATED_HINT: &str = "the file was cut short (interrupted download or upload); fetch it again";
/// Hint for [`BodyErrorKind::OutputLimit`].
pub const OUTPUT_LIMIT_HINT: &str = "if the file is genuine, raise max_output_bytes in the configuration";
/// Hint for [`BodyErrorKind::RatioLimit`].
pub const RATIO_LIMIT_HINT: &str = "if the file is genuine, raise max_ratio in the configuration";

/// A body that could not be read to its end. Lines produced before it stay valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyError {
    kind: BodyErrorKind,
    message: String,
    hint: &'static str,
    decoded_bytes: u64,
}

impl BodyError {
    /// `{label} ({kind}) is corrupt after N decoded bytes: {detail}` — v1's wording.
    pub(crate) fn corrupt(label: &str, kind: Compression, decoded: u64, detail: &str) -> BodyError {
        BodyError {
            kind: BodyErrorKind::Corrupt,
            message: format!("{label} ({}) is corrupt after {decoded} decoded bytes: {detail}", kind.as_str()),
            hint: CORRUPT_HINT,
            decoded_bytes: decoded,
        }
    }

    /// `{label} ({kind}) is truncated after N decoded bytes` — v1's wording.
    pub(crate) fn truncated(label: &str, kind: Compression, decoded: u64) -> BodyError {
        BodyError {
            kind: BodyErrorKind::Truncated,
            message: format!("{label} ({}) is truncated after {decoded} decoded bytes", kind.as_str()),
            hint: TRUNCATED_HINT,
            decoded_bytes: decoded,
        }
    }

    pub(crate) fn output_limit(label: &str, kind: Compression, decoded: u64, max: u64) -> BodyError {
        BodyError {
            kind: BodyErrorKind::OutputLimit,
            message: format!(
                "{label} ({}) is a decompression bomb: output after {decoded} decoded bytes exceeds \
                 max_output_bytes ({max})",
                kind.as_str()
            ),
            hint: OUTPUT_LIMIT_HINT,
            decoded_bytes: decoded,
        }
    }

    /// `decoded` bytes were handed on; `total` (with the chunk that tripped the bound) came from
    /// `consumed` compressed bytes.
    pub(crate) fn ratio_limit(
        label: &str,
        kind: Compression,
        decoded: u64,
        total: u64,
        consumed: u64,
        max: u64,
    ) -> BodyError {
        BodyError {
            kind: BodyErrorKind::RatioLimit,
            message: format!(
                "{label} ({}) is a decompression bomb: {total} decoded bytes from {consumed} \
                 compressed bytes exceeds max_ratio ({max})",
                kind.as_str()
            ),
            hint: RATIO_LIMIT_HINT,
            decoded_bytes: decoded,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> BodyErrorKind {
        self.kind
    }

    /// The message without the hint (what, where, how far it got).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        self.hint
    }

    /// Decoded bytes produced (and handed on) before the fault.
    pub fn decoded_bytes(&self) -> u64 {
        self.decoded_bytes
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (hint: {})", self.message, self.hint)
    }
}

impl std::error::Error for BodyError {}
