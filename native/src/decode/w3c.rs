//! W3C extended log decoder, shaped by the one real Imperva W3C file (FORMATS §5); a port of
//! `wafpipe.decode.w3c` that gives the same record or error for every input.
//!
//! Directives (`#Fields:` …) sit in the body; every value is double-quoted, `""` for empty. The
//! decoder is stateful per file: the column list comes from the latest `#Fields` line or from a
//! container header line whose name contains `field`. The fast path splits on `" "`; lines
//! that do not fit it (unquoted tokens, quotes inside values) go through [`tokenize`]. Empty
//! values (`""`, unquoted `-`) are left out of `ext`; `cs-rule` and `cs-severity` fill the
//! record's name (`Normal` when empty: an access event) and rule-type id.

use std::borrow::Cow;
use std::collections::HashMap;

use memchr::{memchr, memchr_iter};

use crate::decode::{DecodeError, Format, RawRecord, Text};
use crate::keys::{W3C_COLUMNS, W3C_NAME_COLUMN, W3C_SEVERITY_COLUMN};
use crate::pytext;

/// Split a data line on spaces outside double quotes and strip the quotes (FORMATS §5.2).
///
/// Inside quotes, `""` and `\"` are a literal quote (a quote that closes a value is always
/// followed by a space or the end of the line, so `""` inside a value is never ambiguous); `""`
/// standing alone is the empty value. Unquoted tokens are accepted as they are, `-` meaning
/// empty. An unterminated quote is an error at the (1-based) column of the opening quote.
pub fn tokenize(line: &str) -> Result<Vec<String>, DecodeError> {
    Ok(tokens(line)?.into_iter().map(Cow::into_owned).collect())
}

fn tokens(line: &str) -> Result<Vec<Cow<'_, str>>, DecodeError> {
    let b = line.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        if b[i] != b'"' {
            let j = memchr(b' ', &b[i..]).map_or(n, |k| i + k);
            let tok = &line[i..j];
            out.push(Cow::Borrowed(if tok == "-" { "" } else { tok }));
            i = j;
            continue;
        }
        let opened = i;
        i += 1;
        let mut buf: Option<String> = None; // only when the value holds an escaped quote
        loop {
            let Some(k) = memchr(b'"', &b[i..]) else {
                let column = pytext::column(line, opened);
                return Err(DecodeError::new(format!("unterminated quoted value (opened at column {column})"), column)
                    .with_hint(
                        "every quoted W3C value must end with a quote; a quote inside a value is written \"\"",
                    ));
            };
            let j = i + k;
            let (piece, quote, next) = if j > i && b[j - 1] == b'\\' {
                (&line[i..j - 1], true, j + 1) // \" → "
            } else if j + 1 < n && b[j + 1] == b'"' {
                (&line[i..j], true, j + 2) // "" inside a value → "
            } else {
                (&line[i..j], false, j + 1)
            };
            i = next;
            if !quote && buf.is_none() {
                out.push(Cow::Borrowed(piece));
                break;
            }
            let s = buf.get_or_insert_with(String::new);
            s.push_str(piece);
            if !quote {
                out.push(Cow::Owned(buf.take().unwrap_or_default()));
                break;
            }
            s.push('"');
        }
    }
    Ok(out)
}

/// What a column's value becomes in the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Ext,
    Name,
    Severity,
}

/// The decoder of one W3C file: its column map and its directives. [`W3cDecoder::decode`]
/// returns `Ok(None)` for directive lines.
#[derive(Clone, Debug, Default)]
pub struct W3cDecoder {
    columns: Vec<String>,
    /// Each column's key: static for the columns Imperva names, else the lower-cased name.
    keys: Vec<Text<'static>>,
    roles: Vec<Role>,
    /// Two columns with the same key: values then merge as Python's dict comprehension does,
    /// through `groups` (per column, the index of its key among the distinct keys).
    repeated_keys: bool,
    groups: Vec<usize>,
    n_groups: usize,
    /// `#Name: value` lines in first-seen order; a repeated name replaces the value in place
    /// (found through `directive_at`: a file of many directives stays linear).
    directives: Vec<(String, String)>,
    directive_at: HashMap<String, usize>,
}

