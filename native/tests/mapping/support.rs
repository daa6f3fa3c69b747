//! Support for the mapping cases: a case's record, context and facts from JSON,
//! version 1's expected document and its patches, and the check that maps a case and compares.

use std::collections::BTreeMap;

use _native::body::{ChecksumStatus, FileVerdict};
use _native::decode::{Format, RawRecord, Text};
use _native::document::columns::Columns;
use _native::document::json::render;
use _native::document::Row;
use _native::mapping::{map_line, Counters, FileContext, LineFacts};
use serde_json::{json, Value};

use crate::agents::Agents;

fn opt(v: &Value) -> Option<Text<'static>> {
    v.as_str().map(|s| Text::Owned(s.to_owned()))
}

pub(crate) fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .map(|a| a.iter().map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned())).collect())
        .unwrap_or_default()
}

fn text_pairs(v: &Value) -> Vec<(Text<'static>, Text<'static>)> {
    pairs(v).into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

pub(crate) fn record(v: &Value) -> RawRecord<'static> {
    RawRecord {
        format: v["format"].as_str().and_then(Format::parse),
        ext: text_pairs(&v["ext"]),
        vendor: opt(&v["vendor"]),
        product: opt(&v["product"]),
        version: opt(&v["version"]),
        signature: opt(&v["signature"]),
        name: opt(&v["name"]),
        severity: opt(&v["severity"]),
        format_version: opt(&v["format_version"]),
        syslog_prefix: opt(&v["syslog_prefix"]),
        dups: v["dups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let values = p[1].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned().into()).collect();
                (p[0].as_str().unwrap().to_owned().into(), values)
            })
            .collect(),
        warnings: v["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_owned()).collect(),
    }
}

