//! Repeated keys, as Python's `_to_ext` of `wafpipe.decode.cef` folds them: one entry per key
//! at its first position, the first non-empty value kept, every value listed in `dups`.

/// `RawRecord::ext`: canonical key → value, in first-appearance order.
pub(crate) type Ext = Vec<(String, String)>;
/// `RawRecord::dups`: each repeated key → all its values.
pub(crate) type Dups = Vec<(String, Vec<String>)>;

/// Python's `_to_ext`: one entry per key at its first position. A repeated key keeps its first
/// non-empty value (else its first); every value of each repeated key goes to `dups`, keys in
/// order of first appearance.
pub(crate) fn to_ext(pairs: Vec<(String, String)>) -> (Ext, Dups) {
    // Almost every line repeats no key: then the pairs are the ext, as they are.
    let mut seen = Seen::new(pairs.len());
    if (0..pairs.len()).all(|i| seen.insert(&pairs[i].0, i, &pairs).is_none()) {
        return (pairs, Vec::new());
    }
    let mut ext: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    // For each entry of ext, 1 + the index of its values in `dups` (0: not repeated so far).
    let mut dup_of: Vec<usize> = vec![0; pairs.len()];
    let mut dups: Vec<(usize, Vec<String>)> = Vec::new();
    let mut seen = Seen::new(pairs.len());
    for (key, value) in pairs {
        let Some(i) = seen.insert(&key, ext.len(), &ext) else {
            ext.push((key, value));
            continue;
        };
        match dup_of[i] {
            0 => {
                dups.push((i, vec![ext[i].1.clone(), value.clone()]));
                dup_of[i] = dups.len();
            }
            d => dups[d - 1].1.push(value.clone()),
        }
        if ext[i].1.is_empty() && !value.is_empty() {
            ext[i].1 = value;
        }
    }
    dups.sort_by_key(|(at, _)| *at);
    let dups = dups.into_iter().map(|(at, values)| (ext[at].0.clone(), values)).collect();
    (ext, dups)
}

/// Which keys are already placed: an open-addressing table of indexes (+1), on the stack for
/// ordinary lines and on the heap for long ones, so that hostile lines with many keys stay
/// linear as Python's dict is.
struct Seen {
    stack: [usize; 256],
    heap: Vec<usize>,
}

impl Seen {
    fn new(n: usize) -> Seen {
        let heap = if n <= 128 { Vec::new() } else { vec![0; (2 * n).next_power_of_two()] };
        Seen { stack: [0; 256], heap }
    }

    fn hash(key: &str) -> usize {
        let mut h: u32 = 0x811c_9dc5;
        for &b in key.as_bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        (h ^ (h >> 16)) as usize
    }

    /// The index of `key` among `placed` if present; else remember that it will be at `next`.
    fn insert(&mut self, key: &str, next: usize, placed: &[(String, String)]) -> Option<usize> {
        let slots: &mut [usize] = if self.heap.is_empty() { &mut self.stack } else { &mut self.heap };
        let mask = slots.len() - 1;
        let mut at = Self::hash(key) & mask;
        loop {
            match slots[at] {
                0 => {
                    slots[at] = next + 1;
                    return None;
                }
                n if placed[n - 1].0 == key => return Some(n - 1),
                _ => at = (at + 1) & mask,
            }
        }
    }
}
