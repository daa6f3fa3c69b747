//! A [`Row`] → its JSON document: nested objects in document-tree order, unset leaves and empty
//! objects left out, dates as ISO 8601 UTC with milliseconds.
//!
//! Strings are escaped as serde_json escapes them ([`super::escape`], shared with the
//! `flattened` fields of [`crate::mapping`]). Only the slots set are visited (a bitset scan, in
//! document-tree order), members are written from `,"name":` bytes prepared once (a test checks
//! no field name needs escaping), longs go through `itoa`, dates straight into the output.

#[cfg(test)]
use std::ops::Range;
use std::sync::OnceLock;

pub(crate) use super::escape::write_json_str;
use crate::document::{Row, Value};
use crate::ecs::push_iso_ms;
use crate::fields::{Node, LEAVES, NODES, ROOT_COUNT, ROOT_FIRST};

/// The document of `row`, appended to `out` as one JSON object (no trailing newline).
///
/// Leaves are numbered in document-tree order, so the set slots in ascending order are the
/// leaves to write in the order a walk of the tree meets them: the writer visits only those,
/// closing and opening the structs between one leaf and the next. A struct is opened only on
/// the way to a set leaf, so a struct with nothing set never appears (as the tree walk of
/// [`write_struct`] leaves it out; a test renders both ways).
pub fn render(row: &Row, out: &mut Vec<u8>) {
    let tree = tree();
    // The structs open (node indices from the root down) and whether each open object, the
    // document itself at depth 0, has a member yet.
    let mut open = [0u16; MAX_DEPTH];
    let mut any = [false; MAX_DEPTH + 1];
    let mut depth = 0;
    out.push(b'{');
    for slot in row.set_ascending() {
        let place = &tree.places[slot];
        let path = &place.structs[..usize::from(place.depth)];
        let common = open[..depth].iter().zip(path).take_while(|(a, b)| a == b).count();
        for _ in common..depth {
            out.push(b'}');
        }
        depth = common;
        for &node in &path[common..] {
            write_member(&tree.keys[usize::from(node)], any[depth], out);
            any[depth] = true;
            out.push(b'{');
            open[depth] = node;
            depth += 1;
            any[depth] = false;
        }
        write_member(&tree.keys[usize::from(place.node)], any[depth], out);
        any[depth] = true;
        write_value(row.get(slot).expect("a set slot holds a value"), out);
    }
    for _ in 0..=depth {
        out.push(b'}');
    }
}

/// The NDJSON line of one event (`wafpipe parse`): `{"_id":"<id>",` then the document's members
/// (the document without its `{`), or `{"_id":"<id>"}` for an empty document, and `\n`. Ids are
/// URL-safe base64, which JSON never escapes. `out` is a `Vec` or a slice sized by
/// [`ndjson_line_len`] (an error only when it is too short).
pub fn ndjson_line(id: &str, document: &[u8], out: &mut impl std::io::Write) -> std::io::Result<()> {
    out.write_all(b"{\"_id\":\"")?;
    out.write_all(id.as_bytes())?;
    if document == b"{}" {
        out.write_all(b"\"}\n")
    } else {
        out.write_all(b"\",")?;
        out.write_all(document.get(1..).unwrap_or_default())?;
        out.write_all(b"\n")
    }
}

/// [`ndjson_line`] of `row`'s document, rendered in place at the end of `out`: the document is
/// written right after `{"_id":"<id>"` and its opening `{` becomes the `,` that continues the
/// line, so it is not copied from a buffer of its own (~3.6 KB per CEF event; within the noise of
/// `wafpipe parse`'s time, measured).
pub fn render_ndjson_line(id: &str, row: &Row, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"_id\":\"");
    out.extend_from_slice(id.as_bytes());
    out.push(b'"');
    let at = out.len();
    render(row, out);
    if out[at..] == *b"{}" {
        out.truncate(at);
        out.push(b'}');
    } else {
        out[at] = b',';
    }
    out.push(b'\n');
}

/// The length of [`ndjson_line`]'s output.
pub fn ndjson_line_len(id: &str, document: &[u8]) -> usize {
    let members = if document == b"{}" { 0 } else { document.len().saturating_sub(1) };
    b"{\"_id\":\"".len() + id.len() + 2 + members + 1
}

/// The deepest a leaf lies under the root (structs above it); a test checks the table fits.
const MAX_DEPTH: usize = 8;

/// Where a leaf lies: the structs from the root down to it, and its own node.
struct Place {
    depth: u8,
    structs: [u16; MAX_DEPTH],
    node: u16,
}

/// What the writer looks up, prepared once: each node's `,"name":` and each leaf's place.
struct Tree {
    /// Per node: `,"name":` (the comma dropped for a struct's first member).
    keys: Vec<Box<[u8]>>,
    /// Per slot: where its leaf lies.
    places: Vec<Place>,
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
        let mut places: Vec<Option<Place>> = (0..LEAVES.len()).map(|_| None).collect();
        place_leaves(ROOT_FIRST, ROOT_COUNT, &mut Vec::new(), &mut places);
        let places = places.into_iter().map(|p| p.expect("every leaf is under the root")).collect();
        Tree { keys, places }
    })
}

