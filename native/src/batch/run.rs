//! The per-line rules of DESIGN §7 over one body, in version 1's order (`FileReader.items` and
//! `LineRun.run`): resume after the acknowledged ordinal, dead-letter a line cut by a fault,
//! dead-letter a line that does not decode, skip directives (W3C `#` lines, which update the
//! decoder and the file's directives), map every event line and give it its id.

use std::mem;

use arrow_schema::ArrowError;

use super::gather::{Batch, Gathered};
use crate::batch::context::replay_context;
use crate::batch::documents::Documents;
use crate::batch::Problem;
use crate::body::{BodyEnd, BodyStream, ChecksumStatus, Cut, Limits, Line};
use crate::decode::detect::{detect_format, make_decoder, FileDecoder};
use crate::decode::Format;
use crate::document::Row;
use crate::ids::{event_id, headerless_identity};
use crate::mapping::{map_line_into, Counters, FileContext, LineFacts, UserAgents};

/// Lines looked at to recognise a file that is not an Imperva log: the first line with a
/// CEF/LEEF/W3C marker must come within this many lines, and when the format was only guessed
/// from content, one of the first this many lines must decode.
pub const PROBE_LINES: usize = 64;

const CUT_LINE_REASON: &str = "the last line was cut short by the container fault below";
const CUT_LINE_HINT: &str = "fetch the complete file again, then replay the dead letters";

/// How a file is read.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The format, when the header or the caller names it; `None` detects it from the content.
    pub format: Option<Format>,
    /// The container header (for W3C columns, and in each problem's replay context).
    pub header: Vec<(String, String)>,
    /// The file identity from the header (DESIGN §2); `None` for a headerless file, whose identity
    /// is the digest of its first event line.
    pub identity: Option<[u8; 16]>,
    /// Lines before this ordinal are already acknowledged: skipped (W3C directives still read).
    pub start_ordinal: u64,
    /// Rows per batch.
    pub batch_rows: usize,
    /// The JSON documents rendered beside the rows, if any.
    pub documents: Documents,
    pub limits: Limits,
}

/// The file is not an Imperva log: the reader stopped at once. `first_line` is the head of its
/// first line (the caller words the one message for the file from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotImperva {
    pub why: String,
    pub first_line: Option<Vec<u8>>,
}

/// A line kept while the format is not yet known.
struct Held {
    ordinal: u64,
    line_no: u64,
    offset: u64,
    raw: Vec<u8>,
    cut: Cut,
}

impl Held {
    fn of(line: &Line<'_>) -> Held {
        Held { ordinal: line.ordinal, line_no: line.line_no, offset: line.offset, raw: line.raw.to_vec(), cut: line.cut.clone() }
    }

    fn line(&self) -> Line<'_> {
        Line { ordinal: self.ordinal, line_no: self.line_no, offset: self.offset, raw: &self.raw, cut: self.cut.clone() }
    }
}

/// What one line came to. An event's row is the run's one row ([`FileRun::row`]) unless it is
/// held while a guessed format proves itself.
enum Item {
    Event(String, Option<Box<Row>>),
    Problem(Problem),
}

/// One body being read. Push its decrypted bytes with [`FileRun::push`], then call
/// [`FileRun::finish`]; both return the batches completed meanwhile.
pub struct FileRun {
    opts: RunOptions,
    ctx: FileContext,
    body: BodyStream,
    decoder: Option<FileDecoder>,
    identity: Option<[u8; 16]>,
    /// The format came from the header or the caller (not guessed from content).
    declared: bool,
    /// Lines read before the format was known.
    probe: Vec<Held>,
    /// Results held while a guessed format proves itself: released at the first event.
    proving: Option<(Vec<Item>, usize)>,
    not_imperva: Option<NotImperva>,
    first_line: Option<Vec<u8>>,
    /// The row every event is mapped into (cleared per event).
    row: Row,
    /// The batch being gathered, and those cut.
    gathered: Gathered,
    pub counters: Counters,
    end: Option<BodyEnd>,
    /// [`FileRun::finish`] has cut the last batch.
    finished: bool,
}

