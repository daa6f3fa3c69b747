//! Python's `int()` on text: an optional sign, then digits with single `_` between them.

use super::space::is_space;
use super::unicode14::DECIMAL_ZEROS;

/// An integer that does not fit in an `i64` (Python's `int` has no bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange;

/// `int(text, 16)`, or None where Python raises `ValueError` (or the value does not fit in an
/// `i64`).
///
/// CPython first maps Unicode whitespace to `' '` and Unicode decimal digits to ASCII (anything
/// else non-ASCII makes the text invalid), then parses: blanks, a sign, an optional `0x` prefix
/// with one optional `_` after it, hex digits with single `_` between them, blanks. So
/// `int(" 5", 16)`, `int("0x5", 16)`, `int("-0", 16)` and `int("٥", 16)` are all valid.
pub fn int_hex(text: &str) -> Option<i64> {
    let mut buf: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.chars() {
        let cp = c as u32;
        if cp < 127 {
            buf.push(cp as u8);
        } else if is_space(c) {
            buf.push(b' ');
        } else {
            buf.push(b'0' + decimal(c)?);
        }
    }
    // C's isspace, which is what CPython's parser skips around the number.
    let c_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    let start = buf.iter().position(|b| !c_space(b)).unwrap_or(buf.len());
    let end = buf.iter().rposition(|b| !c_space(b)).map_or(start, |i| i + 1);
    let (negative, mut s) = sign(&buf[start..end]);
    if let [b'0', b'x' | b'X', rest @ ..] = s {
        s = rest.strip_prefix(b"_").unwrap_or(rest); // one underscore allowed after the prefix
    }
    digits(s, 16, negative)?.ok()
}

/// `int(text)` in base 10 for text without surrounding whitespace, on ASCII digits only (the
/// `long` converter's intended difference: Python also reads other scripts' digits). None where
/// Python raises `ValueError`; `Some(Err(OutOfRange))` for an integer beyond 64 bits.
pub fn int_ascii(text: &str) -> Option<Result<i64, OutOfRange>> {
    let (negative, s) = sign(text.as_bytes());
    // Up to 18 plain digits fit an i64 whatever they are: read without the underscore and
    // overflow checks (~10 instructions a digit; ids and sizes are most of Imperva's numbers).
    if (1..=18).contains(&s.len()) && s.iter().all(u8::is_ascii_digit) {
        let n = s.iter().fold(0_i64, |n, &c| n * 10 + i64::from(c - b'0'));
        return Some(Ok(if negative { -n } else { n }));
    }
    digits(s, 10, negative)
}

/// An optional `+` or `-`: (negative, what follows).
fn sign(b: &[u8]) -> (bool, &[u8]) {
    match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    }
}

/// All of `b` as digits of `radix` with single `_` between them, negated when `negative`.
fn digits(b: &[u8], radix: u32, negative: bool) -> Option<Result<i64, OutOfRange>> {
    if matches!(b.first(), None | Some(b'_')) || b.last() == Some(&b'_') {
        return None;
    }
    let mut acc: Option<i64> = Some(0);
    let mut after_underscore = false;
    for &c in b {
        if c == b'_' {
            if after_underscore {
                return None;
            }
            after_underscore = true;
            continue;
        }
        let d = i64::from(char::from(c).to_digit(radix)?);
        after_underscore = false;
        // Accumulate on the sign's side so i64::MIN fits; go on checking the text after an
        // overflow (an invalid literal is invalid, however long).
        acc = acc
            .and_then(|a| a.checked_mul(i64::from(radix)))
            .and_then(|a| if negative { a.checked_sub(d) } else { a.checked_add(d) });
    }
    Some(acc.ok_or(OutOfRange))
}

/// `unicodedata.decimal(c)` for non-ASCII digits.
fn decimal(c: char) -> Option<u8> {
    let cp = c as u32;
    let i = DECIMAL_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = *DECIMAL_ZEROS.get(i.checked_sub(1)?)?;
    u8::try_from(cp - zero).ok().filter(|d| *d < 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_hex_matches_python() {
        for (text, want) in [
            ("5e", Some(0x5e)),
            (" 5", Some(5)),
            ("0x5", Some(5)),
            ("0X_f", Some(15)),
            ("-0", Some(0)),
            ("+a", Some(10)),
            ("-0x1_0", Some(-16)),
            ("1_0", Some(16)),
            ("٥", Some(5)),
            ("5\u{3000}", Some(5)),
            ("0b1", Some(0xb1)),
            ("", None),
            ("_5", None),
            ("0x__5", None),
            ("5_", None),
            ("1__0", None),
            ("0x", None),
            ("zz", None),
            ("5\x1c", None),
            ("5\0", None),
            ("ａ", None),
            ("- 5", None),
            ("5 _", None),
        ] {
            assert_eq!(int_hex(text), want, "{text:?}");
        }
    }

    #[test]
    fn short_digit_runs_read_as_the_checked_loop_reads_them() {
        let mut texts: Vec<String> = Vec::new();
        for len in 1..=20 {
            for fill in ['0', '1', '9'] {
                let run: String = std::iter::repeat_n(fill, len).collect();
                for sign in ["", "-", "+"] {
                    texts.push(format!("{sign}{run}"));
                    texts.push(format!("{sign}1{run}"));
                    texts.push(format!("{sign}{run}_1"));
                }
            }
        }
        texts.extend(["-", "+", "", "12a", "1 2", "٥"].map(String::from));
        for text in texts {
            let (negative, s) = sign(text.as_bytes());
            assert_eq!(int_ascii(&text), digits(s, 10, negative), "{text:?}");
        }
    }

    #[test]
    fn int_ascii_matches_python_on_ascii() {
        assert_eq!(int_ascii("1_000"), Some(Ok(1000)));
        assert_eq!(int_ascii("-007"), Some(Ok(-7)));
        assert_eq!(int_ascii("+5"), Some(Ok(5)));
        assert_eq!(int_ascii("-9223372036854775808"), Some(Ok(i64::MIN)));
        assert_eq!(int_ascii("9223372036854775808"), Some(Err(OutOfRange)));
        assert_eq!(int_ascii("99999999999999999999x"), None);
        for bad in ["", "-", "_1", "1_", "1__0", "0x5", "١٢", " 5", "5.0"] {
            assert_eq!(int_ascii(bad), None, "{bad:?}");
        }
    }
}
