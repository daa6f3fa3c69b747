//! The keys the mapping knows, found without a string search: the field table's keys and the
//! custom slots' label keys (`cs1label`) in an open-addressing table built once per process. A
//! key costs one hash of its length and end bytes and, almost always, one comparison (a binary
//! search over the sorted plan cost six comparisons per key: a quarter of the mapping's time).

use std::sync::OnceLock;

use crate::fields::{KeyPlan, KEY_PLAN};
use crate::keys::CUSTOM_LABELS;

/// What a known key is.
pub(crate) enum Known {
    /// A row of the field table.
    Plan(&'static KeyPlan),
    /// `<slot>label`: kept under `imperva.waf.labels.<slot>` when it differs from `default`.
    Label { slot: &'static str, default: &'static str },
}

const BUCKETS: usize = 256;

pub(crate) struct KeyIndex {
    /// Index + 1 into `entries` per bucket; 0 is an empty bucket.
    buckets: [u8; BUCKETS],
    entries: Vec<(String, Known)>,
}

impl KeyIndex {
    fn build() -> KeyIndex {
        let mut entries: Vec<(String, Known)> =
            KEY_PLAN.iter().map(|plan| (plan.key.to_owned(), Known::Plan(plan))).collect();
        entries.extend(
            CUSTOM_LABELS.iter().map(|&(slot, default)| (format!("{slot}label"), Known::Label { slot, default })),
        );
        assert!(entries.len() <= BUCKETS / 2, "the key index is sized for the field table");
        let mut buckets = [0_u8; BUCKETS];
        for (i, (key, _)) in entries.iter().enumerate() {
            let mut at = bucket(key);
            while buckets[at] != 0 {
                at = (at + 1) % BUCKETS;
            }
            buckets[at] = u8::try_from(i + 1).expect("at most 128 entries");
        }
        KeyIndex { buckets, entries }
    }

    /// What `key` (canonical, lower case) is, if the mapping knows it.
    pub fn find(&self, key: &str) -> Option<&Known> {
        let mut at = bucket(key);
        loop {
            let entry = usize::from(self.buckets[at]);
            if entry == 0 {
                return None;
            }
            let (known_key, known) = &self.entries[entry - 1];
            if crate::keys::same_key(known_key.as_bytes(), key.as_bytes()) {
                return Some(known);
            }
            at = (at + 1) % BUCKETS;
        }
    }
}

/// A bucket from the key's length and its first and last three bytes (no loop over the key; the
/// keys of the table differ there, and a collision costs one more comparison).
fn bucket(key: &str) -> usize {
    let b = key.as_bytes();
    let n = b.len();
    let at = |i: usize| u32::from(b.get(i).copied().unwrap_or(0));
    let head = at(0) | at(1) << 8 | at(2) << 16 | at(n.wrapping_sub(1)) << 24;
    let tail = at(n.wrapping_sub(2)) | at(n.wrapping_sub(3)) << 8;
    let h = head ^ (n as u32).wrapping_mul(0x85eb_ca6b) ^ tail.wrapping_mul(0x27d4_eb2f);
    (h.wrapping_mul(0x9e37_79b1) >> 24) as usize % BUCKETS
}

/// The index, built on first use.
pub(crate) fn key_index() -> &'static KeyIndex {
    static INDEX: OnceLock<KeyIndex> = OnceLock::new();
    INDEX.get_or_init(KeyIndex::build)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::plan_of;

    #[test]
    fn every_known_key_is_found_and_nothing_else() {
        let index = key_index();
        for plan in KEY_PLAN {
            let found = index.find(plan.key);
            let expected = plan_of(plan.key).unwrap();
            assert!(
                matches!(found, Some(Known::Plan(p)) if p.key == expected.key && p.slot == expected.slot),
                "{}",
                plan.key
            );
        }
        for (slot, default) in CUSTOM_LABELS {
            let found = index.find(&format!("{slot}label"));
            assert!(matches!(found, Some(Known::Label { slot: s, default: d }) if s == slot && d == default), "{slot}");
        }
        // Probes stay short with the cheap hash.
        let longest = KEY_PLAN
            .iter()
            .map(|p| p.key.to_owned())
            .chain(CUSTOM_LABELS.iter().map(|(slot, _)| format!("{slot}label")))
            .map(|key| {
                let mut at = bucket(&key);
                let mut probes = 1;
                while index.entries[usize::from(index.buckets[at]) - 1].0 != key {
                    at = (at + 1) % BUCKETS;
                    probes += 1;
                }
                probes
            })
            .max()
            .unwrap();
        assert!(longest <= 4, "{longest} probes");
        for key in ["", "cs", "cs13", "cs12label", "date", "time", "foo", "srcx", "cs1labelx", "Src", "label"] {
            assert!(index.find(key).is_none(), "{key}");
        }
    }
}
