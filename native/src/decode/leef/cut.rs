//! Cutting attribute text at every `<delimiter>key=` — the Python `_cut` of
//! `wafpipe.decode.cef`, which LEEF shares with CEF — into canonical keys and final values
//! (repeated keys are folded afterwards, by [`crate::decode::cef::fold_repeats`]). The pieces
//! that do not depend on the delimiter are CEF's too, in `crate::decode::keyvalue`.
//!
//! The text being cut is `ext = delimiter + tail`: Python prepends the delimiter when the
//! attributes do not start with one, so that every key, the first included, follows a delimiter.
//! Here the delimiter is kept apart from `tail` (a slice of the line), which spares a copy and
//! keeps every column a plain position in the line.
//!
//! Semantics, each matching a line of the Python:
//! * A key is `[A-Za-z0-9_][A-Za-z0-9_.,\[\]-]*` right after a delimiter and right before `=`;
//!   matches are found left to right and never overlap (`re.split` with a possessive key).
//! * Text before the first key must be blank, or the line is a "keyless value" error.
//! * On Imperva lines an unknown key inside a free-text value is glued back into the value
//!   (DESIGN §1); and when `"= "` occurs anywhere, every value loses one leading blank.
//! * Values are un-escaped (`\=`, `\\`, `\n`, `\r`); an `=` that is neither a key's nor escaped is
//!   kept and flagged, with the 1-based column of the first such `=` in each original value.
//! * Hostile lines stay linear, as Python's regex and dicts are (many keys, long runs of key
//!   characters under a key-character delimiter, many warnings).

use memchr::{memchr, memchr_iter, memmem};

use crate::decode::keyvalue::{
    even_backslashes_before, keyless_value, unescape, unescaped_eq_warning, KEY_CHAR, KEY_START,
};
use crate::decode::repeats::Pairs;
use crate::decode::{DecodeError, Text};
use crate::keys::{key_info_any_case, key_lookup_at, key_lookup_folded, KEY_PLACES};
use crate::pytext::{self, Columns};

/// What [`cut`] is cutting: `ext = delim + line[tail]`.
pub(crate) struct Attrs<'a> {
    pub line: &'a str,
    /// Byte range of `tail` in `line`.
    pub tail: std::ops::Range<usize>,
    pub delim: char,
    /// Vendor `Incapsula`: the free-text rule and the `"= "` rule apply.
    pub imperva: bool,
    /// Translate Imperva's LEEF spellings to CEF keys (`popName` → `devicefacility`).
    pub leef_aliases: bool,
}

/// The pairs of a line (canonical keys, final values, in order) and its warnings.
pub(crate) struct Cut<'a> {
    pub pairs: Pairs<'a>,
    pub warnings: Vec<String>,
    /// True when no key repeats, told by the keys' places in the key table (as the CEF cut
    /// does); false means "maybe" (a repeat, a key the table does not hold, a non-Imperva line).
    pub distinct: bool,
}

#[inline]
fn is_key_start(b: u8) -> bool {
    KEY_START[usize::from(b)]
}

#[inline]
fn is_key_char(b: u8) -> bool {
    KEY_CHAR[usize::from(b)]
}

/// One `<delim>key=` in `tail`: where its delimiter is (None: the delimiter in front of `tail`),
/// the key's byte range, and where the value starts.
#[derive(Clone, Copy)]
struct Match {
    delim_at: Option<usize>,
    key: (usize, usize),
    value_at: usize,
}

/// The matches of `<delim>key=` in `ext = delim + t`, left to right, never overlapping.
///
/// Two equivalent searches. When the delimiter can be neither part of a key nor `=` (a blank, a
/// TAB, `^`, `|`, anything outside ASCII), the key before a given `=` can only be the run of key
/// characters right before it, so it is enough to visit each `=` (found with `memchr`, about
/// half as many as the blanks of a space-separated line) and look back. Otherwise (`_`, `a`,
/// `=`…) the regex's own walk is followed: each delimiter, then the key after it.
struct Matches<'a> {
    t: &'a [u8],
    delim: [u8; 4],
    dlen: usize,
    /// Where the search goes on: after the last match's `=`, or after a rejected delimiter.
    from: usize,
    by_equals: bool,
    started: bool,
    /// The last run of key characters measured, `[start, end)`: a delimiter that is itself a key
    /// character puts many candidate keys inside one run, and each would scan it again.
    run: (usize, usize),
}

