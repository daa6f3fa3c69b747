//! Python's `str`, wherever version 1's output depends on it, reproduced exactly: CPython
//! 3.11 with its Unicode 14 tables. One definition for the whole crate (decoders and converters).
//!
//! The native core must give the same records, values, messages and columns as version 1's Python
//! for every input, and that code leans on Python's notion of text: its whitespace (`strip()`,
//! `split()`, `isspace()`, which count U+001C–U+001F as blanks, unlike Rust's
//! `char::is_whitespace`), `repr()` quoting in messages (not Rust's `{:?}`), `str.lower()` and
//! `str.upper()` (on an older Unicode than Rust's `char::to_lowercase`), `int()` and columns
//! counted in code points rather than bytes.
//!
//! * `space` — `isspace()`; what `strip()`, `lstrip()`, `rstrip()` and `split()` remove.
//! * `repr` — `isprintable()`, `repr()`, CPython's `%.200R`.
//! * `case` — `lower()`; `lower()`/`upper()` comparisons that build no string.
//! * `int` — `int(text, 16)` with all its leniency; `int(text)` on ASCII digits.
//! * `columns` — `len()` and `s[:n]` in code points; 1-based columns for messages.
//! * `unicode14` — the Unicode tables these need, generated from CPython 3.11.

mod case;
mod columns;
mod int;
mod repr;
mod space;
mod unicode14;

pub use case::{lower, lower_eq, lower_starts_with, upper_eq, upper_starts_with};
pub use columns::{char_len, char_prefix, column, Columns};
pub use int::{int_ascii, int_hex, OutOfRange};
pub use repr::{is_printable, push_repr, push_repr_200, repr};
pub use space::{is_all_space, is_space, lstrip, rstrip, split, strip};

/// True when `cp` lies in one of `table`'s sorted, disjoint, inclusive ranges.
fn in_ranges(table: &[(u32, u32)], cp: u32) -> bool {
    let i = table.partition_point(|&(_, last)| last < cp);
    i < table.len() && table[i].0 <= cp
}

#[cfg(test)]
mod tests {
    use super::unicode14::*;

    #[test]
    fn tables_are_sorted_and_disjoint() {
        for table in [NON_PRINTABLE, LOWER_UNCHANGED, UPPER_UNCHANGED, SIGMA_CASED, SIGMA_IGNORABLE] {
            assert!(table.iter().all(|&(first, last)| first <= last));
            assert!(table.windows(2).all(|w| w[0].1 < w[1].0));
        }
        assert!(DECIMAL_ZEROS.windows(2).all(|w| w[0] + 10 <= w[1]));
    }
}
