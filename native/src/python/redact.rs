//! `RedactionScanner`: which values of a string column redaction must read (`crate::redact`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::redact::Scanner;

/// The filters of one redaction configuration, compiled once per worker.
#[pyclass(name = "RedactionScanner", module = "wafpipe._native", frozen)]
pub struct PyRedactionScanner {
    scanner: Scanner,
}

#[pymethods]
impl PyRedactionScanner {
    /// `patterns`: one filter per rule (Rust `regex` syntax, matched against bytes); `cards`: the
    /// card-number check, whose bit follows the patterns'. A pattern that does not compile is a
    /// ValueError saying why.
    #[new]
    fn new(patterns: Vec<String>, cards: bool) -> PyResult<Self> {
        let scanner = Scanner::new(&patterns, cards).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self { scanner })
    }

    /// The bit of the card-number check.
    #[getter]
    fn card_bit(&self) -> u64 {
        self.scanner.card_bit()
    }

    /// The rules that may change one value, as bits (for tests and single values).
    fn scan(&self, value: &[u8]) -> u64 {
        self.scanner.scan(value)
    }

    /// `[(index, bits)]` for the values `first .. first + count` of a string column given as its
    /// int32 offsets buffer and its data buffer, each value with a hit; the GIL is released.
    fn scan_column(&self, py: Python<'_>, offsets: &[u8], data: &[u8], first: usize, count: usize) -> PyResult<Vec<(usize, u64)>> {
        py.detach(|| self.scanner.scan_column(offsets, data, first, count)).map_err(PyValueError::new_err)
    }
}
