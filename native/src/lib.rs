//! wafpipe's native core (DESIGN §1): the per-line work on an Imperva file body.
//!
//! Python reads the container header and decrypts (with `cryptography`); everything after that —
//! decompression, line splitting, format detection, CEF/LEEF/W3C decoding — happens here, in pure
//! Rust with no `unsafe`. The PyO3 boundary lives in [`python`] and is compiled only with the
//! `python` feature, which maturin enables when it builds `wafpipe._native`.
//!
//! * [`batch`] — one file body → Batches: rows, documents, problems (the whole per-line path).
//! * [`body`] — compressed body → decoded bytes (bounded) → lines.
//! * [`decode`] — one line → a [`decode::RawRecord`] in Imperva's one key space.
//! * [`ecs`] — a record's values converted to the types of the field table.
//! * [`fields`] — the document tree and the per-key plan, generated from the field table.
//! * [`document`] — one event's values in slots, rendered as JSON or as Arrow columns.
//! * [`ids`] — the deterministic event id of DESIGN §2.
//! * [`mapping`] — a decoded record → one event row, as the field table says.
//! * [`keys`] — Imperva's key vocabulary, generated from `src/wafpipe/fields/keys.py`.
//! * [`redact`] — which values redaction must read: every rule's filter in one pass, card numbers exact.
//! * [`pytext`] — Python's `str` (whitespace, `repr`, case, `int()`, columns) as CPython 3.11 has it.

pub mod batch;
pub mod body;
pub mod decode;
pub mod document;
pub mod ecs;
pub mod fields;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod keys;
pub mod mapping;
pub mod pytext;
pub mod redact;
mod swar;

#[cfg(feature = "python")]
mod python;
