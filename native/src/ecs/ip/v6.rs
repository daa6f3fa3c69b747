//! IPv6 text ↔ 128 bits, as CPython 3.11's `ipaddress` reads and prints it (see [`super`]).
//!
//! One pass over the bytes each way. The first form (a `split(':')` into text parts, each read
//! with `from_str_radix` once the `::` layout was checked; a `String` built a character at a
//! time) cost ~3.5k instructions per address, and a quarter of Imperva's client addresses are
//! IPv6; it stays in the tests as the oracle. Reading every part as it is cut gives the same
//! answers: the layout check and the part check both only refuse, and every non-empty part is
//! read in any layout that passes.

use super::parse_v4;

/// Hextets in an address.
const HEXTETS: usize = 8;

/// CPython's `_BaseV6._ip_int_from_string`: 3–9 `:`-separated parts (the last may be an IPv4
/// tail, two hextets), at most one `::` standing for at least one zero hextet, hextets of 1–4
/// ASCII hex digits.
pub(super) fn parse_v6(text: &str) -> Option<u128> {
    // Per part: its value, and whether it is empty; room for 9 parts and an IPv4 tail's second
    // hextet.
    let mut hextets = [0u16; HEXTETS + 2];
    let mut empty = [false; HEXTETS + 2];
    let mut n = 0;
    let mut start = 0;
    let bytes = text.as_bytes();
    for at in memchr::memchr_iter(b':', bytes) {
        if n == HEXTETS + 1 {
            return None;
        }
        (hextets[n], empty[n]) = hextet(&bytes[start..at])?;
        n += 1;
        start = at + 1;
    }
    if n == HEXTETS + 1 || n < 2 {
        return None; // more than 9 parts, or fewer than 3
    }
    let last = &bytes[start..];
    if last.contains(&b'.') {
        let v4 = parse_v4(&text[start..])?;
        (hextets[n], hextets[n + 1]) = ((v4 >> 16) as u16, v4 as u16);
        n += 2;
    } else {
        (hextets[n], empty[n]) = hextet(last)?;
        n += 1;
    }
    if n > HEXTETS + 1 {
        return None;
    }
    let mut skip = None;
    for (i, &is_empty) in empty.iter().enumerate().take(n - 1).skip(1) {
        if is_empty {
            if skip.is_some() {
                return None; // at most one `::`
            }
            skip = Some(i);
        }
    }
    let (hi, lo, skipped) = match skip {
        Some(at) => {
            let mut hi = at;
            let mut lo = n - at - 1;
            if empty[0] {
                hi -= 1;
                if hi > 0 {
                    return None; // a leading `:` only as part of `::`
                }
            }
            if empty[n - 1] {
                lo -= 1;
                if lo > 0 {
                    return None; // a trailing `:` only as part of `::`
                }
            }
            if hi + lo >= HEXTETS {
                return None; // `::` stands for at least one hextet
            }
            (hi, lo, HEXTETS - hi - lo)
        }
        None => {
            if n != HEXTETS || empty[0] || empty[n - 1] {
                return None;
            }
            (n, 0, 0)
        }
    };
    let mut ip = 0_u128;
    for &h in &hextets[..hi] {
        ip = ip << 16 | u128::from(h);
    }
    ip = ip.checked_shl(16 * skipped as u32).unwrap_or(0); // `::` alone skips all 128 bits
    for &h in &hextets[n - lo..n] {
        ip = ip << 16 | u128::from(h);
    }
    Some(ip)
}

/// One part: (its value, whether it is empty); None when it is not empty and not 1–4 hex digits.
fn hextet(part: &[u8]) -> Option<(u16, bool)> {
    if part.len() > 4 {
        return None;
    }
    let mut value = 0_u16;
    for &c in part {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        value = value << 4 | u16::from(digit);
    }
    Some((value, part.is_empty()))
}

/// CPython's `_string_from_ip_int` + `_compress_hextets`: lower-case hextets without leading
/// zeros, the longest run of two or more zero hextets (the first of equal runs) written `::`.
pub(super) fn format_v6(ip: u128) -> String {
    let hextets: [u16; HEXTETS] = std::array::from_fn(|i| (ip >> (112 - 16 * i)) as u16);
    let (mut best_start, mut best_len) = (0, 0);
    let mut run_start = 0;
    for (i, &h) in hextets.iter().enumerate() {
        if h != 0 {
            run_start = i + 1;
        } else if i + 1 - run_start > best_len {
            best_start = run_start;
            best_len = i + 1 - run_start;
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 41];
    let mut len = 0;
    let mut i = 0;
    while i < HEXTETS {
        if best_len > 1 && i == best_start {
            out[len..len + 2].copy_from_slice(b"::");
            len += 2;
            i += best_len;
            continue;
        }
        if len > 0 && out[len - 1] != b':' {
            out[len] = b':';
            len += 1;
        }
        let h = hextets[i];
        let digits = (16 - h.leading_zeros() as usize).div_ceil(4).max(1);
        for d in (0..digits).rev() {
            out[len] = HEX[usize::from(h >> (4 * d) & 0xf)];
            len += 1;
        }
        i += 1;
    }
    std::str::from_utf8(&out[..len]).expect("ASCII").to_owned()
}
