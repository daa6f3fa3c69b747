//! One event: a value (or nothing) per slot of the document tree.

use crate::fields::{Kind, LEAVES};

/// A value of one leaf. Its variant matches the leaf's [`Kind`] (checked by [`Row::set`] in debug
/// builds); `Json` holds serialised JSON text.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Long(i64),
    Double(f64),
    Bool(bool),
    /// Epoch milliseconds.
    Date(i64),
    Geo { lat: f64, lon: f64 },
    StrList(Vec<String>),
    Json(String),
}

impl Value {
    fn kind(&self) -> Kind {
        match self {
            Value::Str(_) => Kind::Str,
            Value::Long(_) => Kind::Long,
            Value::Double(_) => Kind::Double,
            Value::Bool(_) => Kind::Bool,
            Value::Date(_) => Kind::Date,
            Value::Geo { .. } => Kind::Geo,
            Value::StrList(_) => Kind::StrList,
            Value::Json(_) => Kind::Json,
        }
    }
}

/// One event's values, indexed by slot.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    values: Vec<Option<Value>>,
}

impl Default for Row {
    fn default() -> Self {
        Row { values: vec![None; LEAVES.len()] }
    }
}

impl Row {
    pub fn new() -> Row {
        Row::default()
    }

    /// Set slot `slot`. The value's variant must match the leaf's kind: the mapping is generated
    /// from the same table, so a mismatch is a bug in the core, caught by the tests.
    pub fn set(&mut self, slot: usize, value: Value) {
        debug_assert_eq!(value.kind(), LEAVES[slot].kind, "slot {} ({})", slot, LEAVES[slot].path);
        self.values[slot] = Some(value);
    }

    pub fn get(&self, slot: usize) -> Option<&Value> {
        self.values[slot].as_ref()
    }

    pub fn take(&mut self, slot: usize) -> Option<Value> {
        self.values[slot].take()
    }

    pub fn is_set(&self, slot: usize) -> bool {
        self.values[slot].is_some()
    }
}
