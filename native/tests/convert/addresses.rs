//! Addresses: IPv4 and IPv6 as Python prints them, zone ids, X-Forwarded-For chains.

use _native::ecs::{split_ips, to_ip, to_ip_list, to_ip_zoned};

use crate::support::message;

// Inputs → str(ipaddress.ip_address(v.strip().strip("[]"))) on Python 3.11.7; None: ValueError.
const IPS: &[(&str, Option<&str>)] = &[
    ("1.2.3.4", Some("1.2.3.4")),
    ("0.0.0.0", Some("0.0.0.0")),
    ("255.255.255.255", Some("255.255.255.255")),
    ("81.2.69.144", Some("81.2.69.144")),
    ("10.0.0.1", Some("10.0.0.1")),
    ("256.1.1.1", None),
    ("1.2.3.256", None),
    ("999.1.1.1", None),
    ("01.2.3.4", None),
    ("1.2.3.04", None),
    ("000.1.1.1", None),
    ("0.0.0.00", None),
    ("1.2.3.0004", None),
    ("1.2.3", None),
    ("1.2.3.4.5", None),
    ("1.2.3.", None),
    (".1.2.3", None),
    ("1..2.3", None),
    ("1.2.3.-4", None),
    ("+1.2.3.4", None),
    ("0x1.2.3.4", None),
    ("1e1.2.3.4", None),
    ("127.1", None),
    ("2130706433", None),
    ("1.2.3.4:80", None),
    ("1.2.3.4/32", None),
    ("1.2.3.4%eth0", None),
    ("\u{661}.2.3.4", None),
    ("\u{ff11}.2.3.4", None),
    ("xxx.xxx.31.120", None),
    (" 1.2.3.4", Some("1.2.3.4")),
    ("1.2.3.4 ", Some("1.2.3.4")),
    ("\u{9}1.2.3.4\u{a}", Some("1.2.3.4")),
    ("\u{1c}1.2.3.4\u{1f}", Some("1.2.3.4")),
    ("\u{a0}1.2.3.4\u{3000}", Some("1.2.3.4")),
    ("\u{200b}1.2.3.4", None),
    ("[1.2.3.4]", Some("1.2.3.4")),
    ("[[1.2.3.4]]", Some("1.2.3.4")),
    ("]1.2.3.4[", Some("1.2.3.4")),
    ("[1.2.3.4", Some("1.2.3.4")),
    ("[ 1.2.3.4]", None),
    (" [1.2.3.4] ", Some("1.2.3.4")),
    ("", None),
    (" ", None),
    ("[]", None),
    ("::", Some("::")),
    ("::1", Some("::1")),
    ("1::", Some("1::")),
    ("::0", Some("::")),
    ("0::0", Some("::")),
    ("2001:DB8::1", Some("2001:db8::1")),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", Some("2001:db8::1")),
    ("0000:0000:0000:0000:0000:0000:0000:0000", Some("::")),
    ("2001:db8:0:0:1:0:0:1", Some("2001:db8::1:0:0:1")),
    ("2001:db8::1:0:0:1", Some("2001:db8::1:0:0:1")),
    ("0:0:1:0:0:1:0:0", Some("::1:0:0:1:0:0")),
    ("1:0:0:1:0:0:0:1", Some("1:0:0:1::1")),
    ("1:0:1:0:1:0:1:0", Some("1:0:1:0:1:0:1:0")),
    ("1:0:0:2:0:0:3:4", Some("1::2:0:0:3:4")),
    ("a:b:c:d:e:f:0:0", Some("a:b:c:d:e:f::")),
    ("0:0:a:b:c:d:0:0", Some("::a:b:c:d:0:0")),
    ("2001:db8:0:1:1:1:1:1", Some("2001:db8:0:1:1:1:1:1")),
    ("2001:db8:0:0:0:0:2:1", Some("2001:db8::2:1")),
    ("2001:db8:85a3::8a2e:370:7334", Some("2001:db8:85a3::8a2e:370:7334")),
    ("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", Some("abcd:ef01:2345:6789:abcd:ef01:2345:6789")),
    ("1:2:3:4:5:6:7:8", Some("1:2:3:4:5:6:7:8")),
    ("1:2:3:4:5:6:7::", Some("1:2:3:4:5:6:7:0")),
    ("::2:3:4:5:6:7:8", Some("0:2:3:4:5:6:7:8")),
    ("1::2:3:4:5:6:7", Some("1:0:2:3:4:5:6:7")),
    ("::0:0:0:0:0:0:0", Some("::")),
    ("0:0:0:0:0:0:0::", Some("::")),
    ("1:2:3:4:5:6:7:8:9", None),
    ("1::2::3", None),
    (":::", None),
    ("::::", None),
    (":", None),
    ("1:2", None),
    (":1::", None),
    ("1:::2", None),
    ("::1:", None),
    (":1:2:3:4:5:6:7", None),
    ("1:2:3:4:5:6:7:", None),
    ("1:2:3:4:5:6:7:8::", None),
    ("::1:2:3:4:5:6:7:8", None),
    ("1::2:3:4:5:6:7:8", None),
    ("12345::", None),
    ("00000::", None),
    ("g::1", None),
    ("::ffff:1.2.3.4", Some("::ffff:102:304")),
    ("::1.2.3.4", Some("::102:304")),
    ("::ffff:0:1.2.3.4", Some("::ffff:0:102:304")),
    ("64:ff9b::192.0.2.33", Some("64:ff9b::c000:221")),
    ("1:2:3:4:5:6:1.2.3.4", Some("1:2:3:4:5:6:102:304")),
    ("1:2:3:4:5:6:7:1.2.3.4", None),
    ("::ffff:0.0.0.0", Some("::ffff:0:0")),
    ("::ffff:255.255.255.255", Some("::ffff:ffff:ffff")),
    ("::1.2.3", None),
    ("::01.2.3.4", None),
    ("::256.1.1.1", None),
    ("1.2.3.4::", None),
    ("::1.2.3.4:5", None),
    ("::\u{663}", None),
    ("::\u{ff21}\u{ff22}", None),
    ("::1/128", None),
    ("[::1]", Some("::1")),
    ("[[::1]]", Some("::1")),
    (" 2001:db8::1 ", Some("2001:db8::1")),
    ("\u{3000}::1", Some("::1")),
    ("::1\u{1c}", Some("::1")),
    ("2001:db8::", Some("2001:db8::")),
];

