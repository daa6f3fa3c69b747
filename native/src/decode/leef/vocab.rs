//! What the free-text rule needs to know about a key on an Imperva line, in one hash probe.
//!
//! Every key of an Imperva line is asked three questions: does Imperva emit it
//! (`keys::is_known_key`), are its values free text (`keys::is_free_text_key`), and is it a LEEF
//! spelling of a CEF key (`keys::leef_alias`)? Asked of the tables one by one that is a few dozen
//! string comparisons per key — most of the time of a whole line. This module answers all three
//! from one open-addressing table built once from those same tables, so the answers cannot drift
//! from `keys`.

use std::sync::OnceLock;

use crate::keys::{is_free_text_key, FREE_TEXT_KEYS, IMPERVA_KEYS, LEEF_ALIASES};

/// The answers for one lower-case key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vocab {
    /// Imperva emits it, in CEF or LEEF spelling, or it is a numbered slot (`cs12`, `cn1Label`).
    pub known: bool,
    /// Its values may hold unescaped `word=` text (DESIGN §1).
    pub free: bool,
    /// The CEF key for a LEEF spelling (`popname` → `devicefacility`).
    pub alias: Option<&'static str>,
}

const SLOTS: usize = 256;

struct Table {
    slots: [Option<(&'static str, Vocab)>; SLOTS],
}

fn hash(key: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for &b in key {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h ^ (h >> 15)) as usize % SLOTS
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table { slots: [None; SLOTS] };
        let names = IMPERVA_KEYS.iter().chain(FREE_TEXT_KEYS).copied().chain(LEEF_ALIASES.iter().map(|(a, _)| *a));
        for name in names {
            let vocab = Vocab {
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
            t.slots[at] = Some((name, vocab));
        }
        t
    })
}

/// The answers for `low` (a key in lower case).
pub(crate) fn lookup(low: &[u8]) -> Vocab {
    let t = table();
    let mut at = hash(low);
    while let Some((name, vocab)) = t.slots[at] {
        if name.as_bytes() == low {
            return vocab;
        }
        at = (at + 1) % SLOTS;
    }
    // Not in any table: only the numbered slots are known, and none of them is free text
    // (the free-text slots, cs9–cs11, are in the table).
    Vocab { known: is_slot(low), free: false, alias: None }
}

/// `keys::is_known_key` for a key already in lower case, without allocating.
pub(crate) fn is_known_lower(low: &str) -> bool {
    IMPERVA_KEYS.binary_search(&low).is_ok()
        || LEEF_ALIASES.iter().any(|(alias, _)| *alias == low)
        || is_slot(low.as_bytes())
}

/// `c[sn]\d+(label)?` or `flex(string|number)\d(label)?`.
fn is_slot(low: &[u8]) -> bool {
    let body = low.strip_suffix(b"label").unwrap_or(low);
    if let Some(digits) = body.strip_prefix(b"cs").or_else(|| body.strip_prefix(b"cn")) {
        return !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    }
    if let Some(digit) = body.strip_prefix(b"flexstring").or_else(|| body.strip_prefix(b"flexnumber")) {
        return matches!(digit, [d] if d.is_ascii_digit());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{is_known_key, leef_alias};

    #[test]
    fn lookup_agrees_with_keys() {
        let mut keys: Vec<String> = IMPERVA_KEYS.iter().chain(FREE_TEXT_KEYS).map(|k| k.to_string()).collect();
        keys.extend(LEEF_ALIASES.iter().flat_map(|(a, c)| [a.to_string(), c.to_string()]));
        for k in [
            "cs",
            "cs1",
            "cs12label",
            "cslabel",
            "cn",
            "cn0",
            "cnlabel",
            "cs1labellabel",
            "flexstring1",
            "flexnumber2label",
            "flexstring12",
            "flexstring",
            "flexstringlabel",
            "cs97",
            "label",
            "x",
            "",
            "cs1x",
            "fileidlabel",
            "srclabel",
            "cs9label",
            "cs10label",
            "msg",
            "usrname",
        ] {
            keys.push(k.to_owned());
        }
        for k in &keys {
            let v = lookup(k.as_bytes());
            assert_eq!(v.known, is_known_key(k), "{k}");
            assert_eq!(is_known_lower(k), is_known_key(k), "{k}");
            assert_eq!(v.free, is_free_text_key(k), "{k}");
            assert_eq!(v.alias.unwrap_or(k), leef_alias(k), "{k}");
        }
    }
}
