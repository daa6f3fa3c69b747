//! A [`Row`] → its JSON document: nested objects in document-tree order, unset leaves and empty
//! objects left out, dates as ISO 8601 UTC with milliseconds.
//!
//! Strings are escaped as serde_json escapes them (`write_json_str`, shared with the
//! `flattened` fields of [`crate::mapping`]), but tested a word at a time (16 bytes per step):
//! runs without a byte to escape are copied whole. Members are written from `,"name":` bytes
//! prepared once (a test checks no field name needs escaping), structs with nothing set are
//! skipped by one bitset test, longs go through `itoa`, dates straight into the output.

use std::ops::Range;
use std::sync::OnceLock;

use crate::document::{Row, Value};
use crate::ecs::push_iso_ms;
use crate::fields::{Node, NODES, ROOT_COUNT, ROOT_FIRST};
use crate::swar;

/// The document of `row`, appended to `out` as one JSON object (no trailing newline).
pub fn render(row: &Row, out: &mut Vec<u8>) {
    write_struct(row, tree(), ROOT_FIRST, ROOT_COUNT, out);
}

/// What the writer looks up per node, prepared once: each node's `,"name":` and, for a struct,
/// the slots of the leaves under it.
struct Tree {
    /// Per node: `,"name":` (the comma dropped for a struct's first member).
    keys: Vec<Box<[u8]>>,
    /// Per node that is a struct: the slots under it (leaves are numbered in document-tree order,
    /// so they are one range; `leaf_ranges_are_the_subtrees` checks).
    spans: Vec<Range<usize>>,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let keys = NODES
            .iter()
            .map(|node| {
                let (Node::Leaf { name, .. } | Node::Struct { name, .. }) = *node;
                format!(",\"{name}\":").into_bytes().into_boxed_slice()
            })
            .collect();
        let spans = NODES
            .iter()
            .map(|node| match *node {
                Node::Struct { first, count, .. } => {
                    let mut slots = Vec::new();
                    leaves_under(&NODES[first..first + count], &mut slots);
                    let lo = slots.iter().copied().min().unwrap_or(0);
                    let hi = slots.iter().copied().max().map_or(lo, |s| s + 1);
                    lo..hi
                }
                Node::Leaf { slot, .. } => slot..slot + 1,
            })
            .collect();
        Tree { keys, spans }
    })
}

/// Writes `{…}` for the children `NODES[first..first + count]`, leaving out unset leaves and
/// structs with nothing set under them (one bitset test per struct).
fn write_struct(row: &Row, tree: &Tree, first: usize, count: usize, out: &mut Vec<u8>) {
    let mut any = false;
    out.push(b'{');
    for (i, node) in NODES[first..first + count].iter().enumerate() {
        let at = first + i;
        let wrote = match *node {
            Node::Leaf { slot, .. } => match row.is_set(slot).then(|| row.get(slot)).flatten() {
                Some(value) => {
                    write_member(&tree.keys[at], any, out);
                    write_value(value, out);
                    true
                }
                None => false,
            },
            Node::Struct { first, count, .. } => {
                let written = row.any_set(tree.spans[at].clone());
                if written {
                    write_member(&tree.keys[at], any, out);
                    write_struct(row, tree, first, count, out);
                }
                written
            }
        };
        any |= wrote;
    }
    out.push(b'}');
}

/// `,"name":`, without the comma for the first member. Field names hold nothing JSON escapes
/// (`names_need_no_escape` checks).
fn write_member(key: &[u8], any: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(if any { key } else { &key[1..] });
}

fn leaves_under(nodes: &[Node], slots: &mut Vec<usize>) {
    for node in nodes {
        match *node {
            Node::Leaf { slot, .. } => slots.push(slot),
            Node::Struct { first, count, .. } => leaves_under(&NODES[first..first + count], slots),
        }
    }
}

fn write_str(text: &str, out: &mut Vec<u8>) {
    write_json_str(text, out);
}

