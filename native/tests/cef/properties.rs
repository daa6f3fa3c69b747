//! Properties: the oracle's hypothesis tests, as seeded loops.

use _native::decode::cef::{decode_cef, split_extension};
use _native::keys::IMPERVA_KEYS;

use crate::support::{dec, ext, generic, imperva, Pair, GENERIC, HEAD};

/// SplitMix64: a fixed, dependency-free source of cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Any character, mostly from the BMP.
    fn any_char(&mut self) -> char {
        let limit = if self.below(4) == 0 { 0x11_0000 } else { 0x1_0000 };
        loop {
            if let Some(c) = char::from_u32(self.below(limit) as u32) {
                return c;
            }
        }
    }

    /// The oracle's `_VALUE`: its alphabet, or any character; up to 40 of them.
    fn value(&mut self) -> String {
        const ALPHABET: &[char] = &[
            'a', 'b', ' ', 'Z', '0', '9', ' ', '=', '\\', '|', '"', '\'', '{', '}', '[', ']', ':', ',', '.', '-', '_',
            '\t', '\n', '\r', '\x0b', '\x1c', 'é', '€', '😀',
        ];
        let len = self.below(41);
        (0..len)
            .map(|_| if self.below(2) == 0 { ALPHABET[self.below(ALPHABET.len())] } else { self.any_char() })
            .collect()
    }

    /// The oracle's `_KEY`: `[A-Za-z][A-Za-z0-9_]{0,12}`.
    fn key(&mut self) -> String {
        const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        const REST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
        let mut key = String::from(FIRST[self.below(FIRST.len())] as char);
        for _ in 0..self.below(13) {
            key.push(REST[self.below(REST.len())] as char);
        }
        key
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('=', "\\=").replace('\n', "\\n").replace('\r', "\\r")
}

/// Pairs with distinct lower-case keys; the last value without trailing blanks (it would lose
/// them), and on Imperva lines no value starting with a blank (it would lose one).
fn case(rng: &mut Rng, count: usize, mut key: impl FnMut(&mut Rng) -> String, imperva: bool) -> Vec<(String, String)> {
    let mut items: Vec<(String, String)> = Vec::new();
    for _ in 0..count {
        let k = key(rng);
        if items.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(&k)) {
            continue;
        }
        let mut v = rng.value();
        if imperva {
            v = v.trim_start_matches(' ').to_string();
        }
        items.push((k, v));
    }
    if let Some(last) = items.last_mut() {
        last.1 = last.1.trim_end_matches([' ', '\t', '\r', '\n']).to_string();
    }
    items
}

fn lower(items: &[(String, String)]) -> Vec<Pair> {
    items.iter().map(|(k, v)| (k.to_lowercase().into(), v.clone().into())).collect()
}

fn join(items: &[(String, String)]) -> String {
    items.iter().map(|(k, v)| format!("{k}={}", escape(v))).collect::<Vec<_>>().join(" ")
}

#[test]
fn roundtrip_generic() {
    let mut rng = Rng(1);
    for _ in 0..300 {
        let count = 1 + rng.below(12);
        let items = case(&mut rng, count, Rng::key, false);
        let line = generic(&join(&items));
        assert_eq!(split_extension(line.splitn(8, '|').nth(7).unwrap(), false).unwrap(), items, "{line:?}");
        assert_eq!(ext(&line), lower(&items), "{line:?}");
    }
}

#[test]
fn roundtrip_imperva() {
    let mut keys: Vec<String> = IMPERVA_KEYS.iter().filter(|k| **k != "customer").map(|k| k.to_string()).collect();
    keys.extend(["cs1", "cs9", "cs10", "cs11", "cs9Label", "Customer", "fileId"].map(String::from));
    let mut rng = Rng(2);
    for _ in 0..300 {
        let count = 1 + rng.below(15);
        let items = case(&mut rng, count, |r| keys[r.below(keys.len())].clone(), true);
        let line = imperva(&join(&items));
        assert_eq!(split_extension(line.splitn(8, '|').nth(7).unwrap(), true).unwrap(), items, "{line:?}");
        let rec = dec(&line);
        assert_eq!(rec.ext, lower(&items), "{line:?}");
        assert!(rec.warnings.is_empty(), "{line:?}: {:?}", rec.warnings);
    }
}

#[test]
fn arbitrary_text_decodes_or_raises_decode_error() {
    let prefixes = ["", "CEF:0|", GENERIC, HEAD, r"CEF:0|a|b|c\|d|e|f|"];
    let mut rng = Rng(3);
    for _ in 0..2000 {
        let mut line = prefixes[rng.below(prefixes.len())].to_string();
        for _ in 0..rng.below(201) {
            let c = match rng.below(8) {
                0 => ' ',
                1 => '=',
                2 => '\\',
                3 => '|',
                4 => '\n',
                _ => rng.any_char(),
            };
            line.push(c);
        }
        if let Err(e) = decode_cef(&line) {
            assert!(!e.reason.is_empty());
            assert!((1..=line.chars().count() + 1).contains(&e.column), "{line:?}: {e:?}");
        }
    }
}
