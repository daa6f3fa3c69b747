//! Which keys the free-text rule (DESIGN §1) asks about, answered without allocating and without
//! a `memcmp` call per table probe: the same answers as [`crate::keys`], over the same generated
//! tables, behind a compile-time signature filter.

use crate::keys::{self, FREE_TEXT_KEYS, IMPERVA_KEYS, LEEF_ALIASES};

/// [`keys::is_known_key`] without its allocation (it is asked inside every free-text value):
/// the same three tests on a lower-cased copy kept on the stack, the table searches only for keys
/// that [`KNOWN`] may hold.
pub(super) fn is_known(key: &str) -> bool {
    let mut buf = [0u8; 32];
    let Some(low) = buf.get_mut(..key.len()) else {
        return keys::is_known_key(key);
    };
    low.copy_from_slice(key.as_bytes());
    low.make_ascii_lowercase();
    let low = &*low;
    (KNOWN.may_hold(low)
        && (IMPERVA_KEYS.binary_search_by(|k| k.as_bytes().cmp(low)).is_ok()
            || LEEF_ALIASES.iter().any(|(alias, _)| alias.as_bytes() == low)))
        || is_slot_key(low)
}

/// `c[sn]\d+(label)?` or `flex(string|number)\d(label)?`, on a lower-case key (as in `keys`).
fn is_slot_key(low: &[u8]) -> bool {
    let strip_label = |s: &[u8]| -> usize { s.strip_suffix(b"label").unwrap_or(s).len() };
    if let Some(rest) = low.strip_prefix(b"cs").or_else(|| low.strip_prefix(b"cn")) {
        let digits = &rest[..strip_label(rest)];
        return !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    }
    if let Some(rest) = low.strip_prefix(b"flexstring").or_else(|| low.strip_prefix(b"flexnumber")) {
        let digits = &rest[..strip_label(rest)];
        return digits.len() == 1 && digits[0].is_ascii_digit();
    }
    false
}

/// [`keys::is_free_text_key`] for the key of every pair of an Imperva line: the signature
/// filter, then the same table scanned by length (no `memcmp` call for keys of other lengths).
pub(super) fn is_free_text(low: &str) -> bool {
    FREE_TEXT.may_hold(low.as_bytes()) && FREE_TEXT_KEYS.iter().any(|k| k.len() == low.len() && *k == low)
}

/// A compile-time filter over a generated key table: a 256-bit set of (length, first byte, last
/// byte) signatures. A key whose signature is absent is certainly not in the table, so the exact
/// lookup — a binary search whose every probe is a `memcmp` call, the hottest part of an Imperva
/// line after allocation — runs only for likely members. Built from the tables themselves, so it
/// follows `make generate`.
struct Signatures([u64; 4]);

/// The keys Imperva emits and their LEEF spellings (lower case).
const KNOWN: Signatures = Signatures::of(IMPERVA_KEYS).and_aliases(LEEF_ALIASES);
/// The free-text keys (lower case).
const FREE_TEXT: Signatures = Signatures::of(FREE_TEXT_KEYS);

impl Signatures {
    const fn signature(key: &[u8]) -> usize {
        if key.is_empty() {
            return 0;
        }
        let (first, last) = (key[0] as usize, key[key.len() - 1] as usize);
        (key.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last) & 255
    }

    const fn with(mut self, key: &str) -> Signatures {
        let sig = Signatures::signature(key.as_bytes());
        self.0[sig / 64] |= 1 << (sig % 64);
        self
    }

    const fn of(keys: &[&str]) -> Signatures {
        let mut set = Signatures([0; 4]);
        let mut i = 0;
        while i < keys.len() {
            set = set.with(keys[i]);
            i += 1;
        }
        set
    }

    const fn and_aliases(mut self, aliases: &[(&str, &str)]) -> Signatures {
        let mut i = 0;
        while i < aliases.len() {
            self = self.with(aliases[i].0);
            i += 1;
        }
        self
    }

    /// False when the lower-case `key` is certainly not in the table.
    fn may_hold(&self, key: &[u8]) -> bool {
        let sig = Signatures::signature(key);
        self.0[sig / 64] & (1 << (sig % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_known_agrees_with_keys() {
        let mut cases: Vec<String> = Vec::new();
        for k in IMPERVA_KEYS.iter().chain(LEEF_ALIASES.iter().map(|(a, _)| a)) {
            cases.extend([k.to_string(), k.to_uppercase(), format!("{k}x"), k[1..].to_string()]);
        }
        for pre in ["", "c", "cs", "cn", "CS", "cN", "cx", "flex", "flexstring", "flexNumber", "flexdate"] {
            for mid in ["", "0", "1", "12", "97", "x", "1x", "123456789012345678901234567890"] {
                for suf in ["", "label", "Label", "labellabel", "lab", "x"] {
                    cases.push(format!("{pre}{mid}{suf}"));
                }
            }
        }
        for case in &cases {
            assert_eq!(is_known(case), keys::is_known_key(case), "{case}");
        }
    }

    #[test]
    fn signature_filters_keep_every_member() {
        assert!(IMPERVA_KEYS.iter().all(|k| KNOWN.may_hold(k.as_bytes())));
        assert!(LEEF_ALIASES.iter().all(|(k, _)| KNOWN.may_hold(k.as_bytes())));
        assert!(FREE_TEXT_KEYS.iter().all(|k| FREE_TEXT.may_hold(k.as_bytes())));
        assert!(!FREE_TEXT.may_hold(b"cs1") && !FREE_TEXT.may_hold(b"src"));
        for key in IMPERVA_KEYS.iter().chain(FREE_TEXT_KEYS).chain(&["cs1", "cs12", "cs9label", "x"]) {
            assert_eq!(is_free_text(key), keys::is_free_text_key(key), "{key}");
        }
    }
}