/// Where [`write_json_str`] writes: a document's bytes or a `flattened` field's `String`.
pub(crate) trait JsonOut {
    fn push_text(&mut self, text: &str);
    fn reserve_text(&mut self, additional: usize);
}

impl JsonOut for Vec<u8> {
    fn push_text(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
    fn reserve_text(&mut self, additional: usize) {
        self.reserve(additional);
    }
}

impl JsonOut for String {
    fn push_text(&mut self, text: &str) {
        self.push_str(text);
    }
    fn reserve_text(&mut self, additional: usize) {
        self.reserve(additional);
    }
}

/// `text` as a JSON string, byte for byte as serde_json writes it: quotes, `\"`, `\\`, the short
/// escapes `\b \f \n \r \t`, `\u00xx` (lower-case hex) for the other bytes below 0x20; nothing
/// else is escaped (not DEL, not non-ASCII). Runs without escapes are copied whole; the search
/// looks at 16 bytes per step (a quick SWAR test per word; the exact one only where it hits).
pub(crate) fn write_json_str<O: JsonOut + ?Sized>(text: &str, out: &mut O) {
    out.reserve_text(text.len() + 2);
    out.push_text("\"");
    let bytes = text.as_bytes();
    let mut from = 0; // the start of the run not yet copied
    if bytes.len() < 8 {
        for (at, &b) in bytes.iter().enumerate() {
            if ESCAPED[usize::from(b)] {
                out.push_text(&text[from..at]);
                push_escape(b, out);
                from = at + 1;
            }
        }
    } else {
        // Two words per step while 16 bytes are left (one quick test for both), then the last
        // 8 bytes as one word with the bytes already seen masked off.
        let escape = |word: u64, base: usize, seen: u32, from: &mut usize, out: &mut O| {
            let mut marks = escape_marks(word) & (u64::MAX << (8 * seen));
            while marks != 0 {
                let at = base + (marks.trailing_zeros() / 8) as usize;
                marks &= marks - 1;
                out.push_text(&text[*from..at]);
                push_escape(bytes[at], out);
                *from = at + 1;
            }
        };
        let mut pairs = bytes.chunks_exact(16);
        let mut base = 0;
        for pair in &mut pairs {
            let (a, b) = pair.split_at(8);
            let a = u64::from_le_bytes(a.try_into().expect("8 bytes"));
            let b = u64::from_le_bytes(b.try_into().expect("8 bytes"));
            if swar::any_escape(a) || swar::any_escape(b) {
                escape(a, base, 0, &mut from, out);
                escape(b, base + 8, 0, &mut from, out);
            }
            base += 16;
        }
        let rest = pairs.remainder().len();
        if rest >= 8 {
            let word = u64::from_le_bytes(bytes[base..base + 8].try_into().expect("8 bytes"));
            if swar::any_escape(word) {
                escape(word, base, 0, &mut from, out);
            }
            base += 8;
        }
        if base < bytes.len() {
            let last = bytes.len() - 8;
            let word = u64::from_le_bytes(bytes[last..].try_into().expect("8 bytes"));
            if swar::any_escape(word) {
                escape(word, last, (base - last) as u32, &mut from, out);
            }
        }
    }
    out.push_text(&text[from..]);
    out.push_text("\"");
}

/// The bytes JSON escapes: below 0x20, `"` and `\\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The high bit of each byte of `word` that JSON escapes (below 0x20, `"` or `\\`).
fn escape_marks(word: u64) -> u64 {
    swar::c0_bytes(word) | swar::eq_bytes(word, b'"') | swar::eq_bytes(word, b'\\')
}

fn push_escape<O: JsonOut + ?Sized>(b: u8, out: &mut O) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0c => "\\f",
        _ => {
            let code = [b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]];
            out.push_text(std::str::from_utf8(&code).expect("ASCII"));
            return;
        }
    };
    out.push_text(short);
}

