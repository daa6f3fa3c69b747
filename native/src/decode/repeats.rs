//! Repeated keys of a CEF or LEEF line: Imperva's own security example repeats `ccode`, and
//! Imperva's docs say fields are optional and unordered, so a line may carry a key twice (FORMATS
//! §2.6 #4).
//!
//! One rule for both formats, because the Python decoders share one: `wafpipe.decode.leef` folds
//! with `_to_ext` of `wafpipe.decode.cef`. W3C is not folded here: its columns are known before
//! the line, and Python's dict comprehension there keeps a repeated key's last non-empty value
//! and no `dups` ([`super::w3c`] does that itself).

use crate::decode::Text;

/// Every value of each repeated key, keys in order of first appearance (`RawRecord.dups`).
pub type Dups<'a> = Vec<(Text<'a>, Vec<Text<'a>>)>;

/// A record's (key, value) pairs.
pub type Pairs<'a> = Vec<(Text<'a>, Text<'a>)>;

/// Python's `_to_ext`: `ext` keeps each key once, at its first place, with its first non-empty
/// value (else its first); `dups` lists every value of each repeated key, keys in order of first
/// appearance (empty when nothing repeats).
pub fn fold_repeats(pairs: Pairs<'_>) -> (Pairs<'_>, Dups<'_>) {
    // Rare past this: the index of each pair's first occurrence (from the hash table, or by
    // sorting when crafted keys make it degenerate), how many times each key occurs, one pass.
    let first = match first_by_hashing(&pairs) {
        Firsts::Distinct => return (pairs, Vec::new()), // the common case: one hash per key
        Firsts::Found(first) => first,
        Firsts::Degenerate => first_occurrences(&pairs),
    };
    let mut count = vec![0usize; pairs.len()];
    for &f in &first {
        count[f] += 1;
    }
    let mut ext: Pairs<'_> = Vec::with_capacity(pairs.len());
    let mut dups: Dups<'_> = Vec::new();
    let mut place = vec![(0usize, 0usize); pairs.len()]; // first index → (ext, dups) position
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        let f = first[i];
        if f == i {
            place[i] = (ext.len(), dups.len());
            if count[i] > 1 {
                dups.push((key.clone(), vec![value.clone()]));
            }
            ext.push((key, value));
        } else {
            let (e, d) = place[f];
            dups[d].1.push(value.clone());
            let kept = &mut ext[e].1;
            if kept.is_empty() {
                *kept = value; // the first non-empty value wins
            }
        }
    }
    (ext, dups)
}

/// What hashing the keys found.
enum Firsts {
    /// No key repeats (nothing allocated).
    Distinct,
    /// For each pair, the index of the first pair with the same key.
    Found(Vec<usize>),
    /// The hash table degenerated (crafted keys that collide): the caller sorts instead, which
    /// is O(n log n) whatever the keys.
    Degenerate,
}

/// Each pair's first occurrence by one hash per key. (Lines with a repeat were sorted, ~25k
/// instructions each; a line without one costs what it did: nothing is allocated until the
/// first repeat.)
fn first_by_hashing(pairs: &[(Text<'_>, Text<'_>)]) -> Firsts {
    let mut stack = [0usize; 128];
    let mut heap = Vec::new();
    let mut table = KeyTable::new(pairs.len(), &mut stack, &mut heap);
    for i in 0..pairs.len() {
        match table.first(pairs, i) {
            Some(f) if f == i => {}
            Some(f) => {
                let mut first: Vec<usize> = Vec::with_capacity(pairs.len());
                first.extend(0..i);
                first.push(f);
                for j in i + 1..pairs.len() {
                    match table.first(pairs, j) {
                        Some(f) => first.push(f),
                        None => return Firsts::Degenerate,
                    }
                }
                return Firsts::Found(first);
            }
            None => return Firsts::Degenerate,
        }
    }
    Firsts::Distinct
}

