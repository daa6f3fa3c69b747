//! One file body → Batches (DESIGN §1): the body's lines decoded, mapped and identified, cut into
//! Arrow record batches with their documents and the problems met between them.
//!
//! * [`context`] — the replay context recorded with each line problem.
//! * [`problem`] — [`Problem`]: a line that does not decode, or was cut short by a fault.
//! * [`documents`] — [`Documents`]: the JSON a run renders beside its rows (or, for
//!   `wafpipe parse`, NDJSON lines instead of them).
//! * [`gather`] — the [`Batch`] being gathered: rows, documents, problems, cut by rows or bytes.
//! * [`run`] — [`FileRun`]: push the decrypted body, take [`Batch`]es; the format is declared or
//!   detected from the first lines, and a file that is not an Imperva log is recognised once.
//! * [`replay`] — one problem line decoded again from its replay context (dead-letter replay).

mod context;
mod documents;
mod gather;
mod problem;
mod replay;
mod run;

pub use documents::{Documents, NDJSON_BATCH_BYTES};
pub use gather::Batch;
pub use problem::Problem;
pub use replay::{replaying, RecordedLine, ReplayCut};
pub use run::{FileRun, NotImperva, RunOptions, PROBE_LINES};
