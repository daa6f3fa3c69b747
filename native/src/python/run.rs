//! `FileRun` for Python: push a decrypted body, take batches as
//! `(ArrowBatch, documents, first_ordinal, next_ordinal, problems)`, where documents is a list of
//! `bytes` (`documents=True`), the batch's NDJSON text (`ndjson=True`: `wafpipe parse`; an
//! `ArrowBatch` of one `uint8` column, handed over without copying) or None.
//!
//! User agents are parsed by the Python callable given (ua-parser), once per distinct value per
//! file: the only call back into Python, and it happens per distinct string, not per event.

use std::collections::HashMap;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::batch::{replaying, Batch, Documents, FileRun, RecordedLine, ReplayCut, RunOptions};
use crate::body::{ChecksumStatus, FileVerdict, Limits, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_RATIO};
use crate::decode::detect::FileDecoder;
use crate::decode::Format;
use crate::mapping::{FileContext, Os, UserAgent, UserAgents};

use super::batch::ArrowBatch;

/// Distinct user agents seen per file before the cache starts again (bounded memory).
const UA_CACHE_MAX: usize = 8192;

/// User agents parsed by a Python callable returning version 1's `user_agent` dict.
pub(super) struct PyAgents<'a, 'py> {
    parse: &'a Bound<'py, PyAny>,
    cache: &'a mut HashMap<String, UserAgent>,
    /// The first error the callable raised (the value then parses as `Other`).
    pub error: Option<PyErr>,
}

impl<'a, 'py> PyAgents<'a, 'py> {
    pub(super) fn new(parse: &'a Bound<'py, PyAny>, cache: &'a mut HashMap<String, UserAgent>) -> Self {
        PyAgents { parse, cache, error: None }
    }
}

impl UserAgents for PyAgents<'_, '_> {
    fn parse(&mut self, ua: &str) -> &UserAgent {
        if self.cache.contains_key(ua) {
            return &self.cache[ua];
        }
        let parsed = self.call(ua).unwrap_or_else(|err| {
            self.error.get_or_insert(err);
            UserAgent::other()
        });
        if self.cache.len() >= UA_CACHE_MAX {
            self.cache.clear();
        }
        self.cache.entry(ua.to_owned()).or_insert(parsed)
    }
}

impl PyAgents<'_, '_> {
    fn call(&self, ua: &str) -> PyResult<UserAgent> {
        let out = self.parse.call1((ua,))?;
        let doc = out.cast::<PyDict>()?;
        let text = |d: &Bound<'_, PyDict>, k: &str| -> PyResult<Option<String>> {
            d.get_item(k)?.map(|v| v.extract::<String>()).transpose()
        };
        let os = match doc.get_item("os")? {
            Some(os) => {
                let os = os.cast::<PyDict>()?;
                Some(Os {
                    name: text(os, "name")?.unwrap_or_default(),
                    version: text(os, "version")?,
                    full: text(os, "full")?.unwrap_or_default(),
                })
            }
            None => None,
        };
        let device = match doc.get_item("device")? {
            Some(d) => text(d.cast::<PyDict>()?, "name")?.unwrap_or_else(|| "Other".into()),
            None => "Other".into(),
        };
        Ok(UserAgent { name: text(doc, "name")?.unwrap_or_else(|| "Other".into()), version: text(doc, "version")?, os, device })
    }
}

/// One file body being decoded into batches.
#[pyclass(module = "wafpipe._native", name = "FileRun", unsendable)]
pub struct PyFileRun {
    run: FileRun,
    user_agent: Py<PyAny>,
    ua_cache: HashMap<String, UserAgent>,
    /// Set for a run made by `replaying`: the recorded line's cut, from its context.
    replay_cut: Option<ReplayCut>,
}