impl<'a> Matches<'a> {
    fn new(t: &'a [u8], delim: char) -> Matches<'a> {
        let mut buf = [0u8; 4];
        let dlen = delim.encode_utf8(&mut buf).len();
        let by_equals = dlen > 1 || !(is_key_char(buf[0]) || buf[0] == b'=');
        Matches { t, delim: buf, dlen, from: 0, by_equals, started: false, run: (0, 0) }
    }

    /// The next delimiter at or after `from` (the delimiter-walk only sees ASCII delimiters).
    fn next_delim(&self) -> Option<usize> {
        memchr(self.delim[0], self.t.get(self.from..)?).map(|n| self.from + n)
    }

    /// The index of the `=` ending a key that starts at `at`, if one does.
    fn key_end(&mut self, at: usize) -> Option<usize> {
        let t = self.t;
        if !is_key_start(*t.get(at)?) {
            return None;
        }
        let (start, end) = self.run;
        let end = if start <= at && at < end {
            end
        } else {
            let end = t[at + 1..].iter().position(|&b| !is_key_char(b)).map_or(t.len(), |n| at + 1 + n);
            self.run = (at, end);
            end
        };
        (t.get(end) == Some(&b'=')).then_some(end)
    }

    fn next_by_equals(&mut self) -> Option<Match> {
        let t = self.t;
        loop {
            let eq = self.from + memchr(b'=', t.get(self.from..)?)?;
            self.from = eq + 1;
            // The run of key characters before this '=' stops at the previous match's '='.
            let start = t[..eq].iter().rposition(|&b| !is_key_char(b)).map_or(0, |i| i + 1);
            if start == eq || !is_key_start(t[start]) {
                continue;
            }
            if start == 0 {
                return Some(Match { delim_at: None, key: (0, eq), value_at: eq + 1 });
            }
            let delim = &self.delim[..self.dlen];
            if start >= self.dlen && &t[start - self.dlen..start] == delim {
                return Some(Match { delim_at: Some(start - self.dlen), key: (start, eq), value_at: eq + 1 });
            }
        }
    }
}

impl Iterator for Matches<'_> {
    type Item = Match;

    fn next(&mut self) -> Option<Match> {
        if self.by_equals {
            return self.next_by_equals();
        }
        if !self.started {
            self.started = true;
            if let Some(eq) = self.key_end(0) {
                self.from = eq + 1;
                return Some(Match { delim_at: None, key: (0, eq), value_at: eq + 1 });
            }
        }
        loop {
            let at = self.next_delim()?;
            let key_at = at + self.dlen;
            if let Some(eq) = self.key_end(key_at) {
                self.from = eq + 1;
                return Some(Match { delim_at: Some(at), key: (key_at, eq), value_at: eq + 1 });
            }
            self.from = at + 1;
        }
    }
}

/// A key as the Python spells it after `_cut`: lower case (and, on Imperva LEEF lines, in its
/// CEF spelling), plus whether Imperva emits it and whether its values are free text (both only
/// asked on Imperva lines).
struct Key<'a> {
    low: Text<'a>,
    known: bool,
    free: bool,
    /// Its place in the key table, when the table holds it (Imperva lines only).
    place: Option<usize>,
}

/// `key` in lower case, borrowed when it already is (keys are ASCII).
fn lower(key: &str) -> Text<'_> {
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        Text::Owned(key.to_ascii_lowercase())
    } else {
        Text::Borrowed(key)
    }
}

/// On Imperva lines the key is looked up as written (no lower-cased copy: see
/// [`crate::keys`]' folded lookup), and a key the table holds is its static name (a lower-cased
/// `String` for every key written with upper case was ~17 allocations per generated LEEF line).
fn canon(key: &str, imperva: bool, leef_aliases: bool) -> Key<'_> {
    if !imperva {
        return Key { low: lower(key), known: false, free: false, place: None };
    }
    match key_lookup_folded(key.as_bytes()) {
        Some((at, name, info)) => {
            let (low, place) = match info.alias {
                Some(cef) if leef_aliases => (Text::Borrowed(cef), key_lookup_at(cef.as_bytes()).0.map(|(at, _)| at)),
                _ => (Text::Borrowed(name), Some(at)),
            };
            Key { low, known: info.known, free: info.free, place }
        }
        None => {
            // Not in the table (so no LEEF spelling): known only as a numbered slot.
            let info = key_info_any_case(key);
            Key { low: lower(key), known: info.known, free: info.free, place: None }
        }
    }
}

/// Non-overlapping occurrences of `needle` in `hay` (`str.count`).
fn count(hay: &str, needle: &str) -> usize {
    memmem::find_iter(hay.as_bytes(), needle.as_bytes()).count()
}

/// Byte index of the first `=` not escaped by an odd run of backslashes (`(?<!\\)(?:\\\\)*=`).
fn unescaped_eq(value: &[u8]) -> Option<usize> {
    memchr_iter(b'=', value).find(|&eq| even_backslashes_before(value, eq))
}

