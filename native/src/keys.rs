//! Imperva's key vocabulary. The tables are generated from `src/wafpipe/fields/keys.py`
//! (`make generate`); the lookups over them are here, for the decoders and the Python boundary.
//!
//! Every key of an Imperva line is asked three questions: does Imperva emit it ([`is_known_key`]),
//! are its values free text ([`is_free_text_key`]), and is it a LEEF spelling of a CEF key
//! ([`leef_alias`])? Asked of the tables one by one that is a few dozen string comparisons per
//! key, most of the time of a whole line; [`key_info`] answers all three in one hash probe, from
//! a table built once from these same definitions, so the answers cannot drift.

use std::sync::OnceLock;

#[path = "generated/keys.rs"]
mod generated;

pub use generated::*;

/// The canonical CEF key for a LEEF spelling, or the key itself.
pub fn leef_alias(lower: &str) -> &str {
    LEEF_ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower, |(_, key)| key)
}

/// True when `key` (any case) is an Imperva key in CEF or LEEF spelling (FORMATS §2.7): one Imperva
/// emits, a LEEF alias, or a numbered custom slot (`cs12`, `cn1Label`, `flexString1`, `cs98`…).
pub fn is_known_key(key: &str) -> bool {
    key_info_any_case(key).known
}

/// True when values of `key` (canonical) may hold unescaped `word=` text (DESIGN §1).
pub fn is_free_text_key(key: &str) -> bool {
    FREE_TEXT_KEYS.binary_search(&key).is_ok()
}

/// [`is_known_key`] for a key in lower case: the definition the lookup table is built from.
fn is_known_lower(low: &str) -> bool {
    IMPERVA_KEYS.binary_search(&low).is_ok()
        || LEEF_ALIASES.iter().any(|(alias, _)| *alias == low)
        || is_slot_key(low.as_bytes())
}

/// `c[sn]\d+(label)?` or `flex(string|number)\d(label)?`, in lower case (the `cs9[7-9]` slots are
/// covered by the first form).
fn is_slot_key(low: &[u8]) -> bool {
    let body = low.strip_suffix(b"label").unwrap_or(low);
    if let Some(digits) = body.strip_prefix(b"cs").or_else(|| body.strip_prefix(b"cn")) {
        return !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    }
    if let Some(digit) = body.strip_prefix(b"flexstring").or_else(|| body.strip_prefix(b"flexnumber")) {
        return matches!(digit, [d] if d.is_ascii_digit());
    }
    false
}

/// The three answers for one key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyInfo {
    /// Imperva emits it, in CEF or LEEF spelling, or it is a numbered slot ([`is_known_key`]).
    pub known: bool,
    /// Its values may hold unescaped `word=` text ([`is_free_text_key`]).
    pub free: bool,
    /// The CEF key for a LEEF spelling (`popname` → `devicefacility`, [`leef_alias`]).
    pub alias: Option<&'static str>,
}

/// The answers for `low`, a key in lower case: one hash probe.
pub fn key_info(low: &[u8]) -> KeyInfo {
    key_lookup(low).1
}

/// [`key_info`], and the key itself as a static string when the table holds it (Imperva's keys,
/// LEEF spellings, the custom slots and their labels), so a decoded record need not own a copy.
pub fn key_lookup(low: &[u8]) -> (Option<&'static str>, KeyInfo) {
    let (found, info) = key_lookup_at(low);
    (found.map(|(_, name)| name), info)
}

/// The number of places in the table: [`key_lookup_at`]'s places are below it.
pub(crate) const KEY_PLACES: usize = SLOTS;

