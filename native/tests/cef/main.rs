//! Integration tests of the CEF decoder. First every decoder case of the Python oracle's
//! `tests/decode/test_cef.py`, with the same inputs and expectations (its hypothesis properties
//! become seeded loops); then the branches those cases miss, with expectations taken from the
//! oracle's output for the same line.

mod branches;
mod errors;
mod formats;
mod free_text_keys;
mod grammar;
mod properties;
mod quirks;
mod samples;
mod support;
