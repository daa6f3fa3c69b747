//! One body, end to end: detect its compression, inflate it (bounded), take its MD5, split it
//! into lines — v1's `ImpervaFile._decompress` and `lines()` after the container header and the
//! decryption, which stay in Python (DESIGN §1).
//!
//! Pull-based so that a caller producing batches holds at most one input chunk, one 256 KiB
//! decoded chunk and one line head: push input, take lines until `None`, push more; after the
//! last input, [`BodyStream::finish`] and take the remaining lines; then read [`BodyEnd`].

use md5::{Digest, Md5};

use super::checksum::{hex, ChecksumStatus};
use super::compression::{detect_compression, Compression, DETECT_BYTES};
use super::error::BodyError;
use super::inflate::{Inflater, OUT_CHUNK};
use super::limits::Limits;
use super::lines::{Line, LineRef, LineSplitter};

/// What a body came to, once its last line has been taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyEnd {
    /// The first stream's compression (`None` for plain text and for an empty body).
    pub compression: Compression,
    /// Compressed streams inflated (0 for plain text).
    pub streams: u32,
    /// MD5 (lower-case hex) of every decoded byte — the whole body when `error` is `None`
    /// (FORMATS §1.6), else the bytes before the fault.
    pub md5: String,
    /// Decoded bytes.
    pub decoded_bytes: u64,
    /// Lines kept (ordinals handed out).
    pub lines: u64,
    /// Tolerated oddities, in v1's wording (bytes after the last stream ignored).
    pub warnings: Vec<String>,
    /// Why the body broke off, if it did: the file is then partial.
    pub error: Option<BodyError>,
}

impl BodyEnd {
    /// The body broke off: the lines before the fault are valid, the file is partial.
    pub fn is_partial(&self) -> bool {
        self.error.is_some()
    }

    /// The header's `checksum` against [`md5`](Self::md5) (v1's rule).
    pub fn checksum_status(&self, header_checksum: Option<&str>) -> ChecksumStatus {
        ChecksumStatus::judge(header_checksum, &self.md5, self.is_partial())
    }
}

enum Source {
    /// Holding the first bytes until there are enough to tell the compression.
    Detecting(Vec<u8>),
    /// Plain text: pushed bytes are the decoded bytes.
    Plain,
    Inflate(Box<Inflater>),
}

/// A decrypted body → its lines, [`BodyEnd`] at the end.
pub struct BodyStream {
    limits: Limits,
    source: Source,
    compression: Option<Compression>,
    /// The decoded chunk being split: `buf[pos..filled]` is still to split. When inflating,
    /// `buf` stays `OUT_CHUNK` long (allocated and zeroed once).
    buf: Vec<u8>,
    filled: usize,
    pos: usize,
    /// `None` when a first pass ([`super::BodyCheck`]) has taken the MD5 already.
    md5: Option<Md5>,
    decoded: u64,
    splitter: LineSplitter,
    input_done: bool,
    error: Option<BodyError>,
    end: Option<BodyEnd>,
}

impl BodyStream {
    /// A body read under `limits` (output bounds and `max_line_bytes`).
    pub fn new(limits: Limits) -> BodyStream {
        BodyStream {
            limits,
            source: Source::Detecting(Vec::new()),
            compression: None,
            buf: Vec::new(),
            filled: 0,
            pos: 0,
            md5: Some(Md5::new()),
            decoded: 0,
            splitter: LineSplitter::new(limits.max_line_bytes),
            input_done: false,
            error: None,
            end: None,
        }
    }

    /// No MD5 taken: a first pass ([`super::BodyCheck`]) has judged the checksum already, and the
    /// digest is a tenth of the work per event. [`BodyEnd::md5`] is then empty.
    pub fn without_digest(mut self) -> BodyStream {
        self.md5 = None;
        self
    }

    /// Consume the decoded bytes without splitting them into lines (a pass that wants only the
    /// body's MD5, size and fault); after [`finish`](Self::finish) this ends the body.
    pub fn skip(&mut self) {
        while self.end.is_none() {
            self.pos = self.filled;
            if self.refill() {
                continue;
            }
            if self.input_done || self.error.is_some() {
                self.close();
            }
            return;
        }
    }

