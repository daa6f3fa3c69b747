//! Arrow batches across the boundary, without copying (the Arrow PyCapsule interface).

use std::sync::Arc;

use arrow_array::{Array, RecordBatch, StructArray, UInt8Array};
use arrow_data::ffi::FFI_ArrowArray;
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::{DataType, Field, Schema};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

use crate::document::columns::Columns;

/// An Arrow record batch handed to Python through the Arrow PyCapsule interface: pyarrow (and
/// DuckDB) import it with `pyarrow.record_batch(obj)` without copying the buffers.
#[pyclass(frozen, module = "wafpipe._native")]
pub struct ArrowBatch {
    pub batch: RecordBatch,
}

#[pymethods]
impl ArrowBatch {
    /// The schema as an `arrow_schema` capsule (a struct type with one field per column).
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.batch.schema().as_ref())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    /// `(arrow_schema, arrow_array)` capsules; a requested schema other than ours is not honoured
    /// (the interface allows that: the caller casts).
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema;
        let schema = self.__arrow_c_schema__(py)?;
        let data = StructArray::from(self.batch.clone()).into_data();
        let array = PyCapsule::new_with_value(py, FFI_ArrowArray::new(&data), c"arrow_array")?;
        PyTuple::new(py, [schema.into_any(), array.into_any()])
    }

    fn __len__(&self) -> usize {
        self.batch.num_rows()
    }
}

impl ArrowBatch {
    /// `bytes` handed to Python without copying them: one `uint8` column (`bytes`) whose buffer is
    /// the vector itself, which Python reads in place (`decode/reader/file.py`). A Batch's NDJSON
    /// text is ~36 MB for 10 000 CEF events: a copy into a Python `bytes` cost `wafpipe parse`
    /// ~1 % alone and ~2 % beside a second one (the copies compete for memory bandwidth).
    pub fn of_bytes(bytes: Vec<u8>) -> PyResult<Self> {
        let schema = Schema::new(vec![Field::new("bytes", DataType::UInt8, false)]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(UInt8Array::from(bytes))])
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(ArrowBatch { batch })
    }
}

/// An empty batch: the schema every native batch has (a test compares it with Python's).
#[pyfunction]
pub fn empty_batch() -> PyResult<ArrowBatch> {
    let batch = Columns::new().finish().map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(ArrowBatch { batch })
}