/// Cut `ext = delim + tail` into pairs (see the module docs). `Err` for a keyless value.
pub(crate) fn cut<'a>(a: &Attrs<'a>) -> Result<Cut<'a>, DecodeError> {
    let tail = &a.line[a.tail.clone()];
    let t = tail.as_bytes();
    let mut matches = Matches::new(t, a.delim);
    let mut next = matches.next();

    // Text before the first key: the delimiter itself plus anything up to the first match.
    let head_end = match next {
        Some(m) => m.delim_at,
        None => Some(t.len()),
    };
    if let Some(end) = head_end {
        let head = &tail[..end];
        if !(pytext::is_space(a.delim) && head.chars().all(pytext::is_space)) {
            return Err(keyless_value(head, pytext::column(a.line, a.tail.start)));
        }
    }

    let strip_blank = a.imperva && (memmem::find(t, b"= ").is_some() || a.delim == '=' && t.first() == Some(&b' '));
    let eq_count = memchr_iter(b'=', t).count() + usize::from(a.delim == '=');
    let mut pairs: Pairs<'a> = Vec::with_capacity(eq_count.min(256));
    let mut n_keys = 0usize;
    let mut escaped = 0isize;
    // The value being built: its key, whether it is free text, and its byte range in `tail`
    // (a glued value spans the glued keys too, exactly the text Python re-assembles).
    let mut pending: Option<(Key, usize, usize)> = None;
    let mut places = [0u64; KEY_PLACES / 64];
    let mut distinct = true;
    let mut finish = |key: Key<'a>, start: usize, end: usize, pairs: &mut Pairs<'a>| {
        match key.place {
            Some(at) => {
                let (word, bit) = (at / 64, 1u64 << (at % 64));
                distinct &= places[word] & bit == 0;
                places[word] |= bit;
            }
            None => distinct = false,
        }
        let mut value = &tail[start..end];
        if strip_blank && value.starts_with(' ') {
            value = &value[1..];
        }
        let value = if memchr(b'\\', value.as_bytes()).is_some() {
            escaped += count(value, "\\=") as isize - count(value, "\\\\=") as isize;
            Text::Owned(unescape(value))
        } else {
            Text::Borrowed(value)
        };
        pairs.push((key.low, value));
    };
    while let Some(m) = next {
        next = matches.next();
        n_keys += 1;
        let key = canon(&tail[m.key.0..m.key.1], a.imperva, a.leef_aliases);
        let value_end = next.and_then(|n| n.delim_at).unwrap_or(t.len());
        if let Some((_, _, end)) = pending.as_mut().filter(|(prev, ..)| a.imperva && !key.known && prev.free) {
            *end = value_end; // DESIGN §1: an unknown key inside a free-text value is text
            continue;
        }
        if let Some((prev, start, end)) = pending.take() {
            finish(prev, start, end, &mut pairs);
        }
        pending = Some((key, m.value_at, value_end));
    }
    if let Some((prev, start, end)) = pending.take() {
        finish(prev, start, end, &mut pairs);
    }

    let extra = eq_count as isize - n_keys as isize - escaped;
    let warnings = if extra > 0 { eq_warnings(a, tail) } else { Vec::new() };
    Ok(Cut { pairs, warnings, distinct })
}

/// One warning per original value holding an unescaped `=`, naming the key as written and the
/// 1-based column of that `=` in the line.
fn eq_warnings(a: &Attrs<'_>, tail: &str) -> Vec<String> {
    let t = tail.as_bytes();
    let mut out = Vec::new();
    // Columns count characters; the '=' found only move forward, so count as we go.
    let mut columns = Columns::new(a.line);
    let mut matches = Matches::new(t, a.delim);
    let mut next = matches.next();
    while let Some(m) = next {
        next = matches.next();
        let end = next.and_then(|n| n.delim_at).unwrap_or(t.len());
        if let Some(eq) = unescaped_eq(&t[m.value_at..end]) {
            let column = columns.at(a.tail.start + m.value_at + eq);
            out.push(unescaped_eq_warning(&tail[m.key.0..m.key.1], column));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescaped_eq_counts_backslashes() {
        assert_eq!(unescaped_eq(br"a\=b"), None);
        assert_eq!(unescaped_eq(br"a\\=b"), Some(3));
        assert_eq!(unescaped_eq(br"\=x=y"), Some(3));
        assert_eq!(unescaped_eq(b"=x"), Some(0));
    }

    /// `distinct` is only said of pairs with no repeated key (LEEF aliases and spellings in any
    /// case included): the folding it lets the decoder skip would have left them as they are.
    #[test]
    fn distinct_is_said_only_of_pairs_without_repeats() {
        use crate::decode::repeats::fold_repeats;
        let keys = ["src", "SRC", "popName", "deviceFacility", "devicefacility", "cat", "act", "cs1", "cs1Label",
                    "unknownKey", "cs42", "calCountryOrRegion", "ccode"];
        let mut said = 0;
        for a in keys {
            for b in keys {
                for c in keys {
                    for delim in ['\t', ' ', '^'] {
                        let line = format!("{a}=1{delim}{b}=2 x{delim}{c}=3");
                        for (imperva, leef_aliases) in [(true, true), (true, false), (false, false)] {
                            let attrs = Attrs { line: &line, tail: 0..line.len(), delim, imperva, leef_aliases };
                            let found = cut(&attrs).unwrap();
                            if found.distinct {
                                said += 1;
                                let (folded, dups) = fold_repeats(found.pairs.clone());
                                assert_eq!((folded, dups.len()), (found.pairs, 0), "{line}");
                            }
                        }
                    }
                }
            }
        }
        assert!(said > 0);
    }
}