    /// The next chunk of the (decrypted) body. Take lines until `None` before pushing more, to
    /// keep memory flat. Ignored after [`finish`](Self::finish) or a fault.
    pub fn push(&mut self, input: &[u8]) {
        if self.input_done || self.error.is_some() || input.is_empty() {
            return;
        }
        match &mut self.source {
            Source::Detecting(head) => {
                head.extend_from_slice(input);
                if head.len() >= DETECT_BYTES {
                    self.start();
                }
            }
            Source::Plain => self.take_plain(input),
            Source::Inflate(inflater) => inflater.push(input),
        }
    }

    /// No more input: the next [`next_line`](Self::next_line) calls hand out what is left, then
    /// [`end`](Self::end) is available.
    pub fn finish(&mut self) {
        if self.input_done {
            return;
        }
        self.input_done = true;
        if matches!(self.source, Source::Detecting(_)) {
            self.start();
        }
    }

    /// The next kept line. `None` means: push more input — or, after [`finish`](Self::finish),
    /// that the body is over and [`end`](Self::end) is set.
    pub fn next_line(&mut self) -> Option<Line<'_>> {
        let r = self.advance()?;
        Some(self.splitter.view(&self.buf[..self.filled], r))
    }

    /// The compression of the first stream, once enough bytes were pushed to tell.
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// Decoded bytes so far.
    pub fn decoded_bytes(&self) -> u64 {
        self.decoded
    }

    /// Lines kept so far.
    pub fn lines(&self) -> u64 {
        self.splitter.lines()
    }

    /// The outcome, once the last line has been taken.
    pub fn end(&self) -> Option<&BodyEnd> {
        self.end.as_ref()
    }

    /// Detects the compression from the held head and sends the head on.
    fn start(&mut self) {
        let Source::Detecting(head) = std::mem::replace(&mut self.source, Source::Plain) else {
            return;
        };
        let kind = detect_compression(&head[..head.len().min(DETECT_BYTES)]);
        self.compression = Some(kind);
        if kind == Compression::None {
            self.take_plain(&head);
        } else {
            let mut inflater = Box::new(Inflater::new(kind, self.limits));
            inflater.push(&head);
            self.buf = vec![0; OUT_CHUNK];
            self.filled = 0;
            self.pos = 0;
            self.source = Source::Inflate(inflater);
        }
    }

    fn take_plain(&mut self, input: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
        } else if self.pos > 0 {
            self.buf.drain(..self.pos);
        }
        self.pos = 0;
        self.buf.extend_from_slice(input);
        self.filled = self.buf.len();
        if let Some(md5) = &mut self.md5 {
            md5.update(input);
        }
        self.decoded += input.len() as u64;
    }

    /// Finds the next line without lending it (so the loop may refill `buf`).
    fn advance(&mut self) -> Option<LineRef> {
        loop {
            if self.end.is_some() {
                return None;
            }
            if self.pos < self.filled {
                if let Some(r) = self.splitter.scan(&self.buf[..self.filled], &mut self.pos) {
                    return Some(r);
                }
                continue;
            }
            if self.refill() {
                continue;
            }
            if !self.input_done && self.error.is_none() {
                return None;
            }
            let last = self.splitter.scan_end(self.error.is_some());
            self.close();
            return last;
        }
    }

    /// Puts the next decoded chunk in `buf`; false when there is none yet (or ever).
    fn refill(&mut self) -> bool {
        let Source::Inflate(inflater) = &mut self.source else {
            return false;
        };
        if self.error.is_some() {
            return false;
        }
        self.pos = 0;
        self.filled = 0;
        match inflater.inflate(&mut self.buf) {
            Ok(0) => {
                if self.input_done {
                    if let Err(e) = inflater.finish() {
                        self.error = Some(e);
                    }
                }
                false
            }
            Ok(n) => {
                self.filled = n;
                if let Some(md5) = &mut self.md5 {
                    md5.update(&self.buf[..n]);
                }
                self.decoded += n as u64;
                true
            }
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    fn close(&mut self) {
        let (streams, warnings) = match &mut self.source {
            Source::Inflate(inflater) => (inflater.streams(), inflater.take_warnings()),
            _ => (0, Vec::new()),
        };
        self.buf = Vec::new();
        self.filled = 0;
        self.pos = 0;
        self.end = Some(BodyEnd {
            compression: self.compression.unwrap_or(Compression::None),
            streams,
            md5: self.md5.as_ref().map(|md5| hex(&md5.clone().finalize())).unwrap_or_default(),
            decoded_bytes: self.decoded,
            lines: self.splitter.lines(),
            warnings,
            error: self.error.clone(),
        });
    }
}
