//! A [`Row`] → its JSON document: nested objects in document-tree order, unset leaves and empty
//! objects left out, dates as ISO 8601 UTC with milliseconds.

use crate::document::{Row, Value};
use crate::ecs::iso_ms;
use crate::fields::{root, Node, NODES};

/// The document of `row`, appended to `out` as one JSON object (no trailing newline).
pub fn render(row: &Row, out: &mut Vec<u8>) {
    if !write_struct(row, root(), out) {
        out.extend_from_slice(b"{}");
    }
}

/// Writes `{…}` for the children `nodes` if any of them holds a value; returns whether it wrote.
fn write_struct(row: &Row, nodes: &[Node], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let mut any = false;
    for node in nodes {
        let mark = out.len();
        out.push(if any { b',' } else { b'{' });
        let wrote = match *node {
            Node::Leaf { name, slot } => match row.get(slot) {
                Some(value) => {
                    write_key(name, out);
                    write_value(value, out);
                    true
                }
                None => false,
            },
            Node::Struct { name, first, count } => {
                write_key(name, out);
                write_struct(row, &NODES[first..first + count], out)
            }
        };
        if wrote {
            any = true;
        } else {
            out.truncate(mark);
        }
    }
    if any {
        out.push(b'}');
    } else {
        out.truncate(start);
    }
    any
}

fn write_key(name: &str, out: &mut Vec<u8>) {
    write_str(name, out);
    out.push(b':');
}

fn write_str(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Str(s) => write_str(s, out),
        Value::Long(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Double(f) => serde_json::to_writer(&mut *out, f).expect("writing to a Vec cannot fail"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Date(ms) => write_str(&iso_ms(*ms), out),
        Value::Geo { lat, lon } => {
            out.extend_from_slice(b"{\"lat\":");
            serde_json::to_writer(&mut *out, lat).expect("writing to a Vec cannot fail");
            out.extend_from_slice(b",\"lon\":");
            serde_json::to_writer(&mut *out, lon).expect("writing to a Vec cannot fail");
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
    fn an_empty_row_is_an_empty_object() {
        assert_eq!(doc(&Row::new()), serde_json::json!({}));
    }

    #[test]
    fn values_nest_by_path_and_unset_leaves_vanish() {
        let mut row = Row::new();
        row.set(TIMESTAMP, Value::Date(1_453_290_121_336));
        row.set(SOURCE_IP, Value::Str("10.0.0.1\"\n".into()));
        row.set(SOURCE_PORT, Value::Long(443));
        row.set(SOURCE_GEO_LOCATION, Value::Geo { lat: 1.5, lon: -2.0 });
        row.set(EVENT_CATEGORY, Value::StrList(vec!["web".into(), "intrusion_detection".into()]));
        row.set(IMPERVA_WAF_LABELS, Value::Json("{\"cs1\":\"x\"}".into()));
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
