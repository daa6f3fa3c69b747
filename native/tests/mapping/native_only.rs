//! Native-only cases: what version 1 had no case for, the mapping's steps one by one, and its counters.

use std::collections::BTreeMap;

use _native::body::{ChecksumStatus, Cut, FileVerdict, Line};
use _native::decode::{Format, RawRecord};
use _native::document::Row;
use _native::mapping::{
    add_line_fields, line_warnings, map_line, map_record, split_url, Counters, FileContext, LineFacts, UserAgent,
    UserAgents,
};
use serde_json::{json, Value};

use crate::values::LINE_PARTIAL_EVERY_WARNING;
use crate::agents::Agents;
use crate::support::{context, doc, facts, nonzero, parse, raw_bytes, record};

fn imperva(name: &str, severity: &str, ext: &[(&str, &str)]) -> RawRecord<'static> {
    RawRecord {
        vendor: Some("Incapsula".into()),
        product: Some("SIEMintegration".into()),
        version: Some("1".into()),
        signature: Some("1".into()),
        name: Some(name.to_owned().into()),
        severity: Some(severity.to_owned().into()),
        ext: ext.iter().map(|(k, v)| ((*k).to_owned().into(), (*v).to_owned().into())).collect(),
        ..RawRecord::new(Format::Cef)
    }
}

fn map(rec: &RawRecord, ctx: &FileContext) -> (Value, Counters) {
    let mut counters = Counters::default();
    let row = map_record(rec, ctx, None, &mut Agents::new(), &mut counters);
    (doc(&row), counters)
}

/// Version 1 raised on a severity slot of `--5` (`lstrip("-")` let it through to `int()`): the
/// whole file failed. Here it is no rule-type id, and the name decides (intended difference 8
/// of the converters).
#[test]
fn a_severity_version_1_could_not_read() {
    let (doc, _) = map(&imperva("Whatever", "--5", &[("act", "REQ_BLOCKED")]), &FileContext::default());
    let waf = &doc["imperva"]["waf"];
    assert_eq!(waf.get("rule_type_id"), None);
    assert_eq!(waf.get("attack_type"), None, "the attack type is `rule.category` only");
    assert_eq!(doc["rule"]["category"], "Whatever");
    assert_eq!(doc["event"]["type"], json!(["denied"]));
}

/// [`map_record`] alone: no `event.original` without an original, no file or line fields, and
/// the record's own warnings first.
#[test]
fn map_record_alone_adds_no_line_fields() {
    let mut rec = imperva("Normal", "0", &[("src", "10.0.0.1"), ("cn1", "x")]);
    rec.warnings.push("from the decoder".into());
    let ctx = FileContext::new("1_2.log", 1_718_000_400_000).with_path("/p/1_2.log");
    let (doc, counters) = map(&rec, &ctx);
    assert_eq!(doc["event"].get("original"), None);
    assert_eq!(doc.get("log"), None);
    assert_eq!(doc["imperva"]["waf"].get("file"), None);
    assert_eq!(
        doc["imperva"]["waf"]["warnings"],
        json!(["from the decoder", "cn1: invalid literal for int() with base 10: 'x'"])
    );
    assert_eq!(doc["@timestamp"], "2024-06-10T06:20:00.000Z");
    assert_eq!(doc["imperva"]["waf"]["timestamp_source"], "ingest_time");
    assert_eq!(counters.invalid_value, 1);
    assert_eq!(counters.events, 0, "map_record counts no events; map_line does");
}

/// The three steps by hand give what [`map_line`] gives.
#[test]
fn the_three_steps_are_map_line() {
    let case = parse(LINE_PARTIAL_EVERY_WARNING);
    let ctx = context(&case["ctx"]);
    let raw = raw_bytes(&case);
    let facts = facts(&case, &raw);
    let text = case["text"].as_str().unwrap();

    let mut rec = record(&case["record"]);
    let mut counters = Counters::default();
    line_warnings(&facts, text, &mut rec.warnings, &mut counters);
    let mut row = map_record(&rec, &ctx, Some(text), &mut Agents::new(), &mut counters);
    add_line_fields(&mut row, &ctx, &facts);

    let mut rec2 = record(&case["record"]);
    let mut counters2 = Counters::default();
    let row2 = map_line(&mut rec2, &ctx, &facts, text, &mut Agents::new(), &mut counters2);
    assert_eq!(row, row2);
    counters.events += 1;
    assert_eq!(counters, counters2);
    assert_eq!(rec, rec2);
}

/// [`LineFacts::from_line`] takes the splitter's line as it is.
#[test]
fn line_facts_from_the_splitter() {
    let line = Line {
        ordinal: 4,
        line_no: 9,
        offset: 1234,
        raw: b"CEF:0|x",
        cut: Cut::Long { full_length: 2_000_000, full_hash: "ab".repeat(32) },
    };
    let facts = LineFacts::from_line(&line, false);
    assert_eq!((facts.ordinal, facts.line_no, facts.offset), (4, 9, 1234));
    assert_eq!((facts.full_length, facts.full_hash.len(), facts.non_utf8), (2_000_000, 64, false));
    let whole = Line { cut: Cut::Whole, ..line.clone() };
    assert_eq!(LineFacts::from_line(&whole, true).full_length, 0);
}