/// The file context of a case. Version 1's context also held the file's other facts (api id,
/// sequence, compression, encryption, directives), which it wrote on every event; they are facts
/// of the file now, not of the event (see [`value_lives_once`]).
pub(crate) fn context(v: &Value) -> FileContext {
    FileContext::new(v["name"].as_str().unwrap(), v["ingest_ms"].as_i64().unwrap())
        .with_path(v["path"].as_str().unwrap_or(""))
        .with_header(&pairs(&v["header"]))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// The line's bytes: `raw_hex` when they are not the text's UTF-8.
pub(crate) fn raw_bytes(case: &Value) -> Vec<u8> {
    match case["facts"]["raw_hex"].as_str() {
        Some(h) => hex(h),
        None => case["text"].as_str().unwrap().as_bytes().to_vec(),
    }
}

pub(crate) fn facts<'a>(case: &'a Value, raw: &'a [u8]) -> LineFacts<'a> {
    let f = &case["facts"];
    LineFacts {
        line_no: f["line_no"].as_u64().unwrap(),
        ordinal: f["ordinal"].as_u64().unwrap(),
        offset: f["offset"].as_u64().unwrap(),
        raw,
        non_utf8: std::str::from_utf8(raw).is_err(),
        full_length: f["full_length"].as_u64().unwrap(),
        full_hash: f["full_hash"].as_str().unwrap(),
    }
}

pub(crate) fn doc(row: &Row) -> Value {
    let mut out = Vec::new();
    render(row, &mut out);
    serde_json::from_slice(&out).expect("the rendered document is JSON")
}

/// Version 1's document and counters, to be patched where the native mapping differs on purpose.
pub(crate) struct Expected {
    doc: Value,
    counters: BTreeMap<String, u64>,
}

impl Expected {
    fn node(&mut self, path: &str) -> &mut Value {
        let mut node = &mut self.doc;
        for part in path.split('.') {
            if !node.is_object() {
                *node = json!({});
            }
            node = node.as_object_mut().unwrap().entry(part).or_insert(Value::Null);
        }
        node
    }

    /// Set the value at the dotted `path` (objects created on the way).
    pub(crate) fn set(&mut self, path: &str, value: Value) {
        *self.node(path) = value;
    }

    /// Remove the value at `path`, and objects left empty above it.
    pub(crate) fn remove(&mut self, path: &str) {
        fn go(node: &mut Value, parts: &[&str]) {
            let Some(obj) = node.as_object_mut() else { return };
            if parts.len() == 1 {
                assert!(obj.remove(parts[0]).is_some(), "nothing at {}", parts[0]);
                return;
            }
            if let Some(child) = obj.get_mut(parts[0]) {
                go(child, &parts[1..]);
                if child.as_object().is_some_and(|o| o.is_empty()) {
                    obj.remove(parts[0]);
                }
            }
        }
        go(&mut self.doc, &path.split('.').collect::<Vec<_>>());
    }

    /// Replace `imperva.waf.warnings`.
    pub(crate) fn warnings<S: AsRef<str>>(&mut self, warnings: &[S]) {
        let list: Vec<&str> = warnings.iter().map(AsRef::as_ref).collect();
        self.set("imperva.waf.warnings", json!(list));
    }

    /// Insert a warning at `at` in `imperva.waf.warnings` (created if absent).
    pub(crate) fn insert_warning(&mut self, at: usize, warning: &str) {
        let list = self.node("imperva.waf.warnings");
        if list.is_null() {
            *list = json!([]);
        }
        list.as_array_mut().unwrap().insert(at, json!(warning));
    }

    /// Add `delta` to counter `name`.
    pub(crate) fn bump(&mut self, name: &str, delta: u64) {
        *self.counters.entry(name.to_owned()).or_insert(0) += delta;
    }
}

/// Version 1's document → the document shape of version 2, where a value lives once (issue 19
/// item 5, `docs/ecs-mapping.md`): a key's value that ECS has a field for is there only (version 1
/// also wrote it under `imperva.waf`); `sip`/`spt` are `destination.*` whatever they hold; the
/// signature id is `event.code`, the attack type `rule.category`; the raw text of JSON fields is
/// in `event.original` only; the vendor latitude/longitude stay only when they form no
/// `source.geo.location`, the country codes only when there are several; the event carries only
/// the per-event file fields (the others are facts of the file, kept once per file).
fn value_lives_once(doc: &mut Value) {
    const HELD_BY_ECS: &[&str] = &[
        "client.user_agent", "pop", "city", "start", "end", "request", "referrer", "method", "post_body",
        "status_code", "client_ip", "client_port", "xff", "signature_id", "attack_type", "raw",
    ];
    const PER_EVENT_FILE_FIELDS: &[&str] = &["name", "identity", "line", "ordinal", "partial", "checksum_status"];
    fn take(node: &mut Value, path: &str) -> Option<Value> {
        let (parent, leaf) = match path.rsplit_once('.') {
            Some((parent, leaf)) => (parent.split('.').try_fold(&mut *node, |n, p| n.get_mut(p))?, leaf),
            None => (&mut *node, path),
        };
        parent.as_object_mut()?.remove(leaf)
    }
    let has_location = doc.pointer("/source/geo/location").is_some();
    let Some(waf) = doc.pointer_mut("/imperva/waf") else { return };
    for path in HELD_BY_ECS {
        take(waf, path);
    }
    if waf.get("client").and_then(Value::as_object).is_some_and(|c| c.is_empty()) {
        take(waf, "client");
    }
    let query = take(waf, "query");
    let (origin_ip, origin_port) = (take(waf, "origin_ip"), take(waf, "origin_port"));
    if has_location {
        take(waf, "latitude");
        take(waf, "longitude");
    }
    if waf.get("country_codes").and_then(Value::as_array).is_some_and(|c| c.len() == 1) {
        take(waf, "country_codes");
    }
    if let Some(file) = waf.get_mut("file").and_then(Value::as_object_mut) {
        file.retain(|k, _| PER_EVENT_FILE_FIELDS.contains(&k.as_str()));
    }
    let object = doc.as_object_mut().unwrap();
    if let Some(query) = query {
        object.entry("url").or_insert_with(|| json!({}))["query"] = query;
    }
    if origin_ip.is_some() || origin_port.is_some() {
        let destination = object.entry("destination").or_insert_with(|| json!({}));
        if let Some(ip) = origin_ip {
            destination["ip"] = ip.clone();
            destination["address"] = ip;
        }
        if let Some(port) = origin_port {
            destination["port"] = port;
        }
    }
}

/// The leaves where `a` and `b` differ (a missing leaf is not a `null` one), for a readable failure.
fn differences(a: Option<&Value>, b: Option<&Value>, path: &str, out: &mut Vec<String>) {
    let show = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                differences(x.get(k), y.get(k), &p, out);
            }
        }
        _ if a != b => out.push(format!("{path}: native {} / expected {}", show(a), show(b))),
        _ => {}
    }
}

