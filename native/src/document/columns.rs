//! Rows → one Arrow record batch: `_id`, then the document tree as nested structs, typed by the
//! field table (the same schema `wafpipe.fields.arrow.SCHEMA` builds in Python; a Python test
//! compares them). `Json` leaves (`flattened` in Elasticsearch: headers, rule info, labels…) have
//! no fixed shape: their column holds each value's JSON text, typed as Arrow's canonical
//! `arrow.json` extension, which pyarrow reads as `pa.json_()` and DuckDB stores as `JSON`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder,
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, StructArray};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, TimeUnit};

use crate::document::{Row, Value};
use crate::fields::{root, Kind, Node, LEAVES, NODES};

/// The name of the id column, first in every batch.
pub const ID: &str = "_id";

/// One leaf's column being built.
enum Builder {
    Str(StringBuilder),
    Long(Int64Builder),
    Double(Float64Builder),
    Bool(BooleanBuilder),
    Date(TimestampMillisecondBuilder),
    Geo { lat: Float64Builder, lon: Float64Builder, valid: Vec<bool> },
    StrList(ListBuilder<StringBuilder>),
}

impl Builder {
    fn for_kind(kind: Kind) -> Builder {
        match kind {
            Kind::Str => Builder::Str(StringBuilder::new()),
            Kind::Long => Builder::Long(Int64Builder::new()),
            Kind::Double => Builder::Double(Float64Builder::new()),
            Kind::Bool => Builder::Bool(BooleanBuilder::new()),
            Kind::Date => Builder::Date(TimestampMillisecondBuilder::new().with_timezone("UTC")),
            Kind::Geo => Builder::Geo { lat: Float64Builder::new(), lon: Float64Builder::new(), valid: Vec::new() },
            Kind::StrList => Builder::StrList(ListBuilder::new(StringBuilder::new())),
            Kind::Json => Builder::Str(StringBuilder::new()),
        }
    }

    /// The rows this column holds so far.
    fn len(&self) -> usize {
        match self {
            Builder::Str(b) => b.len(),
            Builder::Long(b) => b.len(),
            Builder::Double(b) => b.len(),
            Builder::Bool(b) => b.len(),
            Builder::Date(b) => b.len(),
            Builder::Geo { valid, .. } => valid.len(),
            Builder::StrList(b) => b.len(),
        }
    }

    /// `n` nulls: a column is only visited in the rows that set it, and given the nulls of the
    /// rows between when it is next visited (or at the end of the batch).
    fn append_nulls(&mut self, n: usize) {
        match self {
            Builder::Str(b) => b.append_nulls(n),
            Builder::Long(b) => b.append_nulls(n),
            Builder::Double(b) => b.append_nulls(n),
            Builder::Bool(b) => b.append_nulls(n),
            Builder::Date(b) => b.append_nulls(n),
            Builder::Geo { lat, lon, valid } => {
                lat.append_nulls(n);
                lon.append_nulls(n);
                valid.resize(valid.len() + n, false);
            }
            Builder::StrList(b) => {
                for _ in 0..n {
                    b.append(false);
                }
            }
        }
    }

    fn push(&mut self, value: Value<'_>) {
        match (self, value) {
            (Builder::Str(b), Value::Str(s) | Value::Json(s)) => b.append_value(s),
            (Builder::Long(b), Value::Long(n)) => b.append_value(n),
            (Builder::Double(b), Value::Double(f)) => b.append_value(f),
            (Builder::Bool(b), Value::Bool(v)) => b.append_value(v),
            (Builder::Date(b), Value::Date(ms)) => b.append_value(ms),
            (Builder::Geo { lat, lon, valid }, Value::Geo { lat: y, lon: x }) => {
                lat.append_value(y);
                lon.append_value(x);
                valid.push(true);
            }
            (Builder::StrList(b), Value::StrList(items)) => {
                for item in items.iter() {
                    b.values().append_value(item);
                }
                b.append(true);
            }
            _ => unreachable!("a value of its leaf's kind (Row checks)"),
        }
    }

    /// The column of the rows pushed; the builder starts again empty, with room for as many rows
    /// and bytes as this column held (Arrow's builders restart from no capacity, and regrowing
    /// every string column batch after batch was ~1.2k instructions per CEF event of copies).
    fn finish(&mut self) -> ArrayRef {
        let array = self.take();
        *self = self.sized_for(&array);
        array
    }

