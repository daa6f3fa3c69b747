//! Byte tests on 8 bytes at a time in a `u64` ("SIMD within a register", safe Rust). The mask
//! tests give the high bit of every matching byte and no other bit, exactly (no carry crosses a
//! byte), so `trailing_zeros() / 8` of the result is the first match of a little-endian word;
//! the `any_*` tests are cheaper and only say whether a word holds a match (the scans run them
//! first and the exact ones only on a hit).

/// Every byte of the word equal to one.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each zero byte of `x`.
pub(crate) fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The high bit of each byte of `word` equal to `b`.
pub(crate) fn eq_bytes(word: u64, b: u8) -> u64 {
    zero_bytes(word ^ (ONES * u64::from(b)))
}

/// The high bit of each byte of `word` below 0x20 (the C0 controls).
pub(crate) fn c0_bytes(word: u64) -> u64 {
    zero_bytes(word & (ONES * 0xe0))
}

/// Whether any byte of `word` is below 0x20, `"` or `\\` (what JSON escapes): a quicker test
/// than [`c0_bytes`] | [`eq_bytes`]…, exact as a whole though not per byte (a borrow may mark a
/// byte above a match).
pub(crate) fn any_escape(word: u64) -> bool {
    const HIGH: u64 = ONES * 0x80;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let below = word.wrapping_sub(ONES * 0x20) & !word;
    let zero_q = quote.wrapping_sub(ONES) & !quote;
    let zero_b = backslash.wrapping_sub(ONES) & !backslash;
    (below | zero_q | zero_b) & HIGH != 0
}

/// Whether any byte of `word` is below 0x20 or DEL (tab and line feed included): the quick test
/// before the exact one, exact as a whole.
pub(crate) fn any_control(word: u64) -> bool {
    const HIGH: u64 = ONES * 0x80;
    let del = word ^ (ONES * 0x7f);
    let below = word.wrapping_sub(ONES * 0x20) & !word;
    let zero_del = del.wrapping_sub(ONES) & !del;
    (below | zero_del) & HIGH != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_are_exact_per_byte() {
        for b in 0..=255u8 {
            for other in [0u8, 0x1f, 0x20, 0x7f, 0x80, 0xff, b.wrapping_add(1)] {
                let word = u64::from_le_bytes([other, b, other, other, b, other, other, b]);
                let expect = |t: fn(u8) -> bool| {
                    let mut m = 0u64;
                    for (i, byte) in word.to_le_bytes().iter().enumerate() {
                        if t(*byte) {
                            m |= 0x80 << (8 * i);
                        }
                    }
                    m
                };
                assert_eq!(zero_bytes(word), expect(|x| x == 0));
                assert_eq!(eq_bytes(word, b'"'), expect(|x| x == b'"'));
                assert_eq!(c0_bytes(word), expect(|x| x < 0x20));
                assert_eq!(any_control(word), expect(|x| x < 0x20 || x == 0x7f) != 0);
                assert_eq!(any_escape(word), expect(|x| x < 0x20 || x == b'"' || x == b'\\') != 0);
            }
        }
    }
}
