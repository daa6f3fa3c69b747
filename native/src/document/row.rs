//! One event: a value (or nothing) per slot of the document tree.
//!
//! Speed: a row is made once per run and [`Row::clear`]ed between events, so an event allocates
//! nothing here once the first few have grown the buffers. Text lives in one buffer per row (a
//! string slot holds a range of it, a list a range of ranges); copying a value to another slot
//! ([`Row::copy`]) copies the range, not the text. The slots set are listed in the order they
//! were set and marked in a bitset, so clearing, the Arrow columns and the JSON document visit
//! only what is there.

use std::fmt;
use std::ops::Range;

use crate::fields::{Kind, LEAVES};

/// A value of one leaf, borrowed from its row. Its variant matches the leaf's [`Kind`] (checked
/// by the setters in debug builds); `Json` holds serialised JSON text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Long(i64),
    Double(f64),
    Bool(bool),
    /// Epoch milliseconds.
    Date(i64),
    Geo { lat: f64, lon: f64 },
    StrList(List<'a>),
    Json(&'a str),
}

/// The items of a `StrList` value, borrowed from its row.
#[derive(Clone, Copy)]
pub struct List<'a> {
    text: &'a str,
    items: &'a [Range<usize>],
}

impl<'a> List<'a> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&'a str> {
        self.items.get(i).map(|r| &self.text[r.clone()])
    }

    pub fn first(&self) -> Option<&'a str> {
        self.get(0)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let text = self.text;
        self.items.iter().map(move |r| &text[r.clone()])
    }
}

impl PartialEq for List<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// What a slot holds: ranges of the row's text (`Str`, `Json`) or of its list items (`StrList`).
#[derive(Clone, Debug, Default)]
enum Slot {
    #[default]
    Empty,
    Str(Range<usize>),
    Long(i64),
    Double(f64),
    Bool(bool),
    Date(i64),
    Geo(f64, f64),
    StrList(Range<usize>),
    Json(Range<usize>),
}

/// Bits of the set-slot bitset.
const WORDS: usize = LEAVES.len().div_ceil(64);

/// One event's values, indexed by slot.
#[derive(Clone)]
pub struct Row {
    slots: Vec<Slot>,
    /// The text of every string, list item and JSON value set.
    text: String,
    /// The items of every list set (ranges of `text`).
    items: Vec<Range<usize>>,
    /// The slots set, in the order they were first set.
    set: Vec<usize>,
    bits: [u64; WORDS],
}

impl Default for Row {
    fn default() -> Self {
        Row { slots: vec![Slot::Empty; LEAVES.len()], text: String::new(), items: Vec::new(), set: Vec::new(), bits: [0; WORDS] }
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Self) -> bool {
        (0..LEAVES.len()).all(|slot| self.get(slot) == other.get(slot))
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut slots = self.set.clone();
        slots.sort_unstable();
        f.debug_map().entries(slots.iter().map(|&s| (LEAVES[s].path, self.get(s)))).finish()
    }
}

impl Row {
    pub fn new() -> Row {
        Row::default()
    }

    /// Every slot empty again; the buffers are kept for the next event.
    pub fn clear(&mut self) {
        for &slot in &self.set {
            self.slots[slot] = Slot::Empty;
        }
        self.set.clear();
        self.bits = [0; WORDS];
        self.text.clear();
        self.items.clear();
    }

    fn put(&mut self, slot: usize, kind: Kind, value: Slot) {
        debug_assert_eq!(kind, LEAVES[slot].kind, "slot {} ({})", slot, LEAVES[slot].path);
        if matches!(self.slots[slot], Slot::Empty) {
            self.set.push(slot);
            self.bits[slot / 64] |= 1 << (slot % 64);
        }
        self.slots[slot] = value;
    }

    fn push_text(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    /// Set slot `slot` to a copy of `value`. The value's variant must match the leaf's kind: the
    /// mapping is generated from the same table, so a mismatch is a bug in the core, caught by
    /// the tests.
    pub fn set(&mut self, slot: usize, value: Value<'_>) {
        match value {
            Value::Str(s) => self.set_str(slot, s),
            Value::Long(n) => self.set_long(slot, n),
            Value::Double(f) => self.put(slot, Kind::Double, Slot::Double(f)),
            Value::Bool(b) => self.set_bool(slot, b),
            Value::Date(ms) => self.set_date(slot, ms),
            Value::Geo { lat, lon } => self.put(slot, Kind::Geo, Slot::Geo(lat, lon)),
            Value::StrList(list) => self.set_list(slot, list.iter()),
            Value::Json(text) => self.set_json(slot, text),
        }
    }

    pub fn set_str(&mut self, slot: usize, text: &str) {
        let range = self.push_text(text);
        self.put(slot, Kind::Str, Slot::Str(range));
    }

    /// Set a string slot to the text `write` appends to the row's buffer (a value built in place).
    pub fn set_str_with(&mut self, slot: usize, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        let range = start..self.text.len();
        self.put(slot, Kind::Str, Slot::Str(range));
    }

    pub fn set_long(&mut self, slot: usize, n: i64) {
        self.put(slot, Kind::Long, Slot::Long(n));
    }

    pub fn set_double(&mut self, slot: usize, f: f64) {
        self.put(slot, Kind::Double, Slot::Double(f));
    }

    pub fn set_bool(&mut self, slot: usize, b: bool) {
        self.put(slot, Kind::Bool, Slot::Bool(b));
    }

    pub fn set_date(&mut self, slot: usize, ms: i64) {
        self.put(slot, Kind::Date, Slot::Date(ms));
    }

    pub fn set_geo(&mut self, slot: usize, lat: f64, lon: f64) {
        self.put(slot, Kind::Geo, Slot::Geo(lat, lon));
    }

    pub fn set_json(&mut self, slot: usize, text: &str) {
        let range = self.push_text(text);
        self.put(slot, Kind::Json, Slot::Json(range));
    }

    pub fn set_list<'s>(&mut self, slot: usize, items: impl IntoIterator<Item = &'s str>) {
        let first = self.items.len();
        for item in items {
            let range = self.push_text(item);
            self.items.push(range);
        }
        let range = first..self.items.len();
        self.put(slot, Kind::StrList, Slot::StrList(range));
    }