    /// A new empty builder of this kind with capacity for `array`'s rows and text.
    fn sized_for(&self, array: &ArrayRef) -> Builder {
        let rows = array.len();
        match self {
            Builder::Str(_) => {
                let text = array.as_string::<i32>().value_data().len();
                Builder::Str(StringBuilder::with_capacity(rows, text))
            }
            Builder::Long(_) => Builder::Long(Int64Builder::with_capacity(rows)),
            Builder::Double(_) => Builder::Double(Float64Builder::with_capacity(rows)),
            Builder::Bool(_) => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            Builder::Date(_) => Builder::Date(TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC")),
            Builder::Geo { .. } => Builder::Geo {
                lat: Float64Builder::with_capacity(rows),
                lon: Float64Builder::with_capacity(rows),
                valid: Vec::with_capacity(rows),
            },
            Builder::StrList(_) => {
                let items = array.as_list::<i32>().values().as_string::<i32>();
                let values = StringBuilder::with_capacity(items.len(), items.value_data().len());
                Builder::StrList(ListBuilder::with_capacity(values, rows))
            }
        }
    }

    fn take(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Long(b) => Arc::new(b.finish()),
            Builder::Double(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::StrList(b) => Arc::new(b.finish()),
            Builder::Geo { lat, lon, valid } => {
                let nulls = NullBuffer::from(std::mem::take(valid));
                Arc::new(StructArray::new(
                    geo_fields(),
                    vec![Arc::new(lat.finish()) as ArrayRef, Arc::new(lon.finish())],
                    Some(nulls),
                ))
            }
        }
    }
}

fn geo_fields() -> Fields {
    Fields::from(vec![Field::new("lat", DataType::Float64, true), Field::new("lon", DataType::Float64, true)])
}

/// The Arrow type of a leaf of `kind`.
fn leaf_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str | Kind::Json => DataType::Utf8,
        Kind::Long => DataType::Int64,
        Kind::Double => DataType::Float64,
        Kind::Bool => DataType::Boolean,
        Kind::Date => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Kind::Geo => DataType::Struct(geo_fields()),
        Kind::StrList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    }
}

/// The field of a leaf: JSON text is marked with Arrow's canonical `arrow.json` extension type.
fn leaf_field(name: &str, kind: Kind) -> Field {
    let field = Field::new(name, leaf_type(kind), true);
    if kind != Kind::Json {
        return field;
    }
    field.with_metadata(
        [
            ("ARROW:extension:name".to_owned(), "arrow.json".to_owned()),
            ("ARROW:extension:metadata".to_owned(), String::new()),
        ]
        .into_iter()
        .collect::<HashMap<String, String>>(),
    )
}

/// The type of `node`, or None when nothing under it is a column.
fn node_field(node: &Node) -> Option<Field> {
    match *node {
        Node::Leaf { name, slot } => Some(leaf_field(name, LEAVES[slot].kind)),
        Node::Struct { name, first, count } => {
            let children: Vec<Field> = NODES[first..first + count].iter().filter_map(node_field).collect();
            (!children.is_empty()).then(|| Field::new(name, DataType::Struct(Fields::from(children)), true))
        }
    }
}

/// The schema of every batch: `_id`, then the document tree's columns.
pub fn schema() -> Schema {
    let mut fields = vec![Field::new(ID, DataType::Utf8, false)];
    fields.extend(root().iter().filter_map(node_field));
    Schema::new(fields)
}

/// Columns of one batch being built, a row at a time.
pub struct Columns {
    schema: Arc<Schema>,
    builders: Vec<Builder>,
    /// Per slot, the rows its builder holds (it lags behind `ids` by the rows that did not set it).
    filled: Vec<usize>,
    ids: StringBuilder,
}

impl Default for Columns {
    fn default() -> Self {
        Columns::new()
    }
}

impl Columns {
    pub fn new() -> Columns {
        Columns {
            schema: Arc::new(schema()),
            builders: LEAVES.iter().map(|leaf| Builder::for_kind(leaf.kind)).collect(),
            filled: vec![0; LEAVES.len()],
            ids: StringBuilder::new(),
        }
    }

