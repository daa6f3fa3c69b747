//! The parsers and printers of this module against their first forms, kept here as oracles.

use super::v6::{format_v6, parse_v6};
use super::*;

/// The octet check as first written (a `split('.')`): the oracle of the one-pass parser.
fn parse_v4_by_split(text: &str) -> Option<u32> {
    let mut octets = text.split('.');
    let mut ip = 0_u32;
    for _ in 0..4 {
        let o = octets.next()?.as_bytes();
        if o.is_empty() || o.len() > 3 || !o.iter().all(u8::is_ascii_digit) || (o.len() > 1 && o[0] == b'0') {
            return None;
        }
        let n = o.iter().fold(0_u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
        if n > 255 {
            return None;
        }
        ip = ip << 8 | n;
    }
    octets.next().is_none().then_some(ip)
}

#[test]
fn parse_v4_agrees_with_the_split_form() {
    let mut texts: Vec<String> = [
        "", ".", "...", "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.256", "01.2.3.4",
        "1.2.3.04", "1.2.3.00", "1.2.3.0", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "1234.1.1.1",
        "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "1.2.3.+4", "1.2.3.٤", "1.2.3.4/8", "999.0.0.0", "1.2.3.1000",
        "10.0.0.1%eth0", "::1", "a.b.c.d", "00.0.0.0", "0.0.0.00", "100.200.250.255", "1.2.3.4\n",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Every string of up to 7 bytes over a small alphabet that reaches each branch.
    let alphabet = [b'0', b'1', b'2', b'5', b'9', b'.', b'x'];
    let mut frontier = vec![String::new()];
    for _ in 0..7 {
        let mut next = Vec::new();
        for prefix in &frontier {
            for &c in &alphabet {
                let mut s = prefix.clone();
                s.push(char::from(c));
                next.push(s);
            }
        }
        texts.extend(next.iter().cloned());
        frontier = next;
    }
    // Dotted quads of every octet text from "0" to "299" and with leading zeros.
    for n in 0..300 {
        for octet in [n.to_string(), format!("0{n}"), format!("00{n}")] {
            texts.push(format!("{octet}.1.{octet}.9"));
            texts.push(format!("1.2.3.{octet}"));
        }
    }
    for text in &texts {
        assert_eq!(parse_v4(text), parse_v4_by_split(text), "{text:?}");
    }
}

/// One `:`-separated part of an IPv6 text, or a hextet made from its IPv4 tail.
#[derive(Clone, Copy)]
enum Part<'a> {
    Text(&'a str),
    Hextet(u16),
}

impl Part<'_> {
    fn is_empty(self) -> bool {
        matches!(self, Part::Text(""))
    }

    fn value(self) -> Option<u16> {
        match self {
            Part::Hextet(h) => Some(h),
            Part::Text(t) if !t.is_empty() && t.len() <= 4 && t.bytes().all(|c| c.is_ascii_hexdigit()) => {
                u16::from_str_radix(t, 16).ok()
            }
            Part::Text(_) => None,
        }
    }
}

/// CPython's `_BaseV6._ip_int_from_string`, step by step (the first form: the oracle).
fn parse_v6_by_split(text: &str) -> Option<u128> {
    const HEXTETS: usize = 8;
    let mut parts = [Part::Text(""); HEXTETS + 2];
    let mut n = 0;
    for piece in text.split(':') {
        // More than 9 parts is refused below even after an IPv4 tail adds one.
        if n == HEXTETS + 1 {
            return None;
        }
        parts[n] = Part::Text(piece);
        n += 1;
    }
    if n < 3 {
        return None;
    }
    if let Part::Text(last) = parts[n - 1] {
        if last.contains('.') {
            let v4 = parse_v4_by_split(last)?;
            parts[n - 1] = Part::Hextet((v4 >> 16) as u16);
            parts[n] = Part::Hextet(v4 as u16);
            n += 1;
        }
    }
    if n > HEXTETS + 1 {
        return None;
    }
    let parts = &parts[..n];
    let mut skip = None;
    for (i, part) in parts.iter().enumerate().take(n - 1).skip(1) {
        if part.is_empty() {
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
            if parts[0].is_empty() {
                hi -= 1;
                if hi > 0 {
                    return None; // a leading `:` only as part of `::`
                }
            }
            if parts[n - 1].is_empty() {
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
            if n != HEXTETS || parts[0].is_empty() || parts[n - 1].is_empty() {
                return None;
            }
            (n, 0, 0)
        }
    };
    let mut ip = 0_u128;
    for part in &parts[..hi] {
        ip = ip << 16 | u128::from(part.value()?);
    }
    ip = ip.checked_shl(16 * skipped as u32).unwrap_or(0); // `::` alone skips all 128 bits
    for part in &parts[n - lo..] {
        ip = ip << 16 | u128::from(part.value()?);
    }
    Some(ip)
}

/// CPython's `_string_from_ip_int` + `_compress_hextets` (the first form: the oracle).
fn format_v6_by_pushes(ip: u128) -> String {
    let hextets: [u16; 8] = std::array::from_fn(|i| (ip >> (112 - 16 * i)) as u16);
    // The longest run of zero hextets, the first of equal ones; compressed only from two up.
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
    let mut out = String::with_capacity(39);
    let mut i = 0;
    while i < 8 {
        if best_len > 1 && i == best_start {
            out.push_str("::");
            i += best_len;
            continue;
        }
        if !out.is_empty() && !out.ends_with(':') {
            out.push(':');
        }
        push_hex(&mut out, hextets[i]);
        i += 1;
    }
    out
}

fn push_hex(out: &mut String, h: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12, 8, 4, 0] {
        let digit = (h >> shift) & 0xf;
        if digit != 0 || started || shift == 0 {
            out.push(char::from(HEX[digit as usize]));
            started = true;
        }
    }
}

/// A small deterministic generator (xorshift), so the test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn parse_v6_agrees_with_the_split_form() {
    let pieces = [
        "", "", "", "0", "1", "a", "F", "ff", "fFfF", "0000", "00000", "12345", "g", "1.2.3.4", "01.2.3.4",
        "255.255.255.255", "1.2.3", ".", "x", "é", " 1", "abc", "ffff",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut texts: Vec<String> = [
        "", ":", "::", ":::", "::1", "1::", "1::2", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1::2::3",
        ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "fe80::1", "FE80::ABCD:1", "2001:db8::1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for _ in 0..300_000 {
        let parts = 1 + rng.below(11);
        let text: Vec<&str> = (0..parts).map(|_| pieces[rng.below(pieces.len())]).collect();
        texts.push(text.join(":"));
    }
    for text in &texts {
        assert_eq!(parse_v6(text), parse_v6_by_split(text), "{text:?}");
    }
}

#[test]
fn format_v6_agrees_with_the_first_form() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let hextet = |rng: &mut Rng| match rng.below(6) {
        0..=2 => 0,
        3 => 1 << rng.below(16),
        _ => rng.next() as u16,
    };
    let mut ips = vec![0_u128, 1, u128::MAX, 0xffff_0000_0000, 1 << 127];
    for _ in 0..200_000 {
        ips.push((0..8).fold(0_u128, |ip, _| ip << 16 | u128::from(hextet(&mut rng))));
    }
    for ip in ips {
        let text = format_v6(ip);
        assert_eq!(text, format_v6_by_pushes(ip), "{ip:#x}");
        assert_eq!(parse_v6(&text), Some(ip), "{text}");
    }
}