/// The user-agent parser is asked once per event that has a user agent, with the value as stored.
#[test]
fn the_user_agent_parser_sees_each_stored_value() {
    struct Recorder(Vec<String>, UserAgent);
    impl UserAgents for Recorder {
        fn parse(&mut self, ua: &str) -> &UserAgent {
            self.0.push(ua.to_owned());
            &self.1
        }
    }
    let mut agents =
        Recorder(Vec::new(), UserAgent { name: "N".into(), version: Some(String::new()), os: None, device: "D".into() });
    let mut counters = Counters::default();
    let ctx = FileContext::default();
    for ua in ["\"quoted\"", "", "plain"] {
        let rec = imperva("Normal", "0", &[("requestclientapplication", ua)]);
        let row = map_record(&rec, &ctx, None, &mut agents, &mut counters);
        if !ua.is_empty() {
            let d = doc(&row);
            assert_eq!(d["user_agent"]["name"], "N");
            assert_eq!(d["user_agent"].get("version"), None, "an empty version is no version");
            assert_eq!(d["user_agent"]["device"]["name"], "D");
        }
    }
    assert_eq!(agents.0, ["quoted", "plain"]);
}

/// An event carries only the per-event file fields (DESIGN §1): name, identity, line, ordinal,
/// the file's verdict, `log.*`; none of the file's other facts (header, format, compression…).
#[test]
fn only_the_per_event_file_fields() {
    let header = [("accountid".to_owned(), "7".to_owned()), ("key".to_owned(), "secret".to_owned())];
    let ctx = FileContext::new("1_2.log", 0)
        .with_path("/in/1_2.log")
        .with_header(&header)
        .with_identity(&[0xab; 16]);
    let ctx = ctx.with_verdict(FileVerdict { checksum: ChecksumStatus::Incomplete, partial: true });
    let facts = LineFacts { line_no: 3, ordinal: 1, offset: 40, ..LineFacts::default() };
    let mut row = Row::new();
    add_line_fields(&mut row, &ctx, &facts);
    assert_eq!(
        doc(&row),
        json!({
            "imperva": {"waf": {"file": {
                "name": "1_2.log", "identity": "ab".repeat(16), "line": 3, "ordinal": 1,
                "checksum_status": "incomplete", "partial": true,
            }}},
            "log": {"file": {"path": "/in/1_2.log"}, "offset": 40},
        })
    );
}

/// The header's `startTime` is read once per file: only ASCII digits, only a plausible time.
#[test]
fn the_header_start_time_is_checked_once() {
    let with = |v: &str| FileContext::default().with_header(&[("starttime".into(), v.into())]).start_time_ms();
    assert_eq!(with("1718000000000"), Some(1_718_000_000_000));
    for bad in ["1718000000", "", " 1718000000000", "١٧١٨٠٠٠٠٠٠٠٠٠", "99999999999999", "-1718000000000"] {
        assert_eq!(with(bad), None, "{bad:?}");
    }
    let ctx = FileContext::default().with_header(&[("key".into(), "k".into()), ("Format".into(), "CEF".into())]);
    assert_eq!(ctx.header_json(), Some(r#"{"Format":"CEF"}"#));
    assert_eq!(FileContext::default().with_header(&[]).header_json(), None);
}

/// [`split_url`], version 1's `_split_url`.
#[test]
fn urls_split_as_version_1_split_them() {
    assert_eq!(split_url("h/a/b?q=1", None), ("h", "/a/b", Some("q=1")));
    assert_eq!(split_url("h/a/b?q=1", Some("x")), ("h", "/a/b", Some("x")));
    assert_eq!(split_url("h/a?", None), ("h", "/a", Some("")));
    assert_eq!(split_url("https://h/a", None), ("h", "/a", None));
    assert_eq!(split_url("ftp://h?x/y", None), ("h", "/", Some("x/y")));
    assert_eq!(split_url("h", None), ("h", "/", None));
    assert_eq!(split_url("/p", None), ("", "/p", None));
    assert_eq!(split_url("a://b://c/d", None), ("b:", "//c/d", None));
    assert_eq!(split_url("", None), ("", "/", None));
}

#[test]
fn counters_by_version_1s_names() {
    let mut a = Counters { unknown_key: 1, events: 2, ..Counters::default() };
    a.add(&Counters { unknown_key: 3, security_events: 1, ..Counters::default() });
    let names: Vec<&str> = a.pairs().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "unknown_key",
            "invalid_value",
            "unknown_action",
            "foreign_product",
            "warning_non_utf8",
            "warning_control_chars",
            "warning_long_line",
            "warning_merged_records",
            "events",
            "security_events"
        ]
    );
    assert_eq!(
        nonzero(&a),
        BTreeMap::from([("events".into(), 2), ("security_events".into(), 1), ("unknown_key".into(), 4)])
    );
}