/// [`key_lookup`], with the key's place in the table when the table holds it. A place holds one
/// name, so two keys the table holds are the same key exactly when their places are: a decoder
/// tells a repeated key by its place, without comparing or hashing keys again.
pub(crate) fn key_lookup_at(low: &[u8]) -> (Option<(usize, &'static str)>, KeyInfo) {
    let t = table();
    let mut at = hash(low);
    while let Some((name, info)) = t.slots[at] {
        if same_key(name.as_bytes(), low) {
            return (Some((at, name)), info);
        }
        at = (at + 1) % SLOTS;
    }
    // In no table: only the numbered slots are known, and none of them is free text (the
    // free-text slots, cs9–cs11, are in the table).
    (None, KeyInfo { known: is_slot_key(low), free: false, alias: None })
}

/// [`key_lookup_at`] for a key in any case made of key characters (`[A-Za-z0-9_.,\[\]-]`, as the
/// CEF cut finds them), without lower-casing it first: the key and the names are compared with
/// bit 5 of every byte set ([`same_key_folded`]), which tells keys made of those characters
/// apart exactly as lower-casing does. None when the table does not hold the key (the caller
/// then lower-cases it: an unknown key, or a numbered slot the table leaves out). Inlined into
/// the cuts' loops (as a call, ~1k instructions per CEF event more; `#[inline]` alone was not
/// taken once the function had two callers).
#[inline(always)]
pub(crate) fn key_lookup_folded(key: &[u8]) -> Option<(usize, &'static str, KeyInfo)> {
    let t = table();
    let mut at = hash(key);
    while let Some((name, info)) = t.slots[at] {
        if same_key_folded(name.as_bytes(), key) {
            return Some((at, name, info));
        }
        at = (at + 1) % SLOTS;
    }
    None
}

/// `a == b` with bit 5 of every byte set on both sides (ASCII letters compare without case).
#[inline]
fn same_key_folded(a: &[u8], b: &[u8]) -> bool {
    /// The first and last `N` bytes of `a` and `b` agree once folded.
    fn ends<const N: usize>(a: &[u8], b: &[u8]) -> bool {
        let fold = |chunk: Option<&[u8; N]>| chunk.map(|c| c.map(|byte| byte | 0x20));
        fold(a.first_chunk::<N>()) == fold(b.first_chunk::<N>())
            && fold(a.last_chunk::<N>()) == fold(b.last_chunk::<N>())
    }
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        0 => true,
        1 => a[0] | 0x20 == b[0] | 0x20,
        2..=3 => ends::<2>(a, b),
        4..=7 => ends::<4>(a, b),
        8..=16 => ends::<8>(a, b),
        17..=32 => ends::<16>(a, b),
        _ => a.iter().zip(b).all(|(x, y)| x | 0x20 == y | 0x20),
    }
}

/// `a == b` for keys: a key of up to 32 bytes is compared as two overlapping pieces of its
/// width class (2, 4, 8 or 16 bytes), longer ones as slices. No `memcmp` call for the lengths
/// keys have: for keys under 8 bytes (`src`, `act`, `cs1`…) that call was ~20 instructions of a
/// lookup that otherwise costs a few.
#[inline]
pub(crate) fn same_key(a: &[u8], b: &[u8]) -> bool {
    /// The first and last `N` bytes of `a` and `b` (overlapping when shorter than `2 * N`) agree.
    fn ends<const N: usize>(a: &[u8], b: &[u8]) -> bool {
        a.first_chunk::<N>() == b.first_chunk::<N>() && a.last_chunk::<N>() == b.last_chunk::<N>()
    }
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => ends::<2>(a, b),
        4..=7 => ends::<4>(a, b),
        8..=16 => ends::<8>(a, b),
        17..=32 => ends::<16>(a, b),
        _ => a == b,
    }
}

/// [`key_info`] for a key in any (ASCII) case, lower-cased on the stack (keys of up to 64 bytes).
pub fn key_info_any_case(key: &str) -> KeyInfo {
    let mut buf = [0u8; 64];
    match buf.get_mut(..key.len()) {
        Some(low) => {
            low.copy_from_slice(key.as_bytes());
            low.make_ascii_lowercase();
            key_info(low)
        }
        None => key_info(key.to_ascii_lowercase().as_bytes()),
    }
}

const SLOTS: usize = 256;

