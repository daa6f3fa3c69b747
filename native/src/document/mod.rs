//! One event's values in slots ([`Row`]), and the two ways out of the core: the JSON document
//! ([`json`]) and the typed Arrow columns ([`columns`]). Both walk the one document tree of
//! [`crate::fields`], so a value is where the field table says in both.

pub mod columns;
mod escape;
pub mod json;
mod row;

pub use row::{List, Row, Value};
