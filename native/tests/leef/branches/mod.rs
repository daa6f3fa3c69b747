//! Branches test_leef.py misses, with expectations from the oracle's output.

mod attributes;
mod delimiters;
