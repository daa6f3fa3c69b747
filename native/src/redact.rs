//! Which values redaction has to read, found for a whole column in one pass per value.
//!
//! Redaction itself (what replaces a secret) stays in Python (`wafpipe.enrich.redaction`): it
//! touches the few values that hold one. What costs is finding them among all the others, every
//! text column of every event: here each value is run once through every rule's filter at the same
//! time (a [`RegexSet`], a lazy DFA without backtracking), and card numbers are checked exactly —
//! brand prefix, length and Luhn — so that Imperva's long numeric ids, which look like card numbers
//! to a regular expression, do not make their rows candidates.
//!
//! The answer is a bit set per value: bit `i` when the filter of rule `i` matches, bit
//! `patterns.len()` when a card number may be in it. A filter may match more than its rule changes;
//! never less. The card check enumerates every way Python's pattern
//! `(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])` could match, so it is a superset of it too.

use regex::bytes::{Regex, RegexSet};

/// The largest number of pattern rules (one bit each, one more for card numbers).
pub const MAX_PATTERNS: usize = 63;

/// The compiled filters of one redaction configuration.
#[derive(Debug)]
pub struct Scanner {
    // `any` (all filters as one alternation) answers "none matches" for most values without the
    // set's overlapping search, which must read every value to its end.
    any: Option<Regex>,
    set: Option<RegexSet>,
    patterns: usize,
    cards: bool,
}

/// Why a configuration's filters cannot be compiled.
#[derive(Debug)]
pub enum ScannerError {
    TooMany(usize),
    Pattern(regex::Error),
}

impl std::fmt::Display for ScannerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooMany(n) => write!(f, "{n} patterns: at most {MAX_PATTERNS} are supported"),
            Self::Pattern(e) => write!(f, "{e}"),
        }
    }
}

impl Scanner {
    pub fn new<S: AsRef<str>>(patterns: &[S], cards: bool) -> Result<Self, ScannerError> {
        if patterns.len() > MAX_PATTERNS {
            return Err(ScannerError::TooMany(patterns.len()));
        }
        if patterns.is_empty() {
            return Ok(Self { any: None, set: None, patterns: 0, cards });
        }
        let set = RegexSet::new(patterns.iter().map(AsRef::as_ref)).map_err(ScannerError::Pattern)?;
        let union: Vec<String> = patterns.iter().map(|p| format!("(?:{})", p.as_ref())).collect();
        let any = Regex::new(&union.join("|")).map_err(ScannerError::Pattern)?;
        Ok(Self { any: Some(any), set: Some(set), patterns: patterns.len(), cards })
    }

    /// The bit of the card rule.
    pub fn card_bit(&self) -> u64 {
        1 << self.patterns
    }

    /// The rules that may change `value`, as bits.
    pub fn scan(&self, value: &[u8]) -> u64 {
        let mut bits = 0u64;
        if let (Some(any), Some(set)) = (&self.any, &self.set) {
            if any.is_match(value) {
                for i in set.matches(value).iter() {
                    bits |= 1 << i;
                }
            }
        }
        if self.cards && has_card_number(value) {
            bits |= self.card_bit();
        }
        bits
    }

    /// `(index, bits)` of every value of a string column with a hit: `offsets` are the column's
    /// int32 offsets (little-endian bytes, Arrow's layout), `data` its value bytes, and the values
    /// scanned are `first .. first + count` (a sliced array's window).
    pub fn scan_column(&self, offsets: &[u8], data: &[u8], first: usize, count: usize) -> Result<Vec<(usize, u64)>, String> {
        let offset = |i: usize| -> Result<usize, String> {
            let at = i * 4;
            let bytes: [u8; 4] = offsets
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("offset {i} is outside the offsets buffer"))?;
            usize::try_from(i32::from_le_bytes(bytes)).map_err(|_| format!("offset {i} is negative"))
        };
        let mut hits = Vec::new();
        let mut start = offset(first)?;
        for i in 0..count {
            let end = offset(first + i + 1)?;
            let value = data.get(start..end).ok_or_else(|| format!("value {i} is outside the data buffer"))?;
            let bits = self.scan(value);
            if bits != 0 {
                hits.push((i, bits));
            }
            start = end;
        }
        Ok(hits)
    }
}

/// True when the Luhn check digit of `digits` (ASCII) is right.
pub fn luhn_ok(digits: &[u8]) -> bool {
    let mut total = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        total += v;
    }
    total % 10 == 0
}

fn prefix(digits: &[u8], n: usize) -> u32 {
    digits[..n].iter().fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'))
}

