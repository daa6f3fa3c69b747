//! The CEF extension: `key=value` pairs cut at every ` key=`, with Imperva's free-text rule, the
//! leading-blank quirk, un-escaping and the unescaped-`=` warnings.
//!
//! One pass over the bytes, 8 at a time (a SWAR test for `=` and `\` in safe Rust): each `=` is
//! tested for being the end of a key by walking back over key characters. This gives exactly
//! the cuts of version 1's `re.split(r" ([A-Za-z0-9_][A-Za-z0-9_.,\[\]-]*+)=", ext)`: key
//! characters include neither the separator, nor `=`, nor `\`, so a candidate key is the maximal
//! run of key characters before its `=`, candidates never overlap, and `\=` inside a value never
//! ends one. Keys and values are borrowed from the line unless decoding changes them: a value
//! with an escape is un-escaped into its own string, a key with upper case is Imperva's static
//! name when it is one of Imperva's (else a lower-cased copy).

use std::borrow::Cow;

use memchr::memchr_iter;

use crate::decode::keyvalue::{
    even_backslashes_before, keyless_value, unescape, unescaped_eq_warning, KEY_CHAR, KEY_START,
};
use crate::decode::repeats::Pairs;
use crate::decode::DecodeError;
use crate::keys::{key_info_any_case, key_lookup_at, key_lookup_folded, KEY_PLACES};
use crate::pytext::{column, is_all_space, Columns};

/// How [`cut`] spells the keys it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpelling {
    /// Lower case, the form of `RawRecord.ext` (Imperva's own examples mix `fileId`/`fileid`).
    Canonical,
    /// As written in the line (version 1's `split_extension`).
    AsWritten,
}

/// What [`cut`] found: the pairs in line order (a key may repeat; see [`super::fold_repeats`]) and the
/// warnings for what was tolerated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cut<'a> {
    pub pairs: Pairs<'a>,
    pub warnings: Vec<String>,
    /// True when no key repeats, as far as the cut can tell without comparing keys: every key is
    /// one of the key table's (a repeat is a place seen twice). False means "maybe": a key the
    /// table does not hold, or a repeat; then [`super::fold_repeats`] decides.
    pub distinct: bool,
}

/// Cut the extension `line[start..end]` into keys and final values (version 1's `_cut`).
///
/// The text must be trimmed as the decoder trims it; version 1 put one separator in front of
/// it, so a key may start at `start` itself. `sep` is the byte before every key (CEF: a space);
/// it must be ASCII and neither a key character, `=` nor `\`. Columns in messages count
/// characters of `line`, 1-based, like Python's.
///
/// * Imperva lines (`imperva`): inside the value of a free-text key (user agent, post body,
///   JSON…), a candidate key that Imperva does not emit stays part of the value (DESIGN §1), and
///   every value loses one leading blank (`ver= TLSv1.2…`, FORMATS §2.6 #21).
/// * Values are un-escaped after cutting (`\=` `\\` `\n` `\r`; any other backslash stays).
/// * An `=` in a value preceded by an even number of backslashes was not escaped: it stays in the
///   value and the first one of each raw value (glued candidates included) is reported.
/// * Text before the first key is an error unless it is blank (Python's `str.isspace`).
pub fn cut(
    line: &str,
    start: usize,
    end: usize,
    sep: u8,
    imperva: bool,
    spelling: KeySpelling,
) -> Result<Cut<'_>, DecodeError> {
    debug_assert!(sep.is_ascii() && !KEY_CHAR[sep as usize] && sep != b'=' && sep != b'\\');
    let text = &line[start..end];
    let bytes = text.as_bytes();
    let mut out = Builder {
        text,
        imperva,
        spelling,
        // Every key ends at an '=', so their count bounds the pairs (and is a SIMD count).
        pairs: Vec::with_capacity(memchr_iter(b'=', bytes).count()),
        open: None,
        free: false,
        last_backslash: None,
        places: [0; KEY_PLACES / 64],
        distinct: true,
    };
    let mut warnings = Vec::new();
    // The raw key being read (byte range in `text`; its '=' is at the end) and whether its raw
    // value already had an unescaped '=' reported.
    let mut key: Option<(usize, usize)> = None;
    let mut reported = false;
    let mut columns = Columns::new(line);
    for base in (0..bytes.len()).step_by(8) {
        let word = word_at(bytes, base);
        let mut marks = byte_mask(word, b'=') | byte_mask(word, b'\\');
        while marks != 0 {
            let at = base + (marks.trailing_zeros() / 8) as usize;
            marks &= marks - 1;
            if bytes[at] == b'\\' {
                out.last_backslash = Some(at);
                continue;
            }
            let eq = at;
            let from = bytes[..eq].iter().rposition(|&b| !KEY_CHAR[b as usize]).map_or(0, |p| p + 1);
            if from < eq && KEY_START[bytes[from] as usize] && (from == 0 || bytes[from - 1] == sep) {
                match key {
                    None => check_head(line, start, &text[..from.saturating_sub(1)])?,
                    Some((ks, ke)) => out.raw_pair(ks, ke, from - 1),
                }
                key = Some((from, eq));
                reported = false;
            } else if let Some((ks, ke)) = key {
                if !reported && even_backslashes_before(bytes, eq) {
                    reported = true;
                    warnings.push(unescaped_eq_warning(&text[ks..ke], columns.at(start + eq)));
                }
            } // else: an '=' before the first key, which `check_head` rejects
        }
    }
    match key {
        None => check_head(line, start, text)?,
        Some((ks, ke)) => out.raw_pair(ks, ke, bytes.len()),
    }
    out.close();
    Ok(Cut { pairs: out.pairs, warnings, distinct: out.distinct })
}