    /// Slot `slot` empty again (a value that moved into another field: the vendor latitude once it
    /// is part of `source.geo.location`). Its text stays in the buffer until [`clear`](Self::clear).
    pub fn unset(&mut self, slot: usize) {
        if !matches!(self.slots[slot], Slot::Empty) {
            self.slots[slot] = Slot::Empty;
            self.set.retain(|&s| s != slot);
            self.bits[slot / 64] &= !(1 << (slot % 64));
        }
    }

    /// Slot `to` holds what slot `from` holds (nothing is copied but the value's place); nothing
    /// happens when `from` is empty. The two leaves must be of one kind.
    pub fn copy(&mut self, from: usize, to: usize) {
        let value = self.slots[from].clone();
        if !matches!(value, Slot::Empty) {
            self.put(to, LEAVES[from].kind, value);
        }
    }

    pub fn get(&self, slot: usize) -> Option<Value<'_>> {
        Some(match &self.slots[slot] {
            Slot::Empty => return None,
            Slot::Str(r) => Value::Str(&self.text[r.clone()]),
            Slot::Long(n) => Value::Long(*n),
            Slot::Double(f) => Value::Double(*f),
            Slot::Bool(b) => Value::Bool(*b),
            Slot::Date(ms) => Value::Date(*ms),
            Slot::Geo(lat, lon) => Value::Geo { lat: *lat, lon: *lon },
            Slot::StrList(r) => Value::StrList(List { text: &self.text, items: &self.items[r.clone()] }),
            Slot::Json(r) => Value::Json(&self.text[r.clone()]),
        })
    }

    /// The `&str` of a `Str` value in `slot`, if set.
    pub fn str(&self, slot: usize) -> Option<&str> {
        match &self.slots[slot] {
            Slot::Str(r) => Some(&self.text[r.clone()]),
            _ => None,
        }
    }

    pub fn is_set(&self, slot: usize) -> bool {
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// The slots set, in the order they were first set.
    pub fn set_slots(&self) -> &[usize] {
        &self.set
    }

    /// The slots set, in ascending order (document-tree order): one bitset scan.
    pub fn set_ascending(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let bit = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + bit
                })
            })
        })
    }

    /// True when any slot in `slots` is set (a bitset test per 64 slots).
    pub fn any_set(&self, slots: Range<usize>) -> bool {
        let (mut at, end) = (slots.start, slots.end);
        while at < end {
            let word = at / 64;
            let hi = end.min((word + 1) * 64);
            let width = hi - at;
            let mask = if width == 64 { u64::MAX } else { ((1u64 << width) - 1) << (at % 64) };
            if self.bits[word] & mask != 0 {
                return true;
            }
            at = hi;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{EVENT_CATEGORY, SOURCE_ADDRESS, SOURCE_IP};

    #[test]
    fn clear_copy_and_ranges() {
        let mut row = Row::new();
        row.set_str(SOURCE_IP, "10.0.0.1");
        row.copy(SOURCE_IP, SOURCE_ADDRESS);
        row.set_list(EVENT_CATEGORY, ["web", "x"]);
        assert_eq!(row.str(SOURCE_ADDRESS), Some("10.0.0.1"));
        assert_eq!(row.set_slots(), &[SOURCE_IP, SOURCE_ADDRESS, EVENT_CATEGORY]);
        let Some(Value::StrList(list)) = row.get(EVENT_CATEGORY) else { panic!() };
        assert_eq!(list.iter().collect::<Vec<_>>(), ["web", "x"]);
        assert!(row.any_set(0..LEAVES.len()) && row.any_set(SOURCE_IP..SOURCE_IP + 1));
        assert!(!row.any_set(SOURCE_IP + 1..SOURCE_IP + 1) && !row.any_set(0..1));
        let mut ascending = row.set_slots().to_vec();
        ascending.sort_unstable();
        assert_eq!(row.set_ascending().collect::<Vec<_>>(), ascending);
        row.clear();
        assert_eq!(row, Row::new());
        assert!(!row.any_set(0..LEAVES.len()) && row.set_slots().is_empty());
        for slot in 0..LEAVES.len() {
            assert!(!row.any_set(slot..slot + 1));
        }
    }
}