impl W3cDecoder {
    /// A decoder for a file with container `header` (name, value pairs, as the header dict's
    /// items). Every header line whose name contains `field` (any case) sets the column list
    /// from its value, names separated by blanks or commas; a later one replaces an earlier one.
    pub fn new(header: &[(String, String)]) -> W3cDecoder {
        let mut dec = W3cDecoder::default();
        for (name, value) in header {
            if name.as_bytes().windows(5).any(|w| w.eq_ignore_ascii_case(b"field")) {
                let cols = value.split(|c: char| c == ',' || pytext::is_space(c)).filter(|c| !c.is_empty());
                dec.set_fields(cols.map(str::to_owned).collect());
            }
        }
        dec
    }

    /// The current column names, as written.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The directives seen so far (`Software`, `Version`, `Date`…), in first-seen order.
    pub fn directives(&self) -> &[(String, String)] {
        &self.directives
    }

    /// The value of directive `name` (exact spelling), if seen.
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.directive_at.get(name).map(|&i| self.directives[i].1.as_str())
    }

    /// Set directive `name` as a `#name: value` line would (dead-letter replay restores them).
    pub fn set_directive(&mut self, name: &str, value: &str) {
        match self.directive_at.get(name) {
            Some(&i) => value.clone_into(&mut self.directives[i].1),
            None => {
                self.directive_at.insert(name.to_owned(), self.directives.len());
                self.directives.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// Column names in order. Each maps to its canonical key (FORMATS §5.3), an unknown one to
    /// its lower-case W3C name; `cs-rule`/`cs-severity` fill the record's name and rule-type id.
    pub fn set_fields(&mut self, columns: Vec<String>) {
        self.keys = columns
            .iter()
            .map(|c| {
                let low = pytext::lower(c);
                match W3C_COLUMNS.iter().find(|(col, _)| *col == low) {
                    Some((_, key)) => Text::Borrowed(*key),
                    None => Text::Owned(low.into_owned()),
                }
            })
            .collect();
        self.roles = self.keys.iter().map(|k| role(k)).collect();
        let mut group_of: HashMap<&str, usize> = HashMap::with_capacity(self.keys.len());
        self.groups = self
            .keys
            .iter()
            .map(|k| {
                let n = group_of.len();
                *group_of.entry(k).or_insert(n)
            })
            .collect();
        self.n_groups = group_of.len();
        self.repeated_keys = self.n_groups < self.keys.len();
        self.columns = columns;
    }

    /// One body line → `Ok(Some(record))`, `Ok(None)` for a directive, or the reason it does
    /// not decode. The decoder goes on after an error.
    pub fn decode<'a>(&mut self, line: &'a str) -> Result<Option<RawRecord<'a>>, DecodeError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(directive) = line.strip_prefix('#') {
            let (name, value) = directive.split_once(':').unwrap_or((directive, ""));
            let name = pytext::strip(name);
            if name.eq_ignore_ascii_case("fields") {
                self.set_fields(pytext::split(value).map(str::to_owned).collect());
            } else {
                self.set_directive(name, pytext::strip(value));
            }
            return Ok(None);
        }
        if self.keys.is_empty() {
            return Err(DecodeError::new("W3C data line before any #Fields directive", 1)
                .with_hint("the file must declare its columns with '#Fields:' before the first event"));
        }
        let n = self.keys.len();
        let b = line.as_bytes();
        let mut rec = RawRecord::new(Format::W3c);
        if b.len() > 1 && b[0] == b'"' && b[b.len() - 1] == b'"' {
            // Each '" "' separator holds two quotes; any other quote needs the scanner.
            let inner = &line[1..line.len() - 1];
            if only_separators(inner.as_bytes()) == Some(n - 1) {
                self.fill(&mut rec, separated(inner).map(Text::Borrowed));
                return Ok(Some(self.finish(rec)));
            }
        }
        let values = tokens(line)?;
        if values.len() != n {
            return Err(DecodeError::new(
                format!("W3C line has {} values, expected {n} (one per #Fields column)", values.len()),
                1,
            )
            .with_hint("the line is truncated, or a value holds a quote that is not doubled"));
        }
        self.fill(&mut rec, values.into_iter());
        Ok(Some(self.finish(rec)))
    }

    /// Python's `{k: v for k, v in zip(keys, values) if v}` then `pop` of the name and severity
    /// columns: a repeated key sits where its first non-empty value did and keeps its last one.
    fn fill<'a>(&self, rec: &mut RawRecord<'a>, values: impl Iterator<Item = Text<'a>>) {
        rec.ext.reserve(self.keys.len());
        // Where each key group sits in ext, once placed (only needed with repeated keys).
        let mut placed = if self.repeated_keys { vec![usize::MAX; self.n_groups] } else { Vec::new() };
        for (col, ((key, role), value)) in self.keys.iter().zip(&self.roles).zip(values).enumerate() {
            if value.is_empty() {
                continue;
            }
            let slot = match role {
                Role::Name => &mut rec.name,
                Role::Severity => &mut rec.severity,
                Role::Ext => {
                    if self.repeated_keys {
                        let at = &mut placed[self.groups[col]];
                        if *at != usize::MAX {
                            rec.ext[*at].1 = value;
                            continue;
                        }
                        *at = rec.ext.len();
                    }
                    rec.ext.push((key.clone(), value));
                    continue;
                }
            };
            *slot = Some(value);
        }
    }

    fn finish<'a>(&self, mut rec: RawRecord<'a>) -> RawRecord<'a> {
        rec.vendor = Some(Text::Borrowed("Incapsula"));
        if rec.name.is_none() {
            rec.name = Some(Text::Borrowed("Normal"));
        }
        rec.format_version = self.directive("Version").map(|v| Text::Owned(v.to_owned()));
        rec
    }
}

