//! Decoded body bytes → lines, streaming across chunk boundaries (FORMATS §1.7, DESIGN §7).
//!
//! The rules are v1's `ImpervaFile.lines()`, because event ids hash the line ordinal and bytes
//! (DESIGN §2) and must not change:
//!
//! * lines end at `\n` only (never `splitlines()`: `\x0b`, `\x1c`, `\x85`… turn up in values); a
//!   lone `\r` is data; one `\r` before the `\n` is stripped;
//! * a line that is empty or only spaces/tabs is skipped: it counts in `line_no` and `offset` but
//!   takes no `ordinal`;
//! * `ordinal` is the 0-based index among the lines kept, `line_no` the 1-based index among all
//!   lines, `offset` the byte offset of the line's first byte in the decoded body;
//! * a line longer than `max_line_bytes` (counting a `\r` before its `\n`) keeps its first
//!   `max_line_bytes` bytes ([`Cut::Long`], with the full length and the SHA-256 of the whole line,
//!   `\r` included); memory stays at that head whatever the line's length;
//! * the last line may lack its `\n`; if the body broke off inside it, it is handed on
//!   unstripped as [`Cut::Broken`] so it is dead-lettered, never decoded as if whole.
//!
//! Lines that fit in one chunk are lent straight from it; only a line spanning chunks is copied.
//! Runs of empty lines are skipped without a search per line.

use memchr::memchr;
use sha2::{Digest, Sha256};

use super::checksum::hex;

/// Whether a line is whole, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The whole line.
    Whole,
    /// A line over `max_line_bytes`: `raw` is its head; `full_length` and `full_hash` (SHA-256,
    /// lower-case hex) describe the whole line before its `\n`, a `\r` included.
    Long { full_length: u64, full_hash: String },
    /// The body broke off (corrupt, truncated, bomb) inside this line: `raw` is what came.
    Broken,
}

/// One kept line, lent by the splitter until the next call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 0-based among kept (non-blank) lines: the event's line ordinal (DESIGN §2).
    pub ordinal: u64,
    /// 1-based among all lines of the decoded body, blank ones included.
    pub line_no: u64,
    /// Byte offset of the line's first byte in the decoded body.
    pub offset: u64,
    /// The line's bytes without `\n` and without one trailing `\r` (for [`Cut::Broken`], as it
    /// came); the head only for [`Cut::Long`].
    pub raw: &'a [u8],
    pub cut: Cut,
}

impl Line<'_> {
    /// v1's `BodyLine.full_length`: 0 for a whole line, the full length of a long one, -1 for a
    /// broken last line.
    pub fn full_length(&self) -> i64 {
        match &self.cut {
            Cut::Whole => 0,
            Cut::Long { full_length, .. } => i64::try_from(*full_length).unwrap_or(i64::MAX),
            Cut::Broken => -1,
        }
    }

    /// v1's `BodyLine.full_hash`: the SHA-256 hex of a long line, empty otherwise.
    pub fn full_hash(&self) -> &str {
        match &self.cut {
            Cut::Long { full_hash, .. } => full_hash,
            _ => "",
        }
    }
}

/// Where a found line's bytes are: in the chunk being split, or in the splitter's carry.
#[derive(Clone, Copy, Debug)]
enum Src {
    Chunk(usize, usize),
    Carry(usize),
}

/// A found line without a borrow, so a driver can loop (refill, split) and only lend the line
/// once it returns it. [`LineSplitter::view`] turns it into a [`Line`].
#[derive(Clone, Debug)]
pub(crate) struct LineRef {
    ordinal: u64,
    line_no: u64,
    offset: u64,
    src: Src,
    cut: Cut,
}

/// Splits a decoded body into [`Line`]s, fed chunk by chunk.
///
/// For each decoded chunk call [`next_line`](Self::next_line) with a position starting at 0 until
/// it returns `None` (the rest of the chunk is carried into the next); at the end of the body
/// call [`finish`](Self::finish) once for the last, unterminated line.
pub struct LineSplitter {
    max: usize,
    /// The current line's bytes from earlier chunks (at most `max`: its head once it is long).
    carry: Vec<u8>,
    /// Set once the current line passed `max`: the hash of all of it so far, and its length.
    cut: Option<(Sha256, u64)>,
    /// The carry was lent out as the last line: clear it at the next call.
    clear_carry: bool,
    ordinal: u64,
    line_no: u64,
    offset: u64,
    finished: bool,
}

impl LineSplitter {
    /// A splitter keeping at most `max_line_bytes` of any line.
    pub fn new(max_line_bytes: usize) -> LineSplitter {
        LineSplitter {
            max: max_line_bytes,
            carry: Vec::new(),
            cut: None,
            clear_carry: false,
            ordinal: 0,
            line_no: 0,
            offset: 0,
            finished: false,
        }
    }

    /// The next kept line completed in `chunk[*pos..]`, advancing `*pos` past it; `None` once the
    /// chunk is used up (its unterminated tail is carried over).
    pub fn next_line<'a>(&'a mut self, chunk: &'a [u8], pos: &mut usize) -> Option<Line<'a>> {
        let r = self.scan(chunk, pos)?;
        Some(self.view(chunk, r))
    }

    /// Every kept line completed in `chunk`, to `f` (a convenience over
    /// [`next_line`](Self::next_line)).
    pub fn for_each_line(&mut self, chunk: &[u8], mut f: impl FnMut(Line<'_>)) {
        let mut pos = 0;
        while let Some(line) = self.next_line(chunk, &mut pos) {
            f(line);
        }
    }

    /// The body has ended: the last line if it had no `\n` and is not blank. `broken` says the
    /// body broke off (a fault), which hands the partial line on as [`Cut::Broken`], blank or not.
    /// Later calls return `None`.
    pub fn finish(&mut self, broken: bool) -> Option<Line<'_>> {
        let r = self.scan_end(broken)?;
        Some(self.view(&[], r))
    }

