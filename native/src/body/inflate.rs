//! A streaming inflater over a decrypted, still compressed body (FORMATS §1.4), with bounded
//! output (DESIGN §7).
//!
//! It inflates a first stream of a known kind, then every zlib or gzip stream concatenated after
//! it (`unused_data` in v1), exactly as `wafpipe.imperva.compression.inflate_streams`: bytes after
//! the last stream that start no such stream — AES padding, junk — are ignored with a warning,
//! not an error. Input is fed in chunks of any size ([`Inflater::push`]) and output is pulled into
//! a caller's buffer ([`Inflater::inflate`]), so a 1000:1 stream never needs more memory than one
//! input chunk and one output buffer; the caller decides when to pull, which is the back pressure
//! a batch-producing decoder needs.
//!
//! Differences from v1, on purpose: a corrupt stream is reported as corrupt (not "truncated"),
//! the output decoded before the invalid data is handed on rather than dropped with the failing
//! call, and output is bounded by [`Limits`].

use flate2::{Decompress, FlushDecompress, Status};

use super::compression::{detect_compression, Compression, DETECT_BYTES};
use super::error::BodyError;
use super::limits::Limits;

/// Size of the output buffer the body stream pulls into (as v1's `OUT_CHUNK`).
pub const OUT_CHUNK: usize = 256 * 1024;

/// Where the inflater is between calls.
enum State {
    /// Inside a stream; `fed` is whether it has been given any byte (v1 reports a stream that
    /// never saw input as nothing, not as truncated).
    Stream { d: Box<Decompress>, fed: bool },
    /// A stream ended; what follows decides whether another starts.
    Between,
    /// Trailing bytes that start no stream were found: everything from here on is dropped.
    Ignoring,
    /// A fault was reported; it is reported again on every later call.
    Failed(BodyError),
}

/// Inflates one body: a first stream of a given kind and the zlib/gzip streams after it.
///
/// Drive it as: [`push`](Self::push) a chunk of input; call [`inflate`](Self::inflate) until it
/// returns `Ok(0)` (it wants more input); repeat; at the end of the input call
/// [`finish`](Self::finish), which reports a stream cut short. Any `Err` is final: lines made
/// from the output already returned stay valid.
pub struct Inflater {
    label: String,
    follow: Vec<Compression>,
    limits: Limits,
    kind: Compression,
    first: Compression,
    state: State,
    input: Vec<u8>,
    pos: usize,
    produced: u64,
    consumed: u64,
    streams: u32,
    warnings: Vec<String>,
    /// A fault found in a call that also produced output: the output is returned first, the
    /// fault on the next call.
    deferred: Option<BodyError>,
}

impl Inflater {
    /// An inflater for the body of an Imperva file whose first stream is `kind` (as detected by
    /// [`detect_compression`]); zlib and gzip streams may follow. Messages name it `body`.
    ///
    /// `kind` must be a compressed kind; `Compression::None` is treated as raw deflate.
    pub fn new(kind: Compression, limits: Limits) -> Inflater {
        Inflater::with_options(kind, "body", &[Compression::Zlib, Compression::Gzip], limits)
    }

    /// As [`new`](Self::new), with the label used in messages (v1 used `outer gzip layer` for a
    /// gzip-wrapped file) and the kinds of stream that may follow the first (v1: only gzip after
    /// an outer gzip member).
    pub fn with_options(kind: Compression, label: &str, follow: &[Compression], limits: Limits) -> Inflater {
        Inflater {
            label: label.to_owned(),
            follow: follow.to_vec(),
            limits,
            kind,
            first: kind,
            state: State::Stream { d: Box::new(decompressor(kind)), fed: false },
            input: Vec::new(),
            pos: 0,
            produced: 0,
            consumed: 0,
            streams: 1,
            warnings: Vec::new(),
            deferred: None,
        }
    }

    /// Hands over the next chunk of compressed input. It is copied (after what is still
    /// unconsumed), so pull with [`inflate`](Self::inflate) until `Ok(0)` before pushing more to
    /// keep memory at one chunk. Ignored once trailing junk was found or a fault was reported.
    pub fn push(&mut self, input: &[u8]) {
        if matches!(self.state, State::Ignoring | State::Failed(_)) || input.is_empty() {
            return;
        }
        if self.pos == self.input.len() {
            self.input.clear();
        } else if self.pos > 0 {
            self.input.drain(..self.pos);
        }
        self.pos = 0;
        self.input.extend_from_slice(input);
        if let State::Stream { fed, .. } = &mut self.state {
            *fed = true;
        }
    }

