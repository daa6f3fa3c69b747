//! `wafpipe parse`'s output for one Batch: its ids spliced into its documents, one NDJSON line per
//! event, written straight into one `bytes` (no line objects, no join).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::document::json::{ndjson_line, ndjson_line_len};

/// `ids` (`str`) and `documents` (`bytes`, one per id) → the Batch's NDJSON, each line ending in
/// `\n` (see [`ndjson_line`]).
#[pyfunction]
pub fn ndjson<'py>(py: Python<'py>, ids: &Bound<'py, PyList>, documents: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyBytes>> {
    if ids.len() != documents.len() {
        return Err(PyValueError::new_err(format!("{} ids for {} documents", ids.len(), documents.len())));
    }
    let mut pairs = Vec::with_capacity(ids.len());
    let mut total = 0;
    for (id, doc) in ids.iter().zip(documents.iter()) {
        let id = id.extract::<String>()?;
        let doc = doc.cast_into::<PyBytes>()?;
        total += ndjson_line_len(&id, doc.as_bytes());
        pairs.push((id, doc));
    }
    PyBytes::new_with(py, total, |buf| {
        let mut rest = buf;
        for (id, doc) in &pairs {
            ndjson_line(id, doc.as_bytes(), &mut rest).map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
        Ok(())
    })
}