    /// Lines kept so far (the next ordinal).
    pub fn lines(&self) -> u64 {
        self.ordinal
    }

    /// Lines seen so far, blank ones included.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Bytes of the body behind the lines seen so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The line-length bound.
    pub fn max_line_bytes(&self) -> usize {
        self.max
    }

    pub(crate) fn scan(&mut self, chunk: &[u8], pos: &mut usize) -> Option<LineRef> {
        if self.clear_carry {
            self.carry.clear();
            self.clear_carry = false;
        }
        if self.finished {
            *pos = chunk.len();
            return None;
        }
        while *pos < chunk.len() {
            let rest = &chunk[*pos..];
            let fresh = self.carry.is_empty() && self.cut.is_none();
            if fresh {
                // A run of empty lines: no search, no line, just counts.
                let run = newline_run(rest);
                if run > 0 {
                    self.line_no += run as u64;
                    self.offset += run as u64;
                    *pos += run;
                    continue;
                }
            }
            let Some(i) = memchr(b'\n', rest) else {
                self.absorb(rest);
                *pos = chunk.len();
                return None;
            };
            let (start, end) = (*pos, *pos + i);
            *pos = end + 1;
            self.line_no += 1;
            let line_offset = self.offset;
            if fresh && i <= self.max {
                // The common case: the whole line is in this chunk; lend it from there.
                self.offset += i as u64 + 1;
                let raw = strip_cr(&chunk[start..end]);
                if is_blank(raw) {
                    continue;
                }
                return Some(self.found(line_offset, Src::Chunk(start, start + raw.len()), Cut::Whole));
            }
            self.absorb(&chunk[start..end]);
            let (full, cut) = self.take_cut();
            self.offset += full + 1;
            let len = strip_cr(&self.carry).len();
            if is_blank(&self.carry[..len]) {
                self.carry.clear();
                continue;
            }
            self.clear_carry = true;
            return Some(self.found(line_offset, Src::Carry(len), cut));
        }
        None
    }

    pub(crate) fn scan_end(&mut self, broken: bool) -> Option<LineRef> {
        if self.clear_carry {
            self.carry.clear();
            self.clear_carry = false;
        }
        if self.finished {
            return None;
        }
        self.finished = true;
        if self.carry.is_empty() && self.cut.is_none() {
            return None;
        }
        self.line_no += 1;
        let line_offset = self.offset;
        let (full, cut) = self.take_cut();
        self.offset += full;
        self.clear_carry = true;
        if broken {
            // v1: the partial line as it came (no `\r` strip, no blank test, no hash).
            return Some(self.found(line_offset, Src::Carry(self.carry.len()), Cut::Broken));
        }
        let len = strip_cr(&self.carry).len();
        if is_blank(&self.carry[..len]) {
            return None;
        }
        Some(self.found(line_offset, Src::Carry(len), cut))
    }

    pub(crate) fn view<'a>(&'a self, chunk: &'a [u8], r: LineRef) -> Line<'a> {
        let raw = match r.src {
            Src::Chunk(start, end) => &chunk[start..end],
            Src::Carry(len) => &self.carry[..len],
        };
        Line { ordinal: r.ordinal, line_no: r.line_no, offset: r.offset, raw, cut: r.cut }
    }

    fn found(&mut self, offset: u64, src: Src, cut: Cut) -> LineRef {
        let r = LineRef { ordinal: self.ordinal, line_no: self.line_no, offset, src, cut };
        self.ordinal += 1;
        r
    }

    /// Adds `piece` to the current line: to the carry while it fits, to the hash once it is long
    /// (the carry then keeps exactly the first `max` bytes).
    fn absorb(&mut self, piece: &[u8]) {
        if let Some((hash, len)) = &mut self.cut {
            hash.update(piece);
            *len += piece.len() as u64;
        } else if self.carry.len() + piece.len() > self.max {
            let mut hash = Sha256::new();
            hash.update(&self.carry);
            hash.update(piece);
            let len = (self.carry.len() + piece.len()) as u64;
            let take = self.max.saturating_sub(self.carry.len());
            self.carry.extend_from_slice(&piece[..take]);
            self.cut = Some((hash, len));
        } else {
            self.carry.extend_from_slice(piece);
        }
    }

    /// The current line's full length and cut, ending its hash if it was long.
    fn take_cut(&mut self) -> (u64, Cut) {
        match self.cut.take() {
            Some((hash, full_length)) => (full_length, Cut::Long { full_length, full_hash: hex(&hash.finalize()) }),
            None => (self.carry.len() as u64, Cut::Whole),
        }
    }
}

/// How many `\n` start `bytes`, compared a block at a time (a body can be megabytes of them).
fn newline_run(bytes: &[u8]) -> usize {
    const BLOCK: [u8; 32] = [b'\n'; 32];
    let whole = bytes.chunks_exact(BLOCK.len()).take_while(|block| *block == BLOCK).count() * BLOCK.len();
    whole + bytes[whole..].iter().position(|&b| b != b'\n').unwrap_or(bytes.len() - whole)
}

/// `raw` without one trailing `\r`.
fn strip_cr(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// Empty or only spaces and tabs (v1: `raw.strip(b" \t") == b""`).
fn is_blank(raw: &[u8]) -> bool {
    raw.iter().all(|&b| b == b' ' || b == b'\t')
}
