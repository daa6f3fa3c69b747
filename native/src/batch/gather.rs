//! The batch being gathered from a run's lines ([`super::FileRun`]): each event's row into the Arrow
//! columns and the JSON the run renders, each problem (counted by kind), and the range of line
//! ordinals they cover; cut into a [`Batch`] at `batch_rows` events or at
//! [`NDJSON_BATCH_BYTES`](super::NDJSON_BATCH_BYTES) of NDJSON text.

use std::mem;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;

use super::documents::{Documents, Rendered};
use super::Problem;
use crate::document::columns::Columns;
use crate::document::Row;

/// A slice of the file: rows `first_ordinal..next_ordinal` and the problems met among them.
#[derive(Debug)]
pub struct Batch {
    pub rows: RecordBatch,
    /// One JSON document per row, with [`Documents::Each`].
    pub documents: Option<Vec<Vec<u8>>>,
    /// The events' NDJSON lines, with [`Documents::Ndjson`] (then `rows` has none).
    pub ndjson: Option<Vec<u8>>,
    pub first_ordinal: u64,
    /// The resume point once this batch is acknowledged.
    pub next_ordinal: u64,
    pub problems: Vec<Problem>,
}

/// What is gathered since the last batch was cut, and the batches cut and not yet taken.
pub(super) struct Gathered {
    batch_rows: usize,
    columns: Columns,
    /// Without columns (NDJSON only), every batch's rows: the empty record batch, made once.
    no_rows: Option<RecordBatch>,
    rendered: Rendered,
    /// Events gathered (the columns hold them unless NDJSON only).
    events: usize,
    problems: Vec<Problem>,
    /// Problems per kind (`decode`, `cut_line`), over the whole run.
    pub problem_counts: Vec<(&'static str, u64)>,
    /// The first line the batch being gathered covers.
    pub first_ordinal: u64,
    /// The line after the last one it covers (an event's or a problem's).
    pub next_ordinal: u64,
    ready: Vec<Batch>,
}

impl Gathered {
    /// Batches of at most `batch_rows` events with the `documents` asked for, from line
    /// `start_ordinal` on.
    pub fn new(documents: Documents, batch_rows: usize, start_ordinal: u64) -> Gathered {
        let mut columns = Columns::new();
        let no_rows =
            (!documents.with_columns()).then(|| columns.finish().expect("an empty batch fits the schema"));
        Gathered {
            batch_rows: batch_rows.max(1),
            columns,
            no_rows,
            rendered: Rendered::new(documents),
            events: 0,
            problems: Vec::new(),
            problem_counts: Vec::new(),
            first_ordinal: start_ordinal,
            next_ordinal: start_ordinal,
            ready: Vec::new(),
        }
    }

    /// One event; the batch is cut when it is full.
    pub fn event(&mut self, id: &str, row: &Row) -> Result<(), ArrowError> {
        self.rendered.push(id, row);
        if self.no_rows.is_none() {
            self.columns.push(id, row);
        }
        self.events += 1;
        if let Some(ordinal) = ordinal_of(row) {
            self.next_ordinal = self.next_ordinal.max(ordinal + 1);
        }
        if self.events >= self.batch_rows || self.rendered.full() {
            self.cut()?;
        }
        Ok(())
    }

    /// One problem, counted by its kind.
    pub fn problem(&mut self, p: Problem) {
        self.next_ordinal = self.next_ordinal.max(p.ordinal + 1);
        match self.problem_counts.iter_mut().find(|(k, _)| *k == p.kind) {
            Some((_, n)) => *n += 1,
            None => self.problem_counts.push((p.kind, 1)),
        }
        self.problems.push(p);
    }

    /// Whether anything (an event or a problem) is gathered since the last cut.
    pub fn any(&self) -> bool {
        self.events > 0 || !self.problems.is_empty()
    }

    /// The events and problems gathered so far become a batch.
    pub fn cut(&mut self) -> Result<(), ArrowError> {
        let rows = match &self.no_rows {
            Some(rows) => rows.clone(),
            None => self.columns.finish()?,
        };
        self.events = 0;
        let (documents, ndjson) = self.rendered.take();
        self.ready.push(Batch {
            rows,
            documents,
            ndjson,
            first_ordinal: self.first_ordinal,
            next_ordinal: self.next_ordinal,
            problems: mem::take(&mut self.problems),
        });
        self.first_ordinal = self.next_ordinal;
        Ok(())
    }

    /// Whether a cut batch waits to be taken.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The batches cut since the last call.
    pub fn take_ready(&mut self) -> Vec<Batch> {
        mem::take(&mut self.ready)
    }
}

/// The row's `imperva.waf.file.ordinal`.
fn ordinal_of(row: &Row) -> Option<u64> {
    match row.get(crate::fields::IMPERVA_WAF_FILE_ORDINAL) {
        Some(crate::document::Value::Long(n)) => u64::try_from(n).ok(),
        _ => None,
    }
}