/// For each pair, the index of the first pair with the same key, by sorting.
fn first_occurrences(pairs: &[(Text<'_>, Text<'_>)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by(|&a, &b| pairs[a].0.cmp(&pairs[b].0).then(a.cmp(&b)));
    let mut first = vec![0; pairs.len()];
    let mut run = 0; // the pair that starts the current run of equal keys (the smallest index)
    for (n, &i) in order.iter().enumerate() {
        if n == 0 || pairs[order[n - 1]].0 != pairs[i].0 {
            run = i;
        }
        first[i] = run;
    }
    first
}

/// Open addressing over pair indexes (0 = empty), keyed by the pair's key: on the stack for
/// ordinary lines, on the heap for long ones.
struct KeyTable<'a> {
    slots: &'a mut [usize],
    mask: usize,
}

impl<'a> KeyTable<'a> {
    fn new(len: usize, stack: &'a mut [usize], heap: &'a mut Vec<usize>) -> KeyTable<'a> {
        let size = (len * 2).next_power_of_two();
        let slots: &'a mut [usize] = if size <= stack.len() {
            &mut stack[..size]
        } else {
            heap.resize(size, 0);
            heap
        };
        KeyTable { slots, mask: size - 1 }
    }

    /// The index of the first pair whose key is pair `i`'s (recording `i` when it is new); None
    /// after too many collisions. Inlined: it is the loop body of every line's fold (as a call it
    /// cost ~1.5k instructions per LEEF event more).
    #[inline(always)]
    fn first(&mut self, pairs: &[(Text<'_>, Text<'_>)], i: usize) -> Option<usize> {
        const MAX_PROBES: usize = 64;
        let key = &pairs[i].0;
        let mut slot = key_hash(key.as_bytes()) & self.mask;
        for _ in 0..MAX_PROBES {
            match self.slots[slot] {
                0 => {
                    self.slots[slot] = i + 1;
                    return Some(i);
                }
                j if pairs[j - 1].0 == *key => return Some(j - 1),
                _ => slot = (slot + 1) & self.mask,
            }
        }
        None
    }
}

/// A hash for short keys: the first and last eight bytes (overlapping) and the length, or the
/// bytes themselves for keys under eight; collisions only cost a comparison.
fn key_hash(bytes: &[u8]) -> usize {
    let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        _ => (bytes.iter().fold(0u64, |h, &b| (h << 8) | u64::from(b)), 0),
    };
    let h = (head ^ (bytes.len() as u64).rotate_left(40)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ tail.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    (h ^ (h >> 29)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_on_the_heap_table() {
        let pairs: Pairs<'_> = (0..200).map(|i| (format!("k{i}").into(), i.to_string().into())).collect();
        assert_eq!(fold_repeats(pairs.clone()), (pairs.clone(), Vec::new()));
        let mut with = pairs;
        with.push(("k7".into(), "again".into()));
        let (ext, dups) = fold_repeats(with);
        assert_eq!(ext.len(), 200);
        assert_eq!(dups, vec![("k7".into(), vec!["7".into(), "again".into()])]);
    }

    #[test]
    fn first_occurrences_by_sorting() {
        let pairs: Pairs<'_> = ["b", "a", "b", "c", "a", "b"].iter().map(|k| ((*k).into(), "".into())).collect();
        assert_eq!(first_occurrences(&pairs), vec![0, 1, 0, 3, 1, 0]);
    }

    #[test]
    fn hashing_and_sorting_find_the_same_first_occurrences() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for len in 0..300 {
            let pairs: Pairs<'_> = (0..len)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let key = format!("k{}", state % (len as u64 / 2 + 1));
                    (key.into(), i.to_string().into())
                })
                .collect();
            let sorted = first_occurrences(&pairs);
            match first_by_hashing(&pairs) {
                Firsts::Distinct => assert!(sorted.iter().enumerate().all(|(i, &f)| f == i), "{len}"),
                Firsts::Found(first) => assert_eq!(first, sorted, "{len}"),
                Firsts::Degenerate => panic!("{len}"),
            }
        }
    }
}