impl FileRun {
    /// A run over one body of the file `ctx` describes.
    pub fn new(mut ctx: FileContext, opts: RunOptions) -> FileRun {
        let decoder = opts.format.map(|f| make_decoder(f, &opts.header));
        if let Some(identity) = &opts.identity {
            ctx.set_identity(identity);
        }
        // With a first pass's verdict the MD5 is taken: this read skips it.
        let body = BodyStream::new(opts.limits);
        let body = if ctx.verdict().is_some() { body.without_digest() } else { body };
        let gathered = Gathered::new(opts.documents, opts.batch_rows, opts.start_ordinal);
        FileRun {
            body,
            declared: opts.format.is_some(),
            identity: opts.identity,
            decoder,
            ctx,
            opts,
            probe: Vec::new(),
            proving: None,
            not_imperva: None,
            first_line: None,
            row: Row::new(),
            gathered,
            counters: Counters::default(),
            end: None,
            finished: false,
        }
    }

    /// The format in use (declared or detected), once known.
    pub fn format(&self) -> Option<Format> {
        self.decoder.as_ref().map(FileDecoder::format)
    }

    /// The file's identity (for a headerless file, known from its first event line on).
    pub fn identity(&self) -> Option<[u8; 16]> {
        self.identity
    }

    /// Set when the file turned out not to be an Imperva log (nothing more is read).
    pub fn not_imperva(&self) -> Option<&NotImperva> {
        self.not_imperva.as_ref()
    }

    /// What the body came to, after [`FileRun::finish`].
    pub fn end(&self) -> Option<&BodyEnd> {
        self.end.as_ref()
    }

    /// The header's `checksum` against the decoded body's MD5 (FORMATS §1.6), after
    /// [`FileRun::finish`].
    pub fn checksum_status(&self) -> Option<ChecksumStatus> {
        if let Some(verdict) = self.ctx.verdict() {
            return Some(verdict.checksum);
        }
        let header = self.opts.header.iter().rev().find(|(name, _)| name == "checksum").map(|(_, v)| v.as_str());
        self.end.as_ref().map(|end| end.checksum_status(header))
    }

    /// The W3C decoder's state (columns, directives), for a W3C file.
    pub fn decoder(&self) -> Option<&FileDecoder> {
        self.decoder.as_ref()
    }

    /// Feed decrypted body bytes; returns the first batch completed, if any. Reading stops there, so
    /// that memory stays flat however far the chunk inflates (1000:1 is allowed): call again with
    /// an empty chunk until nothing comes back, then push the next chunk.
    pub fn push(&mut self, chunk: &[u8], ua: &mut dyn UserAgents) -> Result<Vec<Batch>, ArrowError> {
        if self.not_imperva.is_none() {
            self.body.push(chunk);
            self.drain(ua)?;
        }
        Ok(self.gathered.take_ready())
    }