/// The number of `" "` separators in `inner` when every quote in it belongs to one (the quoted
/// fast path: values are then the text between separators); None when a quote stands alone.
fn only_separators(inner: &[u8]) -> Option<usize> {
    let mut quotes = memchr_iter(b'"', inner);
    let mut seps = 0;
    while let Some(open) = quotes.next() {
        let close = quotes.next()?;
        if close != open + 2 || inner[open + 1] != b' ' {
            return None;
        }
        seps += 1;
    }
    Some(seps)
}

/// The values between the `" "` separators of `inner` (every quote in it is part of one, see
/// [`only_separators`]): `inner.split("\" \"")`, found with `memchr`.
fn separated(inner: &str) -> impl Iterator<Item = &str> {
    let mut quotes = memchr_iter(b'"', inner.as_bytes());
    let mut from = Some(0);
    std::iter::from_fn(move || {
        let start = from?;
        match quotes.next() {
            Some(open) => {
                quotes.next();
                from = Some(open + 3);
                Some(&inner[start..open])
            }
            None => {
                from = None;
                Some(&inner[start..])
            }
        }
    })
}

fn role(key: &str) -> Role {
    if key == W3C_NAME_COLUMN {
        Role::Name
    } else if key == W3C_SEVERITY_COLUMN {
        Role::Severity
    } else {
        Role::Ext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path's test and split are the memmem count and `str::split` they replace.
    #[test]
    fn separators_as_split() {
        let alphabet = ['a', '"', ' ', 'é'];
        for len in 0..9 {
            for mut code in 0..4usize.pow(len) {
                let mut inner = String::new();
                for _ in 0..len {
                    inner.push(alphabet[code % 4]);
                    code /= 4;
                }
                let seps = memchr::memmem::find_iter(inner.as_bytes(), b"\" \"").count();
                let quotes = memchr_iter(b'"', inner.as_bytes()).count();
                let expect = (quotes == 2 * seps).then_some(seps);
                assert_eq!(only_separators(inner.as_bytes()), expect, "{inner:?}");
                if expect.is_some() {
                    let split: Vec<&str> = inner.split("\" \"").collect();
                    assert_eq!(separated(&inner).collect::<Vec<_>>(), split, "{inner:?}");
                }
            }
        }
    }
}