fn write_value(value: Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Str(s) => write_str(s, out),
        Value::Long(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::Double(f) => serde_json::to_writer(&mut *out, &f).expect("writing to a Vec cannot fail"),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Date(ms) => {
            out.push(b'"');
            push_iso_ms(out, ms);
            out.push(b'"');
        }
        Value::Geo { lat, lon } => {
            out.extend_from_slice(b"{\"lat\":");
            serde_json::to_writer(&mut *out, &lat).expect("writing to a Vec cannot fail");
            out.extend_from_slice(b",\"lon\":");
            serde_json::to_writer(&mut *out, &lon).expect("writing to a Vec cannot fail");
            out.push(b'}');
        }
        Value::StrList(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(item, out);
            }
            out.push(b']');
        }
        Value::Json(text) => out.extend_from_slice(text.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{EVENT_CATEGORY, IMPERVA_WAF_LABELS, SOURCE_GEO_LOCATION, SOURCE_IP, SOURCE_PORT, TIMESTAMP};

    fn doc(row: &Row) -> serde_json::Value {
        let mut out = Vec::new();
        render(row, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn leaf_ranges_are_the_subtrees() {
        for node in NODES {
            if let Node::Struct { first, count, .. } = *node {
                let mut slots = Vec::new();
                leaves_under(&NODES[first..first + count], &mut slots);
                slots.sort_unstable();
                let at = NODES.iter().position(|n| matches!(*n, Node::Struct { first: f, .. } if f == first)).unwrap();
                assert_eq!(slots, tree().spans[at].clone().collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn names_need_no_escape() {
        for node in NODES {
            let (Node::Leaf { name, .. } | Node::Struct { name, .. }) = *node;
            assert_eq!(serde_json::to_string(name).unwrap(), format!("\"{name}\""));
        }
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é\u{2028}\u{10ffff}\"\\");
        let mut texts = vec![String::new(), all.clone(), "plain text without escapes".into()];
        for n in 0..20 {
            texts.push(format!("{}\"{}\\{}\n", "a".repeat(n), "é".repeat(n % 3), "\u{1}".repeat(n % 2)));
        }
        for i in 0..all.len() {
            if all.is_char_boundary(i) {
                texts.push(all[i..].to_owned());
            }
        }
        for len in 0..24 {
            for at in 0..len {
                for c in ['"', '\\', '\n', '\u{1f}'] {
                    let mut text: Vec<char> = vec!['a'; len];
                    text[at] = c;
                    text[len - 1 - at] = '\t';
                    texts.push(text.into_iter().collect());
                }
            }
        }
        for text in texts {
            let mut bytes = Vec::new();
            write_json_str(&text, &mut bytes);
            assert_eq!(bytes, serde_json::to_vec(&text).unwrap(), "{text:?}");
            let mut string = String::new();
            write_json_str(&text, &mut string);
            assert_eq!(string.as_bytes(), bytes);
        }
    }

    #[test]
    fn an_empty_row_is_an_empty_object() {
        assert_eq!(doc(&Row::new()), serde_json::json!({}));
    }

    #[test]
    fn values_nest_by_path_and_unset_leaves_vanish() {
        let mut row = Row::new();
        row.set_date(TIMESTAMP, 1_453_290_121_336);
        row.set_str(SOURCE_IP, "10.0.0.1\"\n");
        row.set_long(SOURCE_PORT, 443);
        row.set_geo(SOURCE_GEO_LOCATION, 1.5, -2.0);
        row.set_list(EVENT_CATEGORY, ["web", "intrusion_detection"]);
        row.set_json(IMPERVA_WAF_LABELS, "{\"cs1\":\"x\"}");
        assert_eq!(
            doc(&row),
            serde_json::json!({
                "@timestamp": "2016-01-20T11:42:01.336Z",
                "event": {"category": ["web", "intrusion_detection"]},
                "imperva": {"waf": {"labels": {"cs1": "x"}}},
                "source": {"geo": {"location": {"lat": 1.5, "lon": -2.0}}, "ip": "10.0.0.1\"\n", "port": 443},
            })
        );
    }
}