/// The 8 bytes of `bytes` from `at` as a little-endian word, zero-padded past the end: the scan
/// looks at 8 bytes per step, and the padding matches neither `=` nor `\`.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    if let Some(whole) = bytes[at..].first_chunk::<8>() {
        return u64::from_le_bytes(*whole);
    }
    let mut word = [0u8; 8];
    word[..bytes.len() - at].copy_from_slice(&bytes[at..]);
    u64::from_le_bytes(word)
}

/// The high bit of each byte of `word` that equals `b`, and no other bit (exact: no carry crosses
/// a byte).
fn byte_mask(word: u64, b: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (0x0101_0101_0101_0101 * u64::from(b));
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Text before the first key: blanks are dropped, anything else is an error quoting (as Python's
/// `repr`) its first 40 characters.
fn check_head(line: &str, start: usize, head: &str) -> Result<(), DecodeError> {
    if head.is_empty() || is_all_space(head) {
        return Ok(());
    }
    Err(keyless_value(head, column(line, start)))
}

/// The output pairs as they are built; the last one stays open because a glued candidate may
/// still extend its value.
struct Builder<'a> {
    text: &'a str,
    imperva: bool,
    spelling: KeySpelling,
    pairs: Pairs<'a>,
    /// Key (as returned), raw value range, and whether the value holds a backslash, of the last
    /// pair.
    open: Option<(Cow<'a, str>, usize, usize, bool)>,
    /// The open pair's key is a free-text key of an Imperva line.
    free: bool,
    /// The last backslash the scan has passed: a value needs un-escaping only if it held one, and
    /// this says so without searching the values one by one.
    last_backslash: Option<usize>,
    /// The key-table places of the keys cut so far, a bit each.
    places: [u64; KEY_PLACES / 64],
    /// No key so far repeats, and every one is in the key table ([`Cut::distinct`]).
    distinct: bool,
}

impl<'a> Builder<'a> {
    /// One raw `key=value` cut: key at `ks..ke`, value from `ke + 1` to `ve`.
    fn raw_pair(&mut self, ks: usize, ke: usize, ve: usize) {
        // Called at the next key's '=': between `ve` and there lie only a separator and key
        // characters, so the last backslash passed tells whether this raw value holds one.
        let escaped = self.last_backslash.is_some_and(|at| at > ke && at < ve);
        let text = self.text;
        let key = &text[ks..ke];
        if self.free && !key_info_any_case(key).known {
            // DESIGN §1: the candidate, its '=' and its value stay in the free-text value.
            if let Some(open) = &mut self.open {
                open.2 = ve;
                open.3 |= escaped;
            }
            return;
        }
        self.close();
        // Found without lower-casing (almost every key); an unknown key is lower-cased below.
        if let Some((place, name, info)) = key_lookup_folded(key.as_bytes()) {
            let (word, bit) = (place / 64, 1u64 << (place % 64));
            self.distinct &= self.places[word] & bit == 0;
            self.places[word] |= bit;
            self.free = self.imperva && info.free;
            let key = match self.spelling {
                KeySpelling::AsWritten => Cow::Borrowed(key),
                KeySpelling::Canonical => Cow::Borrowed(name),
            };
            self.open = Some((key, ke + 1, ve, escaped));
            return;
        }
        let mut buf = [0u8; 64];
        let owned_low;
        let low: &[u8] = match buf.get_mut(..key.len()) {
            Some(low) => {
                low.copy_from_slice(key.as_bytes());
                low.make_ascii_lowercase();
                low
            }
            None => {
                owned_low = key.to_ascii_lowercase();
                owned_low.as_bytes()
            }
        };
        let (found, info) = key_lookup_at(low);
        let name = match found {
            Some((place, name)) => {
                let (word, bit) = (place / 64, 1u64 << (place % 64));
                self.distinct &= self.places[word] & bit == 0;
                self.places[word] |= bit;
                Some(name)
            }
            None => {
                self.distinct = false;
                None
            }
        };
        self.free = self.imperva && info.free;
        let key: Cow<'a, str> = match self.spelling {
            KeySpelling::AsWritten => Cow::Borrowed(key),
            KeySpelling::Canonical => match name {
                Some(name) => Cow::Borrowed(name),
                None if low == key.as_bytes() => Cow::Borrowed(key),
                None => Cow::Owned(key.to_ascii_lowercase()),
            },
        };
        self.open = Some((key, ke + 1, ve, escaped));
    }

    fn close(&mut self) {
        if let Some((key, vs, ve, escaped)) = self.open.take() {
            let mut value = &self.text[vs..ve];
            if self.imperva {
                value = value.strip_prefix(' ').unwrap_or(value);
            }
            let value = if escaped { Cow::Owned(unescape(value)) } else { Cow::Borrowed(value) };
            self.pairs.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::repeats::fold_repeats;

    /// `distinct` is only ever said of pairs with no repeated key: the folding it lets the
    /// decoder skip would have left them as they are.
    #[test]
    fn distinct_is_said_only_of_pairs_without_repeats() {
        let keys = ["src", "SRC", "fileId", "fileid", "cs1", "cs1Label", "act", "unknownKey", "Unknownkey", "cs42",
                    "requestClientApplication", "x_y", "ccode"];
        let mut said = 0;
        for a in keys {
            for b in keys {
                for c in keys {
                    let ext = format!("{a}=1 {b}=2 x {c}=3");
                    for imperva in [true, false] {
                        for spelling in [KeySpelling::Canonical, KeySpelling::AsWritten] {
                            let found = cut(&ext, 0, ext.len(), b' ', imperva, spelling).unwrap();
                            if found.distinct {
                                said += 1;
                                let (folded, dups) = fold_repeats(found.pairs.clone());
                                assert_eq!((folded, dups.len()), (found.pairs, 0), "{ext}");
                            }
                        }
                    }
                }
            }
        }
        assert!(said > 0);
        let line = "fileId=1 sourceServiceName=a siteid=2 src=1.2.3.4 cs1=x cs1Label=y act=REQ_PASSED";
        assert!(cut(line, 0, line.len(), b' ', true, KeySpelling::Canonical).unwrap().distinct);
    }
}
