//! The body layer: a decrypted, still compressed Imperva body → decoded bytes (bounded) → lines
//! (FORMATS §1.4, §1.6, §1.7; DESIGN §1, §7).
//!
//! Python keeps the container header and the AES decryption (an audited library); everything
//! from the decrypted body on is here, with the exact rules of v1
//! (`wafpipe.imperva.compression`, `ImpervaFile.lines()`), because event ids hash line ordinals
//! and bytes (DESIGN §2). Every part streams: memory is one input chunk, one 256 KiB decoded
//! chunk and one line head (`max_line_bytes`), whatever the body's size.
//!
//! * [`compression`] — [`detect_compression`]: zlib / gzip / raw deflate / plain, by content.
//! * [`inflate`] — [`Inflater`]: every concatenated stream, bounded by [`Limits`]; faults named
//!   corrupt, truncated or decompression bomb ([`BodyError`]).
//! * [`lines`] — [`LineSplitter`]: `\n`-only lines with v1's ordinals, offsets and long-line cut.
//! * [`checksum`] — [`ChecksumStatus`]: the header's MD5 against the decoded body.
//! * [`stream`] — [`BodyStream`]: all of the above for one body, pull-based, ending in a
//!   [`BodyEnd`] (compression, MD5, counts, warnings, fault).

pub mod check;
pub mod checksum;
pub mod compression;
mod error;
pub mod inflate;
mod limits;
pub mod lines;
pub mod stream;

pub use check::{BodyCheck, FileVerdict};
pub use checksum::ChecksumStatus;
pub(crate) use checksum::hex;
pub use compression::{detect_compression, Compression, DETECT_BYTES};
pub use error::{BodyError, BodyErrorKind, CORRUPT_HINT, OUTPUT_LIMIT_HINT, RATIO_LIMIT_HINT, TRUNCATED_HINT};
pub use inflate::{Inflater, OUT_CHUNK};
pub use limits::{Limits, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_RATIO, RATIO_FLOOR};
pub use lines::{Cut, Line, LineSplitter};
pub use stream::{BodyEnd, BodyStream};