// Inputs → Python's text split at the zone: (address, zone), or None for ValueError
const ZONED: &[(&str, Option<(&str, &str)>)] = &[
    ("fe80::1%eth0", Some(("fe80::1", "eth0"))),
    ("FE80::ABCD%Eth0", Some(("fe80::abcd", "Eth0"))),
    ("[fe80::1%25eth0]", Some(("fe80::1", "25eth0"))),
    ("fe80::1% 1", Some(("fe80::1", " 1"))),
    ("fe80::1%\u{e9}", Some(("fe80::1", "\u{e9}"))),
    ("1:2:3:4:5:6:7:8%x", Some(("1:2:3:4:5:6:7:8", "x"))),
    ("::%x", Some(("::", "x"))),
    ("::ffff:1.2.3.4%1", Some(("::ffff:102:304", "1"))),
    ("fe80::1%", None),
    ("fe80::1%%", None),
    ("fe80::1%a%b", None),
    ("fe80::1%eth0/64", None),
    ("1.2.3.4%x", None),
    ("%eth0", None),
];

#[test]
fn addresses_are_canonical_as_python_prints_them() {
    for &(input, expected) in IPS {
        match expected {
            Some(canonical) => {
                assert_eq!(to_ip(input).as_deref(), Ok(canonical), "{input:?}");
                assert_eq!(to_ip_zoned(input), Ok((canonical.to_owned(), None)), "{input:?}");
            }
            None => {
                assert!(to_ip(input).is_err(), "{input:?} gave {:?}", to_ip(input));
                assert!(to_ip_zoned(input).is_err(), "{input:?}");
            }
        }
    }
}

#[test]
fn a_zone_id_is_kept_apart_from_the_address() {
    // Intended difference 3: Python printed `fe80::1%eth0`, which an Elasticsearch ip rejects.
    for &(input, expected) in ZONED {
        match expected {
            Some((address, zone)) => {
                assert_eq!(to_ip_zoned(input), Ok((address.to_owned(), Some(zone.to_owned()))), "{input:?}");
                assert!(message(to_ip(input))
                    .ends_with(" is an IPv6 address with a zone id, which an ip field cannot hold"));
            }
            None => {
                assert!(to_ip_zoned(input).is_err(), "{input:?}");
                assert!(message(to_ip(input)).ends_with(" is not an IP address"), "{input:?}");
            }
        }
    }
    assert_eq!(
        message(to_ip("fe80::1%eth0")),
        "'fe80::1%eth0' is an IPv6 address with a zone id, which an ip field cannot hold"
    );
}

#[test]
fn xff_chains_split_keep_order_and_report_the_rest() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(split_ips("1.2.3.4, 2001:DB8::1 ,5.6.7.8"), (s(&["1.2.3.4", "2001:db8::1", "5.6.7.8"]), s(&[])));
    assert_eq!(split_ips(" 9.9.9.9 ,, 1.1.1.1 , ,"), (s(&["9.9.9.9", "1.1.1.1"]), s(&[])));
    assert_eq!(split_ips("unknown, 10.0.0.1, [::1]"), (s(&["10.0.0.1", "::1"]), s(&["unknown"])));
    // Python's `\s` is str.isspace(): U+3000 and U+001C are whitespace there.
    assert_eq!(split_ips("1.2.3.4\u{3000},\u{1c}x y ,01.1.1.1"), (s(&["1.2.3.4"]), s(&["x y", "01.1.1.1"])));
    // Duplicates stay (related.ip de-duplicates, not the list).
    assert_eq!(split_ips("1.1.1.1,1.1.1.1"), (s(&["1.1.1.1", "1.1.1.1"]), s(&[])));
    assert_eq!(split_ips(""), (s(&[]), s(&[])));
    assert_eq!(split_ips(" , "), (s(&[]), s(&[])));
    // A zoned member is not an address of a chain (intended difference 3).
    assert_eq!(split_ips("fe80::1%eth0, 1.2.3.4"), (s(&["1.2.3.4"]), s(&["fe80::1%eth0"])));
    assert_eq!(message(to_ip_list("1.2.3.4, nope, 3::x")), "not IP addresses: nope, 3::x");
    assert_eq!(to_ip_list("").unwrap(), Vec::<String>::new());
}
