//! The PyO3 boundary: the only place Python types meet the core (DESIGN §5: no `unsafe` elsewhere).
//!
//! Functions here convert arguments, call the pure Rust API and convert results and errors;
//! they hold no logic of their own.

use pyo3::prelude::*;

use crate::{body, ids, keys};

mod batch;
mod check;
mod decode;
mod ndjson;
mod redact;
mod run;

/// True when `key` (any case) is an Imperva key in CEF or LEEF spelling.
#[pyfunction]
fn is_known_key(key: &str) -> bool {
    keys::is_known_key(key)
}

/// The event id of DESIGN §2 for line `ordinal` of the file `identity`.
#[pyfunction]
fn event_id(identity: &[u8], ordinal: u64, line: &[u8]) -> String {
    ids::event_id(identity, ordinal, line)
}

/// The identity of a headerless file from its first event line.
#[pyfunction]
fn headerless_identity(first_event_line: &[u8]) -> Vec<u8> {
    ids::headerless_identity(first_event_line).to_vec()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // How the optimiser built it: profile-guided, instrumented (counting a profile) or plain.
    m.add("CORE_BUILD", env!("WAFPIPE_CORE_BUILD"))?;
    // The body's bounds (DESIGN §7), defined once here and used by the configuration's defaults.
    m.add("DEFAULT_MAX_OUTPUT_BYTES", body::DEFAULT_MAX_OUTPUT_BYTES)?;
    m.add("DEFAULT_MAX_RATIO", body::DEFAULT_MAX_RATIO)?;
    m.add("DEFAULT_MAX_LINE_BYTES", body::DEFAULT_MAX_LINE_BYTES)?;
    m.add("NDJSON_BATCH_BYTES", crate::batch::NDJSON_BATCH_BYTES)?;
    m.add_function(wrap_pyfunction!(is_known_key, m)?)?;
    m.add_function(wrap_pyfunction!(event_id, m)?)?;
    m.add_function(wrap_pyfunction!(headerless_identity, m)?)?;
    m.add_function(wrap_pyfunction!(decode::decode_lines, m)?)?;
    m.add_function(wrap_pyfunction!(decode::detect_format, m)?)?;
    m.add_function(wrap_pyfunction!(decode::convert, m)?)?;
    m.add_function(wrap_pyfunction!(decode::document, m)?)?;
    m.add_function(wrap_pyfunction!(batch::empty_batch, m)?)?;
    m.add_function(wrap_pyfunction!(ndjson::ndjson, m)?)?;
    m.add_class::<batch::ArrowBatch>()?;
    m.add_class::<run::PyFileRun>()?;
    m.add_class::<check::PyBodyCheck>()?;
    m.add_class::<redact::PyRedactionScanner>()?;
    Ok(())
}
