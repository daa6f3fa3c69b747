//! Lengths and columns in code points, as Python counts them (`len(s)`, `s[:n]`, and the 1-based
//! columns of messages), not in bytes.

/// `len(s)`.
#[inline]
pub fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `s[:n]`.
pub fn char_prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// The 1-based column of byte `at` of `line` (which must be a character boundary).
pub fn column(line: &str, at: usize) -> usize {
    char_len(&line[..at]) + 1
}

/// [`column()`] for positions that only move forward, counting each character once: a long line
/// with a message at every pair stays linear.
pub struct Columns<'a> {
    line: &'a str,
    at: usize,
    chars: usize,
}

impl<'a> Columns<'a> {
    pub fn new(line: &'a str) -> Columns<'a> {
        Columns { line, at: 0, chars: 0 }
    }

    /// The 1-based column of byte `at` of the line; `at` must not be less than the last one asked.
    pub fn at(&mut self, at: usize) -> usize {
        self.chars += char_len(&self.line[self.at..at]);
        self.at = at;
        self.chars + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_not_bytes() {
        assert_eq!(char_len("aé😀"), 3);
        assert_eq!(char_prefix("aé😀b", 2), "aé");
        assert_eq!(char_prefix("ab", 5), "ab");
        assert_eq!(column("é=x", 2), 2);
        let mut columns = Columns::new("aé😀b=c");
        assert_eq!((columns.at(1), columns.at(7), columns.at(8)), (2, 4, 5));
    }
}