/// Each leaf's place under the children `NODES[first..first + count]`, reached through `path`.
fn place_leaves(first: usize, count: usize, path: &mut Vec<u16>, places: &mut [Option<Place>]) {
    let index = |i: usize| u16::try_from(i).expect("fewer than 65536 nodes");
    for (at, node) in NODES.iter().enumerate().skip(first).take(count) {
        match *node {
            Node::Leaf { slot, .. } => {
                let mut structs = [0u16; MAX_DEPTH];
                structs[..path.len()].copy_from_slice(path);
                let depth = u8::try_from(path.len()).expect("MAX_DEPTH fits a byte");
                places[slot] = Some(Place { depth, structs, node: index(at) });
            }
            Node::Struct { first, count, .. } => {
                assert!(path.len() < MAX_DEPTH, "the document tree is deeper than MAX_DEPTH");
                path.push(index(at));
                place_leaves(first, count, path, places);
                path.pop();
            }
        }
    }
}

/// The slots under node `at` (leaves are numbered in document-tree order, so they are one range;
/// `leaf_ranges_are_the_subtrees` checks).
#[cfg(test)]
fn span(at: usize) -> Range<usize> {
    match NODES[at] {
        Node::Struct { first, count, .. } => {
            let mut slots = Vec::new();
            leaves_under(&NODES[first..first + count], &mut slots);
            let lo = slots.iter().copied().min().unwrap_or(0);
            let hi = slots.iter().copied().max().map_or(lo, |s| s + 1);
            lo..hi
        }
        Node::Leaf { slot, .. } => slot..slot + 1,
    }
}

/// Writes `{…}` for the children `NODES[first..first + count]`, leaving out unset leaves and
/// structs with nothing set under them (one bitset test per struct): the tree walk [`render`]
/// must agree with (tests only).
#[cfg(test)]
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
                let written = row.any_set(span(at));
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

#[cfg(test)]
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
                assert_eq!(slots, span(at).collect::<Vec<_>>());
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

    /// The writer that visits the set slots writes what the tree walk writes, for rows with every
    /// mix of leaves set (pseudo-random subsets, each leaf with a value of its kind).
    #[test]
    fn set_slots_render_as_the_tree_walk() {
        use crate::fields::Kind;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut row = Row::new();
        for round in 0..400 {
            row.clear();
            let every = 1 + round % 17;
            for (slot, leaf) in LEAVES.iter().enumerate() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if round > 0 && seed % every as u64 != 0 {
                    continue;
                }
                match leaf.kind {
                    Kind::Str => row.set_str(slot, "v\"1"),
                    Kind::Long => row.set_long(slot, slot as i64),
                    Kind::Double => row.set_double(slot, 0.5),
                    Kind::Bool => row.set_bool(slot, true),
                    Kind::Date => row.set_date(slot, 1_453_290_121_336),
                    Kind::Geo => row.set_geo(slot, 1.5, -2.0),
                    Kind::StrList => row.set_list(slot, ["a", "b"]),
                    Kind::Json => row.set_json(slot, "{\"k\":1}"),
                }
            }
            if round % 3 == 1 {
                if let Some(&slot) = row.set_slots().first() {
                    row.unset(slot);
                }
            }
            let (mut fast, mut walk) = (Vec::new(), Vec::new());
            render(&row, &mut fast);
            write_struct(&row, tree(), ROOT_FIRST, ROOT_COUNT, &mut walk);
            assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(walk).unwrap(), "round {round}");
        }
    }

    #[test]
    fn a_line_rendered_in_place_is_the_spliced_document() {
        let mut full = Row::new();
        full.set_str(SOURCE_IP, "10.0.0.1");
        for row in [Row::new(), full] {
            let mut document = Vec::new();
            render(&row, &mut document);
            let mut expected = b"before\n".to_vec();
            ndjson_line("AB-_", &document, &mut expected).unwrap();
            let mut line = b"before\n".to_vec();
            render_ndjson_line("AB-_", &row, &mut line);
            assert_eq!(String::from_utf8(line).unwrap(), String::from_utf8(expected).unwrap());
        }
    }

    #[test]
    fn ndjson_lines_splice_the_id_first() {
        for (doc, line) in [(&b"{}"[..], &b"{\"_id\":\"AB-_\"}\n"[..]), (b"{\"a\":1}", b"{\"_id\":\"AB-_\",\"a\":1}\n")] {
            let mut out = Vec::new();
            ndjson_line("AB-_", doc, &mut out).unwrap();
            assert_eq!(out, line);
            assert_eq!(ndjson_line_len("AB-_", doc), line.len());
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