pub(crate) fn nonzero(counters: &Counters) -> BTreeMap<String, u64> {
    counters.pairs().iter().filter(|(_, n)| *n > 0).map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

fn expected_of(case: &Value) -> Expected {
    let counters =
        case["counters"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    Expected { doc: case["expected"].clone(), counters }
}

/// Map `case`'s record as its line, and compare with version 1's document after `patch`.
fn check_case(name: &str, case: &Value, patch: impl FnOnce(&mut Expected)) {
    let mut rec = record(&case["record"]);
    let mut ctx = context(&case["ctx"]);
    // Version 1 was told per line that its file was partial; the core knows it from the first
    // pass over the body, whose verdict (here: the body broke off) every event of the file carries.
    let partial = case["facts"]["partial"].as_bool().unwrap();
    if partial {
        ctx = ctx.with_verdict(FileVerdict { checksum: ChecksumStatus::Incomplete, partial: true });
    }
    let raw = raw_bytes(case);
    let text = case["text"].as_str().unwrap();
    assert_eq!(String::from_utf8_lossy(&raw), text, "{name}: the caller's replacement of bad bytes is Python's");
    let facts = facts(case, &raw);
    let mut agents = Agents::new();
    let mut counters = Counters::default();
    let row = map_line(&mut rec, &ctx, &facts, text, &mut agents, &mut counters);
    let mut columns = Columns::new();
    columns.push("id", &row);
    assert_eq!(columns.finish().unwrap().num_rows(), 1, "{name}: the row fits the Arrow schema");
    let mut expected = expected_of(case);
    patch(&mut expected);
    value_lives_once(&mut expected.doc);
    if partial {
        expected.set("imperva.waf.file.checksum_status", json!("incomplete"));
    }
    let got = doc(&row);
    let mut diff = Vec::new();
    differences(Some(&got), Some(&expected.doc), "", &mut diff);
    assert!(diff.is_empty(), "{name}: the document differs:\n  {}", diff.join("\n  "));
    assert_eq!(got, expected.doc, "{name}");
    assert_eq!(nonzero(&counters), expected.counters, "{name}: counters");
}

/// The warning of a `start`/`end` value that is not a plausible epoch-milliseconds time.
pub(crate) fn implausible(key: &str, value: &str) -> String {
    format!("{key}: '{value}' is not a plausible epoch-milliseconds time (expected between 2000 and 2100)")
}

pub(crate) fn parse(json_text: &str) -> Value {
    serde_json::from_str(json_text).expect("a case is JSON")
}

/// A one-event case.
pub(crate) fn check(name: &str, json_text: &str, patch: impl FnOnce(&mut Expected)) {
    check_case(name, &parse(json_text), patch);
}

/// A group of one-event cases; `patch` gets each member's index.
pub(crate) fn check_group(name: &str, json_text: &str, mut patch: impl FnMut(usize, &mut Expected)) {
    let cases = parse(json_text);
    for (i, case) in cases.as_array().unwrap().iter().enumerate() {
        check_case(&format!("{name}[{i}]"), case, |e| patch(i, e));
    }
}
