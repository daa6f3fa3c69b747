//! Integration tests of the LEEF decoder. First every decoder case of the Python oracle's
//! `tests/decode/test_leef.py`, with the same inputs and expectations; then the branches those
//! cases miss, with expectations taken from the oracle's output for the same line (the Python
//! differential test compares the two on generated input as well).

mod branches;
mod cases;
mod samples;
mod support;
