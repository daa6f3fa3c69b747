//! Line decoding for tests and tools: records as dicts, errors as dicts.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::document::json;
use crate::ecs;
use crate::mapping::{map_record, Counters, FileContext};

use super::run::PyAgents;

use crate::decode::detect::{detect_format as detect, FileDecoder};
use crate::decode::RawRecord;

/// `cef`, `leef` or `w3c`: the format the container `header` declares, else the one
/// `first_line` shows (DESIGN §1), else None.
#[pyfunction]
#[pyo3(signature = (header, first_line = None))]
pub fn detect_format(header: &Bound<'_, PyDict>, first_line: Option<&str>) -> PyResult<Option<&'static str>> {
    let header: Vec<(String, String)> = header.items().extract()?;
    Ok(detect(&header, first_line).map(|f| f.as_str()))
}

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


/// `value` converted as a field-table type (`keyword`, `text`, `long`, `double`, `boolean`, `date`,
/// `ip`, `keyword_list`, `ip_list`, `json`), as the mapping converts it: an int, float, bool, the
/// ISO text of a date, a list, or JSON text. ValueError with the mapping's warning text when the
/// value does not convert. For tests and tools (the peer vectors check typed values with it).
#[pyfunction]
pub fn convert(py: Python<'_>, kind: &str, value: &str) -> PyResult<Py<PyAny>> {
    let invalid = |e: ecs::Invalid| PyValueError::new_err(e.into_message());
    Ok(match kind {
        "keyword" | "text" => value.into_pyobject(py)?.into_any().unbind(),
        "long" => ecs::to_long(value).map_err(invalid)?.into_pyobject(py)?.into_any().unbind(),
        "double" => ecs::to_double(value).map_err(invalid)?.into_pyobject(py)?.into_any().unbind(),
        "boolean" => ecs::to_bool(value).map_err(invalid)?.into_pyobject(py)?.to_owned().into_any().unbind(),
        "date" => ecs::iso_ms(ecs::to_date(value).map_err(invalid)?).into_pyobject(py)?.into_any().unbind(),
        "ip" => ecs::to_ip(value).map_err(invalid)?.into_pyobject(py)?.into_any().unbind(),
        "keyword_list" => PyList::new(py, ecs::to_keyword_list(value))?.into_any().unbind(),
        "ip_list" => PyList::new(py, ecs::to_ip_list(value).map_err(invalid)?)?.into_any().unbind(),
        "json" => ecs::to_json(value).map_err(invalid)?.to_string().into_pyobject(py)?.into_any().unbind(),
        other => return Err(PyValueError::new_err(format!("unknown field type {other:?}"))),
    })
}

/// The ECS document (JSON text) of one `line` of `format`, mapped with an empty file context (no
/// name, no header, ingested at epoch 0) and the line as `event.original`: the mapping alone, for
/// tests and tools. ValueError when the line does not decode or holds no event.
#[pyfunction]
pub fn document(format: &str, line: &str, user_agent: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut decoder = FileDecoder::from_name(format, &[]).map_err(PyValueError::new_err)?;
    let record = match decoder.decode(line) {
        Ok(Some(record)) => record,
        Ok(None) => return Err(PyValueError::new_err("the line holds no event")),
        Err(err) => return Err(PyValueError::new_err(err.to_string())),
    };
    let mut cache = std::collections::HashMap::new();
    let mut agents = PyAgents::new(user_agent, &mut cache);
    let row = map_record(&record, &FileContext::default(), Some(line), &mut agents, &mut Counters::default());
    if let Some(err) = agents.error {
        return Err(err);
    }
    let mut out = Vec::new();
    json::render(&row, &mut out);
    String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
}