    /// Inflates into `out` and returns how many bytes were written: `Ok(0)` means every byte
    /// pushed so far is consumed (push more, or [`finish`](Self::finish)). Never writes past the
    /// output bound: the byte that would pass it is a bomb error instead. (An empty `out` gives
    /// `Ok(0)` too; use a buffer such as [`OUT_CHUNK`] bytes.)
    pub fn inflate(&mut self, out: &mut [u8]) -> Result<usize, BodyError> {
        if let Some(e) = self.deferred.take() {
            self.state = State::Failed(e.clone());
            return Err(e);
        }
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Ignoring => return Ok(0),
                State::Between => {
                    if !self.next_stream() {
                        return Ok(0);
                    }
                }
                State::Stream { d, .. } => {
                    // At the cap, ask for one byte: producing it is the bomb, StreamEnd is fine.
                    let room = self.limits.room(self.produced).min(out.len() as u64).max(1) as usize;
                    let (in0, out0) = (d.total_in(), d.total_out());
                    let res = d.decompress(&self.input[self.pos..], &mut out[..room], FlushDecompress::None);
                    let used = (d.total_in() - in0) as usize;
                    let n = (d.total_out() - out0) as usize;
                    self.pos += used;
                    self.consumed += used as u64;
                    if n > 0 {
                        self.check_bounds(n)?;
                        self.produced += n as u64;
                    }
                    match res {
                        Err(e) => {
                            let err = BodyError::corrupt(&self.label, self.kind, self.produced, &detail(&e));
                            if n > 0 {
                                self.deferred = Some(err);
                                return Ok(n);
                            }
                            self.state = State::Failed(err.clone());
                            return Err(err);
                        }
                        Ok(Status::StreamEnd) => self.state = State::Between,
                        Ok(Status::Ok | Status::BufError) => {
                            if n == 0 && used == 0 {
                                return Ok(0);
                            }
                        }
                    }
                    if n > 0 {
                        return Ok(n);
                    }
                }
            }
        }
    }

    /// The input has ended. Reports a stream cut before its end marker
    /// ([`Truncated`](super::BodyErrorKind::Truncated)), or a fault already reported; warns
    /// about a single byte left after the last stream (v1's wording). Call it once
    /// [`inflate`](Self::inflate) has returned `Ok(0)`.
    pub fn finish(&mut self) -> Result<(), BodyError> {
        if let Some(e) = self.deferred.take() {
            self.state = State::Failed(e);
        }
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            State::Stream { fed: true, .. } => {
                let err = BodyError::truncated(&self.label, self.kind, self.produced);
                self.state = State::Failed(err.clone());
                Err(err)
            }
            State::Between => {
                let left = self.input.len() - self.pos;
                if left > 0 {
                    self.warnings.push(format!(
                        "{}: {left} byte(s) after the last {} stream ignored",
                        self.label,
                        self.kind.as_str()
                    ));
                    self.pos = self.input.len();
                }
                Ok(())
            }
            State::Stream { fed: false, .. } | State::Ignoring => Ok(()),
        }
    }

    /// The kind of the first stream.
    pub fn first_kind(&self) -> Compression {
        self.first
    }

    /// The kind of the current (or last) stream.
    pub fn kind(&self) -> Compression {
        self.kind
    }

    /// Streams started so far (1 for a single stream).
    pub fn streams(&self) -> u32 {
        self.streams
    }

    /// Decoded bytes produced so far.
    pub fn decoded_bytes(&self) -> u64 {
        self.produced
    }

    /// Compressed bytes consumed by the streams so far (trailing ignored bytes not counted).
    pub fn consumed_bytes(&self) -> u64 {
        self.consumed
    }

    /// Warnings so far (ignored trailing bytes), in v1's wording.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Takes the warnings out (for a caller that collects them per file).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// After a stream's end: start the next stream if the bytes there begin one; ignore them with
    /// a warning if they do not. False when it needs more input (fewer than 2 bytes) or ignored.
    fn next_stream(&mut self) -> bool {
        let rest = &self.input[self.pos..];
        if rest.len() < 2 {
            return false;
        }
        let next = detect_compression(&rest[..rest.len().min(DETECT_BYTES)]);
        if self.follow.contains(&next) && next != Compression::None {
            self.kind = next;
            self.streams += 1;
            self.state = State::Stream { d: Box::new(decompressor(next)), fed: true };
            return true;
        }
        self.warnings.push(format!("{}: bytes after the last {} stream ignored", self.label, self.kind.as_str()));
        self.state = State::Ignoring;
        self.input = Vec::new();
        self.pos = 0;
        false
    }

    /// Errors if `n` more output bytes break a bound (checked before they are counted).
    fn check_bounds(&mut self, n: usize) -> Result<(), BodyError> {
        let total = self.produced + n as u64;
        let err = if total > self.limits.max_output_bytes {
            BodyError::output_limit(&self.label, self.kind, self.produced, self.limits.max_output_bytes)
        } else if self.limits.ratio_exceeded(total, self.consumed) {
            BodyError::ratio_limit(&self.label, self.kind, self.produced, total, self.consumed, self.limits.max_ratio)
        } else {
            return Ok(());
        };
        self.state = State::Failed(err.clone());
        Err(err)
    }
}

/// A fresh decompressor for one stream of `kind` (window 15, as v1's `wbits` 15 / 31 / -15).
fn decompressor(kind: Compression) -> Decompress {
    match kind {
        Compression::Zlib => Decompress::new(true),
        Compression::Gzip => Decompress::new_gzip(15),
        Compression::Deflate | Compression::None => Decompress::new(false),
    }
}

/// flate2's message without its generic prefix: `invalid block type`, `incorrect data check`…
///
/// When zlib-rs meets bad data in its fast inner loop it loses the reason and flate2 reports the
/// state it left (`repeated call with bad state`, measured on a body with one flipped byte, where
/// zlib says `invalid distance too far back`). That text would send a reader looking for a bug in
/// the caller, so it is reported as what it is: invalid compressed data.
fn detail(e: &flate2::DecompressError) -> String {
    let text = e.to_string();
    let detail = text.strip_prefix("deflate decompression error: ").unwrap_or(&text);
    if detail == "repeated call with bad state" {
        return "invalid compressed data".to_owned();
    }
    detail.to_owned()
}
