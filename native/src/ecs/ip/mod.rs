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

mod v6;
#[cfg(test)]
mod tests;

use self::v6::{format_v6, parse_v6};
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
