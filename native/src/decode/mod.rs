//! One line of an Imperva file → a [`RawRecord`] in Imperva's one key space (FORMATS §2–§5).
//!
//! Every decoder speaks canonical CEF keys (lower case), so one field table maps all three
//! formats. [`detect`] chooses the decoder for a file; CEF and LEEF lines stand alone, a W3C file
//! carries its column list in `#Fields` directives, so [`w3c::W3cDecoder`] keeps state.

pub mod cef;
pub mod detect;
mod keyvalue;
pub mod leef;
mod record;
mod repeats;
pub mod w3c;

pub use record::{DecodeError, Format, RawRecord, Text, NON_UTF8_WARNING};