/// `digits` start like a card brand (ISO/IEC 7812 issuer ranges) and have one of its lengths; the
/// same table as Python's `card_brand_fits`.
pub fn card_brand_fits(digits: &[u8]) -> bool {
    let n = digits.len();
    if n < 4 {
        return false;
    }
    let (two, three, four) = (prefix(digits, 2), prefix(digits, 3), prefix(digits, 4));
    if digits[0] == b'4' {
        return matches!(n, 13 | 16 | 19); // Visa
    }
    if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
        return n == 16; // Mastercard
    }
    if two == 34 || two == 37 {
        return n == 15; // American Express
    }
    if (3528..=3589).contains(&four) || (300..=305).contains(&three) || matches!(two, 36 | 38 | 39) {
        return (14..=19).contains(&n); // JCB, Diners Club
    }
    if digits[0] == b'6' || matches!(two, 50 | 56 | 57 | 58) {
        return (13..=19).contains(&n); // Discover, UnionPay, Maestro
    }
    false
}

pub fn is_card_number(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && card_brand_fits(digits) && luhn_ok(digits)
}

/// True when some run of 12 to 19 digits in `text` (one space or dash allowed between digits, not
/// preceded or followed by a digit) is a card number.
pub fn has_card_number(text: &[u8]) -> bool {
    // A run: digits, each pair at most one separator apart. `starts` holds the digits that may
    // begin a match (not preceded by a digit), `ends` those that may end one. The buffers are
    // reused from run to run: a line holds dozens of numbers.
    let (mut digits, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while i < text.len() {
        if !text[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        digits.clear();
        starts.clear();
        ends.clear();
        starts.push(0usize);
        let mut j = i;
        loop {
            digits.push(text[j]);
            let next = text.get(j + 1).copied();
            if next.is_some_and(|b| b.is_ascii_digit()) {
                j += 1;
                continue;
            }
            ends.push(digits.len() - 1);
            let after = text.get(j + 2).copied();
            if matches!(next, Some(b' ' | b'-')) && after.is_some_and(|b| b.is_ascii_digit()) {
                starts.push(digits.len());
                j += 2;
                continue;
            }
            break;
        }
        if digits.len() >= 12 {
            for &s in &starts {
                for &e in ends.iter().filter(|&&e| e >= s + 11 && e < s + 19) {
                    if is_card_number(&digits[s..=e]) {
                        return true;
                    }
                }
            }
        }
        i = j + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_need_a_brand_a_length_and_luhn() {
        assert!(is_card_number(b"4111111111111111"));
        assert!(is_card_number(b"378282246310005"));
        assert!(is_card_number(b"2223003122003222"));
        assert!(!is_card_number(b"4111111111111112"));
        assert!(!is_card_number(b"1453290121336"));
        assert!(!is_card_number(b"41111111111111111"));
        assert!(!is_card_number(b"9999999999999995"));
    }

    #[test]
    fn runs_with_separators_and_boundaries() {
        assert!(has_card_number(b"cc=4111111111111111&x=1"));
        assert!(has_card_number(b"n 4111 1111 1111 1111."));
        assert!(has_card_number(b"n 4111-1111-1111-1111"));
        assert!(has_card_number(b"1234 4111111111111111")); // after a separator
        assert!(!has_card_number(b"14111111111111111")); // inside a longer number
        assert!(!has_card_number(b"start=1453290121336 end=1566300670892"));
        assert!(!has_card_number(b"4111--1111111111111")); // two separators break the run
        assert!(!has_card_number(b""));
    }

    #[test]
    fn every_rule_has_its_bit() {
        let scanner = Scanner::new(&["(?i)password=", "bearer"], true).unwrap();
        assert_eq!(scanner.scan(b"PASSWORD=x"), 0b001);
        assert_eq!(scanner.scan(b"bearer 4111111111111111"), 0b110);
        assert_eq!(scanner.scan(b"nothing"), 0);
        assert!(Scanner::new(&["("], false).is_err());
    }

    #[test]
    fn columns_are_read_by_their_offsets() {
        let scanner = Scanner::new(&["secret"], false).unwrap();
        let values: [&[u8]; 4] = [b"a", b"my secret", b"", b"secret"];
        let mut offsets = vec![0i32];
        let mut data = Vec::new();
        for v in values {
            data.extend_from_slice(v);
            offsets.push(i32::try_from(data.len()).unwrap());
        }
        let raw: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
        assert_eq!(scanner.scan_column(&raw, &data, 0, 4).unwrap(), vec![(1, 1), (3, 1)]);
        assert_eq!(scanner.scan_column(&raw, &data, 2, 2).unwrap(), vec![(1, 1)]);
        assert!(scanner.scan_column(&raw, &data, 3, 2).is_err());
    }
}
