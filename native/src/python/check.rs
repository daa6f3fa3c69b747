//! `BodyCheck`: the first pass over a body (`crate::body::BodyCheck`), for the Python reader.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::body::{BodyCheck, Limits, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_RATIO};

/// Push the decrypted body's chunks, then `finish(checksum)`: the verdict on the whole file before
/// its first event is decoded.
#[pyclass(name = "BodyCheck", module = "wafpipe._native")]
pub struct PyBodyCheck {
    check: Option<BodyCheck>,
}

#[pymethods]
impl PyBodyCheck {
    #[new]
    #[pyo3(signature = (*, max_output_bytes = DEFAULT_MAX_OUTPUT_BYTES, max_ratio = DEFAULT_MAX_RATIO))]
    fn new(max_output_bytes: u64, max_ratio: u64) -> Self {
        let limits = Limits { max_output_bytes, max_ratio, ..Limits::default() };
        PyBodyCheck { check: Some(BodyCheck::new(limits)) }
    }

    fn push(&mut self, chunk: &[u8]) -> PyResult<()> {
        let check = self.check.as_mut().ok_or_else(|| PyRuntimeError::new_err("the check is finished"))?;
        check.push(chunk);
        Ok(())
    }

    /// `{checksum_status, partial, md5, decoded_bytes}` against the header's `checksum` (or None).
    #[pyo3(signature = (checksum = None))]
    fn finish<'py>(&mut self, py: Python<'py>, checksum: Option<&str>) -> PyResult<Bound<'py, PyDict>> {
        let check = self.check.take().ok_or_else(|| PyRuntimeError::new_err("the check is finished"))?;
        let (verdict, end) = check.finish(checksum);
        let d = PyDict::new(py);
        d.set_item("checksum_status", verdict.checksum.as_str())?;
        d.set_item("partial", verdict.partial)?;
        d.set_item("md5", end.md5)?;
        d.set_item("decoded_bytes", end.decoded_bytes)?;
        Ok(d)
    }
}
