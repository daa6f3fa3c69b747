//! Addresses: `ip` and `ip_list` fields (`src`, `sip`, `xff`, …).
//!
//! Version 1 stored `str(ipaddress.ip_address(value.strip().strip("[]")))`. This module accepts
//! exactly the text Python 3.11's `ipaddress` accepts and prints what it prints, by following its
//! algorithm rather than `std::net` (which differs at the edges: it prints `::ffff:1.2.3.4` where
//! Python prints `::ffff:102:304`):
//!
//! * IPv4: exactly four `.`-separated decimal octets, ASCII digits only, at most three digits,
//!   no leading zero (`01` is refused, as glibc's `inet_pton` refuses it), each ≤ 255.
//! * IPv6: 3–9 `:`-separated parts (after an IPv4 tail such as `::1.2.3.4` is turned into two
//!   hextets), at most one `::` standing for at least one zero hextet, hextets of 1–4 ASCII hex
//!   digits; printed in lower case with the longest run of two or more zero hextets (the first
//!   of equal runs) written `::`, per RFC 5952, IPv4 tails in hex.
//! * No `/` anywhere; an IPv6 zone id (`%eth0`) is any non-empty text without `%`. Python kept
//!   it in the address; here it is returned apart (intended difference 3 of [`super::convert`]).

use super::convert::{invalid_repr, Invalid};
use crate::pytext;

/// An `ip` field: the canonical text of an IPv4 or IPv6 address. An address with an IPv6 zone
/// id is Invalid (an Elasticsearch `ip` cannot hold one): use [`to_ip_zoned`] to keep it.
pub fn to_ip(value: &str) -> Result<String, Invalid> {
    match to_ip_zoned(value)? {
        (address, None) => Ok(address),
        (_, Some(_)) => Err(invalid_repr(value, " is an IPv6 address with a zone id, which an ip field cannot hold")),
    }
}

/// An `ip` field that may carry an IPv6 zone id: (canonical address without the zone, the zone
/// as written). `fe80::1%eth0` → (`fe80::1`, `Some("eth0")`); `10.0.0.1` → (`10.0.0.1`, `None`).
pub fn to_ip_zoned(value: &str) -> Result<(String, Option<String>), Invalid> {
    let text = pytext::strip(value).trim_matches(|c| c == '[' || c == ']');
    match parse(text) {
        // Python accepts only the canonical spelling of an IPv4 address (no leading zeros, no
        // sign, four octets), so the text is already what it would print.
        Some((Address::V4, _)) => Ok((text.to_owned(), None)),
        Some((Address::V6(ip), zone)) => Ok((format_v6(ip), zone.map(str::to_owned))),
        None => Err(invalid_repr(value, " is not an IP address")),
    }
}

/// An `xff` chain: split on `,` with optional whitespace around it, empty members dropped, order
/// kept → (canonical addresses, members that are not addresses, as written). Members with a
/// zone id count as not addresses.
pub fn split_ips(value: &str) -> (Vec<String>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    // Python split on the regex `\s*,\s*` after `strip()`: the same as splitting on `,` and
    // stripping each member.
    for member in pytext::strip(value).split(',').map(pytext::strip) {
        if member.is_empty() {
            continue;
        }
        match to_ip(member) {
            Ok(ip) => good.push(ip),
            Err(_) => bad.push(member.to_owned()),
        }
    }
    (good, bad)
}

/// An `ip_list` field whose every member must be an address (the mapper uses [`split_ips`] to
/// keep the good ones of a chain).
pub fn to_ip_list(value: &str) -> Result<Vec<String>, Invalid> {
    let (good, bad) = split_ips(value);
    if bad.is_empty() {
        Ok(good)
    } else {
        Err(Invalid::new(format!("not IP addresses: {}", bad.join(", "))))
    }
}

enum Address {
    V4,
    V6(u128),
}

/// Python's `ip_address(text)`: IPv4 first, then IPv6 with an optional zone id.
fn parse(text: &str) -> Option<(Address, Option<&str>)> {
    if parse_v4(text).is_some() {
        return Some((Address::V4, None)); // holds no '/': the common case skips that search
    }
    if text.contains('/') {
        return None;
    }
    let (addr, zone) = match text.split_once('%') {
        None => (text, None),
        Some((_, "")) => return None,
        Some((_, zone)) if zone.contains('%') => return None,
        Some((addr, zone)) => (addr, Some(zone)),
    };
    Some((Address::V6(parse_v6(addr)?), zone))
}

/// Exactly four `.`-separated octets of one to three ASCII digits, no leading zero, each ≤ 255.
///
/// One pass over the bytes (a `split('.')` with a check per octet cost ~560 instructions per
/// address, most of an event's address work); the split form stays in the tests as the oracle.
fn parse_v4(text: &str) -> Option<u32> {
    let mut ip = 0_u32;
    let (mut octet, mut digits, mut dots) = (0_u32, 0_usize, 0_usize);
    let mut leading_zero = false;
    for &c in text.as_bytes() {
        if c == b'.' {
            if digits == 0 || dots == 3 {
                return None;
            }
            ip = ip << 8 | octet;
            (octet, digits, dots) = (0, 0, dots + 1);
        } else if c.is_ascii_digit() {
            if digits == 3 || leading_zero && digits == 1 {
                return None;
            }
            leading_zero = digits == 0 && c == b'0';
            octet = octet * 10 + u32::from(c - b'0');
            if octet > 255 {
                return None;
            }
            digits += 1;
        } else {
            return None;
        }
    }
    (dots == 3 && digits > 0).then_some(ip << 8 | octet)
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

/// CPython's `_BaseV6._ip_int_from_string`, step by step.
fn parse_v6(text: &str) -> Option<u128> {
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
            let v4 = parse_v4(last)?;
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

/// CPython's `_string_from_ip_int` + `_compress_hextets`.
fn format_v6(ip: u128) -> String {
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

#[cfg(test)]
mod tests {
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
}