#[pymethods]
impl PyFileRun {
    /// `format` None detects it from the content; `identity` None means a headerless file.
    #[new]
    #[pyo3(signature = (*, name, user_agent, path = None, format = None, header = None, identity = None,
                        checksum_status = None, partial = false, ingest_ms = 0, start_ordinal = 0, batch_rows = 8192, documents = true, ndjson = false, max_line_bytes = 1 << 20,
                        max_output_bytes = DEFAULT_MAX_OUTPUT_BYTES, max_ratio = DEFAULT_MAX_RATIO))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        user_agent: Py<PyAny>,
        path: Option<String>,
        format: Option<String>,
        header: Option<&Bound<'_, PyDict>>,
        identity: Option<Vec<u8>>,
        checksum_status: Option<&str>,
        partial: bool,
        ingest_ms: i64,
        start_ordinal: u64,
        batch_rows: usize,
        documents: bool,
        ndjson: bool,
        max_line_bytes: usize,
        max_output_bytes: u64,
        max_ratio: u64,
    ) -> PyResult<Self> {
        let format = match format.as_deref() {
            None | Some("auto") => None,
            Some(name) => Some(Format::parse(name).ok_or_else(|| {
                PyValueError::new_err(format!("unknown format {name:?}; expected one of cef, leef, w3c"))
            })?),
        };
        let header: Vec<(String, String)> = match header {
            Some(h) => h.items().extract()?,
            None => Vec::new(),
        };
        let identity = identity
            .map(|bytes| <[u8; 16]>::try_from(bytes.as_slice()))
            .transpose()
            .map_err(|_| PyValueError::new_err("identity must be 16 bytes"))?;
        let mut ctx = FileContext::new(name, ingest_ms).with_header(&header);
        if let Some(path) = path {
            ctx = ctx.with_path(path);
        }
        if let Some(word) = checksum_status {
            // The verdict of a first pass (`BodyCheck`): every event carries it.
            let checksum = ChecksumStatus::parse(word)
                .ok_or_else(|| PyValueError::new_err(format!("unknown checksum status {word:?}")))?;
            ctx = ctx.with_verdict(FileVerdict { checksum, partial });
        }
        let opts = RunOptions {
            format,
            header,
            identity,
            start_ordinal,
            batch_rows,
            documents: documents_of(documents, ndjson),
            limits: Limits { max_output_bytes, max_ratio, max_line_bytes },
        };
        Ok(PyFileRun { run: FileRun::new(ctx, opts), user_agent, ua_cache: HashMap::new(), replay_cut: None })
    }

    /// A run over the file a problem's replay `context` (its JSON text) describes, for
    /// [`PyFileRun::replay`]: dead-letter replay decodes the line as the read that met it would have.
    #[staticmethod]
    #[pyo3(signature = (context, *, user_agent, documents = true))]
    fn replaying(context: &str, user_agent: Py<PyAny>, documents: bool) -> PyResult<Self> {
        let (run, cut) = replaying(context, documents_of(documents, false)).map_err(PyValueError::new_err)?;
        Ok(PyFileRun { run, user_agent, ua_cache: HashMap::new(), replay_cut: Some(cut) })
    }

    /// The recorded line (its ordinal, 1-based line number, byte offset and bytes) decoded again:
    /// one batch, holding its event or the problem it still has.
    #[pyo3(signature = (*, ordinal, line, offset, raw))]
    fn replay<'py>(&mut self, py: Python<'py>, ordinal: u64, line: u64, offset: u64, raw: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let cut = self
            .replay_cut
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("replay() needs a run made by FileRun.replaying()"))?;
        let parse = self.user_agent.bind(py).clone();
        let mut agents = PyAgents { parse: &parse, cache: &mut self.ua_cache, error: None };
        let recorded = RecordedLine { ordinal, line_no: line, offset, raw };
        let batch = self.run.replay(recorded, &cut, &mut agents).map_err(PyRuntimeError::new_err)?;
        if let Some(err) = agents.error {
            return Err(err);
        }
        batches_list(py, vec![batch])
    }

    /// Feed decrypted body bytes; returns the first batch completed, if any: call again with `b""`
    /// until nothing comes back, then push the next chunk (memory stays flat).
    fn push<'py>(&mut self, py: Python<'py>, chunk: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let parse = self.user_agent.bind(py).clone();
        let mut agents = PyAgents { parse: &parse, cache: &mut self.ua_cache, error: None };
        let batches = self.run.push(chunk, &mut agents).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        if let Some(err) = agents.error {
            return Err(err);
        }
        batches_list(py, batches)
    }

    /// A batch now from what is gathered (none when nothing is).
    fn flush<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let batches = self.run.flush_now().map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        batches_list(py, batches)
    }

    /// The body is complete: the batches left, the first one at a time; call until `finished`
    /// (the call that finishes returns the final batch last).
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let parse = self.user_agent.bind(py).clone();
        let mut agents = PyAgents { parse: &parse, cache: &mut self.ua_cache, error: None };
        let batches = self.run.finish(&mut agents).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        if let Some(err) = agents.error {
            return Err(err);
        }
        batches_list(py, batches)
    }

    /// `finish` has returned the final batch.
    #[getter]
    fn finished(&self) -> bool {
        self.run.is_finished()
    }

    /// The format in use (declared or detected), once known.
    #[getter]
    fn format(&self) -> Option<&'static str> {
        self.run.format().map(Format::as_str)
    }

    /// The file identity (a headerless file's from its first event line on).
    #[getter]
    fn identity<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.run.identity().map(|id| PyBytes::new(py, &id))
    }

    /// A W3C file's directives (`Software`, `Version`, `Date`, `Fields`…) as read so far, in
    /// order: facts of the file, kept once per file by the caller (empty for CEF and LEEF).
    #[getter]
    fn directives(&self) -> Vec<(String, String)> {
        self.run.decoder().and_then(FileDecoder::w3c).map(|w3c| w3c.directives().to_vec()).unwrap_or_default()
    }

    /// A W3C file's columns (its last `#Fields` line), empty for CEF and LEEF: a fact of the file.
    #[getter]
    fn w3c_fields(&self) -> Vec<String> {
        self.run.decoder().and_then(FileDecoder::w3c).map(|w3c| w3c.columns().to_vec()).unwrap_or_default()
    }

    /// `(why, first_line)` when the file is not an Imperva log, else None.
    #[getter]
    fn not_imperva<'py>(&self, py: Python<'py>) -> Option<(String, Option<Bound<'py, PyBytes>>)> {
        self.run
            .not_imperva()
            .map(|n| (n.why.clone(), n.first_line.as_deref().map(|b| PyBytes::new(py, b))))
    }

    /// What the body came to (after `finish`): compression, streams, md5, decoded_bytes, lines,
    /// warnings, and the fault as `error_kind`/`error`/`hint`.
    #[getter]
    fn end<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(end) = self.run.end() else { return Ok(None) };
        let d = PyDict::new(py);
        d.set_item("compression", end.compression.as_str())?;
        d.set_item("streams", end.streams)?;
        d.set_item("md5", &end.md5)?;
        d.set_item("checksum_status", self.run.checksum_status().map(ChecksumStatus::as_str))?;
        d.set_item("decoded_bytes", end.decoded_bytes)?;
        d.set_item("lines", end.lines)?;
        d.set_item("warnings", &end.warnings)?;
        if let Some(err) = &end.error {
            d.set_item("error_kind", err.kind().as_str())?;
            d.set_item("error", err.message())?;
            d.set_item("hint", err.hint())?;
        }
        Ok(Some(d))
    }

    /// Counters: the mapping's (events, unknown_key, …) and `problem_<kind>`.
    #[getter]
    fn counters(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> =
            self.run.counters.pairs().iter().filter(|(_, n)| *n > 0).map(|(k, n)| ((*k).to_owned(), *n)).collect();
        out.extend(self.run.problem_counts().iter().map(|(k, n)| (format!("problem_{k}"), *n)));
        out
    }
}