/// Open addressing over every key of the generated tables.
struct Table {
    slots: [Option<(&'static str, KeyInfo)>; SLOTS],
}

/// A hash of the length and the first and last two bytes: constant time, and enough to spread
/// the few dozen keys of the tables (a collision only costs a probe).
fn hash(key: &[u8]) -> usize {
    let n = key.len();
    // Bit 5 set, so a key in any case lands where its lower-case name does ([`key_lookup_folded`]).
    let at = |i: usize| u32::from(key.get(i).copied().unwrap_or(0) | 0x20);
    let ends = at(0) | at(1) << 8 | at(n.wrapping_sub(2)) << 16 | at(n.wrapping_sub(1)) << 24;
    ((ends ^ (n as u32).wrapping_mul(0x85eb_ca6b)).wrapping_mul(0x9e37_79b1) >> 24) as usize % SLOTS
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table { slots: [None; SLOTS] };
        // Imperva's custom slots and their labels too (`cs1`, `cs1label`): numbered slots, known
        // without the table, but in it their names are static.
        let slots = CUSTOM_LABELS
            .iter()
            .flat_map(|&(slot, _)| [slot, &*Box::leak(format!("{slot}label").into_boxed_str())]);
        let names = IMPERVA_KEYS
            .iter()
            .chain(FREE_TEXT_KEYS)
            .copied()
            .chain(LEEF_ALIASES.iter().map(|(a, _)| *a))
            .chain(slots);
        for name in names {
            let info = KeyInfo {
                known: is_known_lower(name),
                free: is_free_text_key(name),
                alias: LEEF_ALIASES.iter().find(|(a, _)| *a == name).map(|(_, cef)| *cef),
            };
            let mut at = hash(name.as_bytes());
            while let Some((other, _)) = t.slots[at] {
                if other == name {
                    break;
                }
                at = (at + 1) % SLOTS;
            }
            t.slots[at] = Some((name, info));
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(IMPERVA_KEYS.windows(2).all(|w| w[0] < w[1]));
        assert!(FREE_TEXT_KEYS.windows(2).all(|w| w[0] < w[1]));
        assert!(IMPERVA_KEYS.len() + FREE_TEXT_KEYS.len() + LEEF_ALIASES.len() + 2 * CUSTOM_LABELS.len() < SLOTS / 2);
    }

    /// The folded lookup finds what lower-casing and the exact lookup find, for every key made
    /// of key characters: the table's names in any case, near misses, and random keys.
    #[test]
    fn folded_lookup_is_lower_cased_lookup() {
        // The CEF cut's key characters, `[A-Za-z0-9_.,\[\]-]`.
        let key_char = |b: u8| b.is_ascii_alphanumeric() || b"_.,[]-".contains(&b);
        let t = table();
        let names: Vec<&str> = t.slots.iter().flatten().map(|(name, _)| *name).collect();
        for name in &names {
            assert!(name.bytes().all(|b| key_char(b) && !b.is_ascii_uppercase()), "{name}");
        }
        let chars: Vec<u8> = (0..=255u8).filter(|&b| key_char(b)).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for name in &names {
            for _ in 0..8 {
                let mut key = name.as_bytes().to_vec();
                for b in &mut key {
                    if next(2) == 0 {
                        b.make_ascii_uppercase();
                    }
                }
                keys.push(key.clone());
                let at = next(key.len());
                key[at] = chars[next(chars.len())];
                keys.push(key);
            }
        }
        for _ in 0..20_000 {
            let len = 1 + next(40);
            keys.push((0..len).map(|_| chars[next(chars.len())]).collect());
        }
        for key in keys {
            let low = key.to_ascii_lowercase();
            let exact = key_lookup_at(&low).0;
            let folded = key_lookup_folded(&key).map(|(at, name, _)| (at, name));
            assert_eq!(folded, exact, "{:?}", String::from_utf8_lossy(&key));
            if let Some((_, _, info)) = key_lookup_folded(&key) {
                assert_eq!(info, key_lookup_at(&low).1);
            }
            for other in &names {
                assert_eq!(same_key_folded(other.as_bytes(), &key), other.as_bytes() == low, "{other}");
            }
        }
    }

    #[test]
    fn same_key_is_equality() {
        let alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
        let words: Vec<&str> = (0..=alphabet.len()).map(|n| &alphabet[..n]).collect();
        for &a in &words {
            for &b in &words {
                assert_eq!(same_key(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
            }
            for i in 0..a.len() {
                let mut c = a.as_bytes().to_vec();
                c[i] ^= 1;
                assert!(!same_key(a.as_bytes(), &c), "{a:?} at {i}");
            }
        }
    }

    #[test]
    fn known_keys() {
        for k in ["fileId", "SRC", "cs1", "cs1Label", "cn12", "flexString1Label", "flexNumber2", "cs98",
                  "popName", "proto"] {
            assert!(is_known_key(k), "{k}");
        }
        for k in ["cs", "cslabel", "flexstring12", "foo", "csx", "cn1labelx", ""] {
            assert!(!is_known_key(k), "{k}");
        }
        assert_eq!(leef_alias("popname"), "devicefacility");
        assert_eq!(leef_alias("src"), "src");
        assert!(is_free_text_key("postbody"));
        assert!(!is_free_text_key("src"));
    }

    #[test]
    fn key_info_agrees_with_the_definitions() {
        let mut cases: Vec<String> = Vec::new();
        for k in IMPERVA_KEYS.iter().chain(FREE_TEXT_KEYS).chain(LEEF_ALIASES.iter().flat_map(|(a, c)| [a, c])) {
            cases.extend([k.to_string(), k.to_uppercase(), format!("{k}x"), format!("{k}label"), k[1..].to_string()]);
        }
        for pre in ["", "c", "cs", "cn", "CS", "cN", "cx", "flex", "flexstring", "flexNumber", "flexdate", "label"] {
            for mid in ["", "0", "1", "12", "97", "x", "1x", "123456789012345678901234567890"] {
                for suf in ["", "label", "Label", "labellabel", "lab", "x"] {
                    cases.push(format!("{pre}{mid}{suf}"));
                }
            }
        }
        cases.push("cs1".repeat(30)); // longer than the stack buffer
        for case in &cases {
            let low = case.to_ascii_lowercase();
            let info = key_info_any_case(case);
            assert_eq!(info, key_info(low.as_bytes()), "{case}");
            assert_eq!(info.known, is_known_lower(&low), "{case}");
            assert_eq!(info.free, is_free_text_key(&low), "{case}");
            assert_eq!(info.alias.unwrap_or(&low), leef_alias(&low), "{case}");
        }
    }
}