    /// The body is complete: read what is left. Like [`FileRun::push`] it returns at the first
    /// batch completed; call it again until [`FileRun::is_finished`]. The call that finishes returns
    /// the final batch last (it may be empty: it still carries the resume point and the problems).
    pub fn finish(&mut self, ua: &mut dyn UserAgents) -> Result<Vec<Batch>, ArrowError> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.body.finish();
        if self.not_imperva.is_none() {
            self.drain(ua)?;
            if self.gathered.has_ready() {
                return Ok(self.gathered.take_ready());
            }
            if self.decoder.is_none() && !self.probe.is_empty() {
                let n = self.probe.len();
                self.reject(format!("none of its first {n} line(s) is CEF, LEEF or W3C"));
            }
            if self.not_imperva.is_none() {
                if let Some((held, failed)) = self.proving.take() {
                    if failed > 0 && !held.iter().any(|i| matches!(i, Item::Event(..))) {
                        self.reject_unproven(failed);
                    } else {
                        for item in held {
                            self.emit(item)?;
                        }
                    }
                }
            }
        }
        self.end = self.body.end().cloned();
        if self.not_imperva.is_none() {
            self.gathered.cut()?;
        }
        self.finished = true;
        Ok(self.gathered.take_ready())
    }

    /// Problems per kind (`decode`, `cut_line`) so far.
    pub fn problem_counts(&self) -> &[(&'static str, u64)] {
        &self.gathered.problem_counts
    }

    /// [`FileRun::finish`] has returned the final batch.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// A whole body held in memory, pushed in `chunk`-byte pieces: every batch (tests, fuzzing).
    pub fn read_all(&mut self, body: &[u8], chunk: usize, ua: &mut dyn UserAgents) -> Result<Vec<Batch>, ArrowError> {
        let mut out = Vec::new();
        for piece in body.chunks(chunk.max(1)) {
            let mut ready = self.push(piece, ua)?;
            while !ready.is_empty() {
                out.append(&mut ready);
                ready = self.push(&[], ua)?;
            }
        }
        while !self.finished {
            out.append(&mut self.finish(ua)?);
        }
        Ok(out)
    }

    /// Cut a batch now from what is gathered (rows or problems), e.g. when a time limit passed.
    pub fn flush_now(&mut self) -> Result<Vec<Batch>, ArrowError> {
        if self.proving.is_none() && self.gathered.any() {
            self.gathered.cut()?;
        }
        Ok(self.gathered.take_ready())
    }

    /// The decoder, for dead-letter replay to restore a W3C file's columns and directives.
    pub(super) fn decoder_mut(&mut self) -> Option<&mut FileDecoder> {
        self.decoder.as_mut()
    }

    /// One line of a file already read, as its read met it (dead-letter replay): its batch.
    pub(super) fn replay_line(&mut self, line: &Line<'_>, ua: &mut dyn UserAgents) -> Result<Batch, ArrowError> {
        self.line(line, ua)?;
        self.gathered.first_ordinal = line.ordinal;
        self.gathered.cut()?;
        Ok(self.gathered.take_ready().pop().expect("a batch was just cut"))
    }

    /// Lines until one batch is ready (or the input runs out).
    fn drain(&mut self, ua: &mut dyn UserAgents) -> Result<(), ArrowError> {
        // The body is taken out while its lines are read, so a line is mapped straight from the
        // body's buffer (borrowed) while the run changes; it is put back whatever happens.
        let placeholder = BodyStream::new(self.opts.limits);
        let mut body = mem::replace(&mut self.body, placeholder);
        let result = self.drain_body(&mut body, ua);
        self.body = body;
        result
    }

    fn drain_body(&mut self, body: &mut BodyStream, ua: &mut dyn UserAgents) -> Result<(), ArrowError> {
        while self.not_imperva.is_none() && !self.gathered.has_ready() {
            let Some(line) = body.next_line() else { break };
            if self.first_line.is_none() {
                self.first_line = Some(line.raw[..line.raw.len().min(512)].to_vec());
            }
            if self.decoder.is_some() {
                self.line(&line, ua)?;
                continue;
            }
            // Kept (owned) while the format is not known.
            let held = Held::of(&line);
            let head = String::from_utf8_lossy(&held.raw[..held.raw.len().min(512)]).into_owned();
            self.probe.push(held);
            if let Some(format) = detect_format(&[], Some(&head)) {
                self.decoder = Some(make_decoder(format, &self.opts.header));
                if !self.declared && self.opts.start_ordinal == 0 {
                    self.proving = Some((Vec::new(), 0));
                }
                for held in mem::take(&mut self.probe) {
                    self.line(&held.line(), ua)?;
                }
            } else if self.probe.len() >= PROBE_LINES {
                self.reject(format!("none of its first {PROBE_LINES} line(s) is CEF, LEEF or W3C"));
            }
        }
        Ok(())
    }

    fn reject(&mut self, why: String) {
        self.not_imperva = Some(NotImperva { why, first_line: self.first_line.clone() });
        self.probe.clear();
    }

    fn reject_unproven(&mut self, failed: usize) {
        let format = self.format().map_or("", |f| f.as_str()).to_ascii_uppercase();
        self.reject(format!("none of its first {failed} {format}-like line(s) decodes"));
        self.gathered.problem_counts.retain(|(kind, _)| *kind != "decode");
        self.counters = Counters::default();
    }

    /// One body line, once the decoder is known.
    fn line(&mut self, line: &Line<'_>, ua: &mut dyn UserAgents) -> Result<(), ArrowError> {
        let decoder = self.decoder.as_mut().expect("a decoder once the format is known");
        if line.ordinal < self.opts.start_ordinal {
            if line.raw.first() == Some(&b'#') {
                if let FileDecoder::W3c(_) = decoder {
                    let _ = decoder.decode(&String::from_utf8_lossy(line.raw));
                }
            }
            return Ok(());
        }
        if matches!(line.cut, Cut::Broken) {
            let p = self.problem("cut_line", CUT_LINE_REASON.to_owned(), CUT_LINE_HINT.to_owned(), 0, line);
            return self.item(Item::Problem(p));
        }
        let (text, non_utf8) = match std::str::from_utf8(line.raw) {
            Ok(text) => (std::borrow::Cow::Borrowed(text), false),
            Err(_) => (String::from_utf8_lossy(line.raw), true),
        };
        let mut rec = match decoder.decode(&text) {
            Ok(Some(rec)) => rec,
            Ok(None) => return Ok(()), // a directive: the decoder keeps what it says
            Err(err) => {
                let p = self.problem("decode", err.reason, err.hint.unwrap_or_default(), err.column, line);
                return self.item(Item::Problem(p));
            }
        };
        let identity = match self.identity {
            Some(identity) => identity,
            None => {
                let identity = headerless_identity(line.raw);
                self.identity = Some(identity);
                self.ctx.set_identity(&identity);
                identity
            }
        };
        let facts = LineFacts::from_line(line, non_utf8);
        map_line_into(&mut rec, &self.ctx, &facts, &text, ua, &mut self.counters, &mut self.row);
        let id = if facts.full_hash.is_empty() {
            event_id(&identity, line.ordinal, line.raw)
        } else {
            let mut bytes = Vec::with_capacity(line.raw.len() + facts.full_hash.len());
            bytes.extend_from_slice(line.raw);
            bytes.extend_from_slice(facts.full_hash.as_bytes());
            event_id(&identity, line.ordinal, &bytes)
        };
        self.item(Item::Event(id, None))
    }

    /// An item, or held while a guessed format proves itself.
    fn item(&mut self, item: Item) -> Result<(), ArrowError> {
        if let Some((held, failed)) = self.proving.as_mut() {
            let item = match item {
                Item::Event(id, None) => Item::Event(id, Some(Box::new(self.row.clone()))),
                item => item,
            };
            let is_event = matches!(item, Item::Event(..));
            if matches!(&item, Item::Problem(p) if p.kind == "decode") {
                *failed += 1;
            }
            held.push(item);
            if is_event {
                let (held, _) = self.proving.take().expect("proving");
                for item in held {
                    self.emit(item)?;
                }
            } else if *failed >= PROBE_LINES {
                let failed = *failed;
                self.proving = None;
                self.reject_unproven(failed);
            }
            return Ok(());
        }
        self.emit(item)
    }

    fn emit(&mut self, item: Item) -> Result<(), ArrowError> {
        match item {
            Item::Event(id, held) => {
                let row = held.as_deref().unwrap_or(&self.row);
                self.gathered.event(&id, row)?;
            }
            Item::Problem(p) => self.gathered.problem(p),
        }
        Ok(())
    }

    fn problem(&self, kind: &'static str, reason: String, hint: String, column: usize, line: &Line<'_>) -> Problem {
        Problem {
            kind,
            reason,
            hint,
            line: line.line_no,
            offset: line.offset,
            column,
            ordinal: line.ordinal,
            raw: line.raw.to_vec(),
            context: replay_context(&self.ctx, self.identity, self.decoder.as_ref(), line),
        }
    }
}