/// The run's documents from the keywords: `ndjson` wins (its text holds the documents).
fn documents_of(documents: bool, ndjson: bool) -> Documents {
    match (documents, ndjson) {
        (_, true) => Documents::Ndjson,
        (true, false) => Documents::Each,
        (false, false) => Documents::None,
    }
}

fn batches_list(py: Python<'_>, batches: Vec<Batch>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for batch in batches {
        let problems = PyList::empty(py);
        for p in &batch.problems {
            let d = PyDict::new(py);
            d.set_item("kind", p.kind)?;
            d.set_item("reason", &p.reason)?;
            d.set_item("hint", (!p.hint.is_empty()).then_some(&p.hint))?;
            d.set_item("line", p.line)?;
            d.set_item("offset", p.offset)?;
            d.set_item("column", (p.column > 0).then_some(p.column))?;
            d.set_item("ordinal", p.ordinal)?;
            d.set_item("raw", PyBytes::new(py, &p.raw))?;
            d.set_item("context", &p.context)?;
            problems.append(d)?;
        }
        // The documents' place holds a list of them, the NDJSON text (Arrow bytes) or None (as the run
        // was asked).
        let documents = match (batch.documents, batch.ndjson) {
            (Some(docs), _) => PyList::new(py, docs.iter().map(|d| PyBytes::new(py, d)))?.into_any(),
            (None, Some(text)) => Bound::new(py, ArrowBatch::of_bytes(text)?)?.into_any(),
            (None, None) => py.None().into_bound(py),
        };
        let item = PyTuple::new(
            py,
            [
                Bound::new(py, ArrowBatch { batch: batch.rows })?.into_any(),
                documents,
                batch.first_ordinal.into_pyobject(py)?.into_any(),
                batch.next_ordinal.into_pyobject(py)?.into_any(),
                problems.into_any(),
            ],
        )?;
        out.append(item)?;
    }
    Ok(out)
}
