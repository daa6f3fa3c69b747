//! Per-file bounds on what a body may cost (DESIGN §7: "decompression bomb: bounded").
//!
//! A few hundred kilobytes of zlib can inflate to gigabytes (newlines compress about 1032:1), so
//! the inflater counts what it produces and stops at either bound with its own error kind — a
//! bomb is neither an out-of-memory nor a corrupt file, and a genuine file that trips a bound is
//! fixed by raising it in the configuration.

/// The bounds one body is read under. `Limits::default()` gives the documented defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most decoded bytes one file may produce, all concatenated streams together (4 GiB).
    /// Output stops exactly at this many bytes: one more is a bomb.
    pub max_output_bytes: u64,
    /// Most decoded bytes per compressed byte consumed so far (1000). Checked only once the
    /// output has passed [`RATIO_FLOOR`], so small, very repetitive files still pass, while a
    /// 200 KB body of newlines that would inflate to 200 MB stops at the floor.
    pub max_ratio: u64,
    /// Longest line kept whole (1 MiB); a longer line keeps this many bytes of its head and
    /// records its full length and SHA-256 (DESIGN §7). Expected ≥ 1 (the config allows ≥ 1024).
    pub max_line_bytes: usize,
}

/// Default [`Limits::max_output_bytes`]: 4 GiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 4 << 30;
/// Default [`Limits::max_ratio`].
pub const DEFAULT_MAX_RATIO: u64 = 1000;
/// Default [`Limits::max_line_bytes`]: 1 MiB, as v1's `pipeline.max_line_bytes`.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;
/// Output below this size is never judged by its ratio (64 MiB): the ratio of a small body says
/// nothing about harm, and a stream's first kilobytes of header and dictionary skew it.
pub const RATIO_FLOOR: u64 = 64 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

impl Limits {
    /// How many more bytes may be produced after `produced` (0 at the cap).
    pub(crate) fn room(&self, produced: u64) -> u64 {
        self.max_output_bytes.saturating_sub(produced)
    }

    /// True when `produced` decoded bytes from `consumed` compressed bytes break the ratio
    /// bound (only past [`RATIO_FLOOR`]).
    pub(crate) fn ratio_exceeded(&self, produced: u64, consumed: u64) -> bool {
        produced > RATIO_FLOOR && u128::from(produced) > u128::from(self.max_ratio) * u128::from(consumed)
    }
}
