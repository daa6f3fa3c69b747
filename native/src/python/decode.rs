//! Line decoding for tests and tools: records as dicts, errors as dicts.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::decode::detect::FileDecoder;
use crate::decode::RawRecord;

/// Decode `lines` of one file of `format` (`cef`, `leef`, `w3c`; `header` is the container
/// header, where W3C may name its columns). Each result is a record as a dict, None for a line
/// without an event (a W3C directive), or `{"error", "column", "hint"}` for a line that does not
/// decode. For tests and tools: the collector never decodes line by line through Python.
#[pyfunction]
pub fn decode_lines<'py>(
    py: Python<'py>,
    format: &str,
    header: &Bound<'py, PyDict>,
    lines: Vec<String>,
) -> PyResult<Bound<'py, PyList>> {
    let header: Vec<(String, String)> = header.items().extract()?;
    let mut decoder = FileDecoder::from_name(format, &header).map_err(PyValueError::new_err)?;
    let out = PyList::empty(py);
    for line in &lines {
        match decoder.decode(line) {
            Ok(Some(record)) => out.append(record_dict(py, &record)?)?,
            Ok(None) => out.append(py.None())?,
            Err(err) => {
                let d = PyDict::new(py);
                d.set_item("error", &err.reason)?;
                d.set_item("column", err.column)?;
                d.set_item("hint", &err.hint)?;
                out.append(d)?;
            }
        }
    }
    Ok(out)
}

fn record_dict<'py>(py: Python<'py>, rec: &RawRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("format", rec.format.map(|f| f.as_str()))?;
    let ext = PyList::empty(py);
    for (k, v) in &rec.ext {
        ext.append(PyList::new(py, [k, v])?)?;
    }
    d.set_item("ext", ext)?;
    d.set_item("vendor", &rec.vendor)?;
    d.set_item("product", &rec.product)?;
    d.set_item("version", &rec.version)?;
    d.set_item("signature", &rec.signature)?;
    d.set_item("name", &rec.name)?;
    d.set_item("severity", &rec.severity)?;
    d.set_item("format_version", &rec.format_version)?;
    d.set_item("syslog_prefix", &rec.syslog_prefix)?;
    let dups = PyList::empty(py);
    for (k, values) in &rec.dups {
        let pair = PyList::empty(py);
        pair.append(k)?;
        pair.append(values)?;
        dups.append(pair)?;
    }
    d.set_item("dups", dups)?;
    d.set_item("warnings", &rec.warnings)?;
    Ok(d)
}