    /// The number of rows pushed since the last [`Columns::finish`].
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One row: only the columns of the slots it sets are visited (the others get their nulls
    /// when a later row sets them, or at [`Columns::finish`]).
    pub fn push(&mut self, id: &str, row: &Row) {
        let before = self.ids.len();
        self.ids.append_value(id);
        for &slot in row.set_slots() {
            if let Some(value) = row.get(slot) {
                let builder = &mut self.builders[slot];
                let filled = &mut self.filled[slot];
                if *filled < before {
                    builder.append_nulls(before - *filled);
                }
                builder.push(value);
                *filled = before + 1;
            }
        }
    }

    /// The record batch of the rows pushed so far; the builders start again empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = self.ids.len();
        for (builder, filled) in self.builders.iter_mut().zip(&mut self.filled) {
            if *filled < rows {
                builder.append_nulls(rows - *filled);
            }
            debug_assert_eq!(builder.len(), rows);
            *filled = 0;
        }
        let ids: StringArray = self.ids.finish();
        self.ids = StringBuilder::with_capacity(rows, ids.value_data().len());
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(ids)];
        for node in root() {
            if let Some(array) = self.finish_node(node) {
                arrays.push(array);
            }
        }
        RecordBatch::try_new(self.schema.clone(), arrays)
    }

    fn finish_node(&mut self, node: &Node) -> Option<ArrayRef> {
        match *node {
            Node::Leaf { slot, .. } => Some(self.builders[slot].finish()),
            Node::Struct { first, count, .. } => {
                let field = node_field(node)?;
                let DataType::Struct(fields) = field.data_type() else { unreachable!("a struct node") };
                let arrays: Vec<ArrayRef> =
                    NODES[first..first + count].iter().filter_map(|child| self.finish_node(child)).collect();
                let nulls = any_valid(&arrays);
                Some(Arc::new(StructArray::new(fields.clone(), arrays, nulls)))
            }
        }
    }
}

/// A struct is present in a row when any of its children is: the validity is the OR of the
/// children's validity bitmaps (a child without nulls makes every row valid).
fn any_valid(children: &[ArrayRef]) -> Option<NullBuffer> {
    let len = children.first()?.len();
    let mut valid = BooleanBuffer::new_unset(len);
    for child in children {
        match child.nulls() {
            Some(nulls) => valid = &valid | nulls.inner(),
            None => return Some(NullBuffer::new(BooleanBuffer::new_set(len))),
        }
    }
    Some(NullBuffer::new(valid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{EVENT_CATEGORY, IMPERVA_WAF_LABELS, SOURCE_GEO_LOCATION, SOURCE_IP, TIMESTAMP};

    #[test]
    fn rows_become_nested_typed_columns() {
        let mut columns = Columns::new();
        let mut row = Row::new();
        row.set_date(TIMESTAMP, 1000);
        row.set_str(SOURCE_IP, "10.0.0.1");
        row.set_geo(SOURCE_GEO_LOCATION, 1.0, 2.0);
        row.set_list(EVENT_CATEGORY, ["web"]);
        row.set_json(IMPERVA_WAF_LABELS, "{}");
        columns.push("a", &Row::new());
        columns.push("b", &row);
        columns.push("c", &Row::new());
        let batch = columns.finish().unwrap();
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(batch.schema().field(0).name(), ID);
        let source = batch.column_by_name("source").unwrap().as_struct();
        assert!(source.is_null(0) && source.is_valid(1) && source.is_null(2));
        let ip = source.column_by_name("ip").unwrap().as_string::<i32>();
        assert_eq!(ip.value(1), "10.0.0.1");
        assert!(ip.is_null(0) && ip.is_null(2));
        let geo = source.column_by_name("geo").unwrap().as_struct();
        let location = geo.column_by_name("location").unwrap().as_struct();
        assert_eq!((location.len(), location.null_count()), (3, 2));
        let waf = batch.column_by_name("imperva").unwrap().as_struct().column_by_name("waf").unwrap().as_struct();
        let labels = waf.column_by_name("labels").unwrap().as_string::<i32>();
        assert_eq!((labels.value(1), labels.null_count()), ("{}", 2));
        let waf_fields = match batch.schema().field_with_name("imperva").unwrap().data_type() {
            DataType::Struct(f) => match f.find("waf").unwrap().1.data_type() {
                DataType::Struct(w) => w.clone(),
                _ => unreachable!(),
            },
            _ => unreachable!(),
        };
        let labels_field = waf_fields.find("labels").unwrap().1;
        assert_eq!(labels_field.metadata().get("ARROW:extension:name").map(String::as_str), Some("arrow.json"));
        assert!(columns.is_empty());
        // The builders sized by the first batch build the same second one.
        columns.push("a", &Row::new());
        columns.push("b", &row);
        columns.push("c", &Row::new());
        assert_eq!(columns.finish().unwrap(), batch);
        assert_eq!(Columns::new().finish().unwrap().num_rows(), 0);
    }
}
