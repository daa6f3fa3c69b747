//! The JSON a run renders beside the Arrow rows, or instead of them for `wafpipe parse`.

use std::mem;

use crate::document::{json, Row};

/// Which JSON documents a run renders beside the Arrow rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Documents {
    /// None: the rows are all (a collector whose sinks store rows).
    None,
    /// One document per row (the sinks that send documents, dead-letter replay).
    Each,
    /// One NDJSON text per batch: each row's document with its `_id` spliced in front, a line
    /// each (`wafpipe parse`, which writes nothing else), and no Arrow columns: the batch's
    /// `rows` are empty. Written straight into one buffer, ~3.6 KB per CEF event no longer goes
    /// through a `bytes` object per document and a second pass that joins them, nor into columns
    /// nobody reads (together a fifth of `wafpipe parse`'s time).
    Ndjson,
}

impl Documents {
    /// Whether the rows also go into Arrow columns (not for NDJSON lines, whose reader reads none).
    pub fn with_columns(self) -> bool {
        self != Documents::Ndjson
    }
}

/// The NDJSON text at which a batch is cut whatever its rows (`wafpipe parse`). A CEF event's line
/// is ~3.6 KB, so 8192 rows made ~29 MB per batch: a fresh allocation each time, whose pages the
/// kernel zeroed and faulted in as the lines were written (those faults were ~5 % of `wafpipe
/// parse`'s time), and ~300 MB at the peak. At 4 MiB the freed buffer is taken again for the next
/// batch: 3 % less time, 105 MB at the peak.
pub const NDJSON_BATCH_BYTES: usize = 4 << 20;

/// What the batch being gathered has rendered so far, as its [`Documents`] asks.
#[derive(Debug)]
pub(super) struct Rendered {
    kind: Documents,
    /// [`Documents::Each`]: one document per row.
    each: Vec<Vec<u8>>,
    /// [`Documents::Ndjson`]: the lines so far.
    lines: Vec<u8>,
}

impl Rendered {
    pub(super) fn new(kind: Documents) -> Rendered {
        Rendered { kind, each: Vec::new(), lines: Vec::new() }
    }

    /// Render one event.
    pub(super) fn push(&mut self, id: &str, row: &Row) {
        match self.kind {
            Documents::None => {}
            Documents::Each => {
                // Sized by the last document, so it is written without growing.
                let mut doc = Vec::with_capacity(self.each.last().map_or(2048, |d| d.len() + d.len() / 4));
                json::render(row, &mut doc);
                self.each.push(doc);
            }
            Documents::Ndjson => json::render_ndjson_line(id, row, &mut self.lines),
        }
    }

    /// The NDJSON text has reached [`NDJSON_BATCH_BYTES`]: cut the batch.
    pub(super) fn full(&self) -> bool {
        self.lines.len() >= NDJSON_BATCH_BYTES
    }

    /// The batch's documents and NDJSON text (each `Some` for its own kind only); the next batch
    /// starts empty.
    pub(super) fn take(&mut self) -> (Option<Vec<Vec<u8>>>, Option<Vec<u8>>) {
        let each = (self.kind == Documents::Each).then(|| mem::take(&mut self.each));
        let lines = (self.kind == Documents::Ndjson).then(|| {
            // The next batch's lines start with room for as many bytes as this one's.
            let room = self.lines.len() + self.lines.len() / 8;
            mem::replace(&mut self.lines, Vec::with_capacity(room))
        });
        (each, lines)
    }
}
