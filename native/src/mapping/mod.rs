//! A decoded record → one event [`Row`] of ECS values: the Rust form of version 1's
//! `wafpipe.decode.mapping.to_ecs` and of the per-line part of `LineRun.run`
//! (`wafpipe.decode.reader.lines`).
//!
//! The field table (`crate::fields`) does the per-key work (`table`); the other parts
//! add what needs several keys or the file: the classification of the event and its outcome
//! (`classify`), the timestamp and its fallbacks (`time`), source, destination and related
//! addresses (`network`), the URL (`url`), the user agent (`user_agent`, parsed by the
//! caller through [`UserAgents`]), TLS (`tls`), and the file and line fields under `log.*` and
//! `imperva.waf.file.*` (`file_fields`, from the per-file [`FileContext`]).
//!
//! Per line, in version 1's order:
//!
//! ```text
//! line_warnings(&facts, text, &mut rec.warnings, &mut counters);   // non-UTF-8, control chars, long line
//! let mut row = map_record(&rec, &ctx, Some(text), agents, &mut counters);
//! add_line_fields(&mut row, &ctx, &facts);
//! ```
//!
//! or [`map_line`], which does those three and counts `events` / `security_events`
//! ([`map_line_into`] and [`map_record_into`] do the same into a row the caller reuses).
//!
//! Speed: nothing is looked up in a map per event. Keys are found in an index of the field table
//! built once (`key_index`: one hash, one comparison); the raw values the derived fields read
//! (`act`, `app`, `request`, …) are picked up during the one pass over the keys; the per-file
//! values (header, directives, the header's `startTime`) are prepared once in [`FileContext`];
//! the JSON-typed fields are written straight to text. A run maps every event into its one
//! [`Row`] ([`map_line_into`]), whose text buffer keeps its capacity, so the row itself allocates
//! nothing per event; what is allocated is transient: the `flattened` fields' JSON text, the
//! warnings, `related.ip`, an address converted by `to_ip_zoned`, and the values of two
//! converters whose API returns them (`to_keyword_list`'s `Vec<&str>`, and `to_json_text`'s
//! `serde_json::Value` for a JSON value not already written as serde_json writes it).
//!
//! # Intended differences from version 1's document
//!
//! They follow from the converters' intended differences (`crate::ecs::convert`) and are applied
//! wherever version 1 read the same kind of value:
//!
//! 1. **`start`/`end` must be plausible epoch milliseconds** (2000 ≤ year < 2100; see
//!    [`crate::ecs::to_date`]). Version 1 read 10 digits or fewer as seconds and accepted any
//!    time before year 10000. Such a value is now invalid: raw text under
//!    `imperva.waf.invalid`, the converter's warning, `invalid_value` counted, and for `start`
//!    the timestamp falls back to the next source exactly as when `start` is missing.
//! 2. **The header's `startTime` must be plausible epoch milliseconds too** (ASCII digits only,
//!    no blanks, same range). Version 1 took any `str.isdigit()` text as milliseconds (a 10-digit
//!    value became a time in January 1970; a non-ASCII digit crashed it). Otherwise the
//!    fallback goes on to the ingest time, without a warning (the header is kept under
//!    `imperva.waf.file.header`).
//! 3. **W3C `date` + `time` is validated** ([`crate::ecs::w3c_timestamp`]). Version 1 glued the
//!    two texts (`helloTworldZ`). Now a pair that is not a real UTC date and time of day is
//!    invalid: each bad one's raw text under `imperva.waf.invalid.date` / `.time`, a warning
//!    `date: …` / `time: …`, `invalid_value` counted per bad value, and the timestamp falls back
//!    to the header's `startTime`, then the ingest time. A valid pair is written in the one time
//!    form: `06:13:20.5` gives `…T06:13:20.500Z` where version 1 wrote `…T06:13:20.5Z`. As in
//!    version 1 the pair is read from the record's `date` and `time` keys whatever the format
//!    (in CEF/LEEF they are also kept under `imperva.waf.extensions`).
//! 4. **An IPv6 zone id is not part of an `ip` field.** For `src`, `sip` and `caip`,
//!    `fe80::1%eth0` is stored as `fe80::1` (in `source.ip`, `source.address`,
//!    `destination.*`, `related.ip` too), the raw text goes under `imperva.waf.invalid`, a
//!    warning `src: 'fe80::1%eth0' is an IPv6 address with a zone id, which an ip field cannot
//!    hold; the address is kept without the zone` is added and `invalid_value` counted — the
//!    same treatment as an XFF chain with bad members: the usable part kept, the raw text and a
//!    warning beside it. Version 1 stored the zone inside the address, which Elasticsearch's
//!    `ip` type rejects. In an XFF chain a zoned member is a bad member (warning, raw chain
//!    under `invalid`, the other members kept).
//! 5. The other converter differences carry through unchanged: only ASCII digits are numbers
//!    (also for the rule-type id of the CEF severity slot, which otherwise comes from the event
//!    name), a `long` beyond 64 bits is invalid, JSON nested deeper than 127 levels is invalid.
//!
//! Where version 1 would write `null` (a foreign record without a vendor or product, which no
//! decoder produces) the field is left out: a row has no null value.

mod classify;
mod context;
mod counters;
mod file_fields;
mod json;
mod key_index;
mod merged;
mod network;
mod table;
mod time;
mod tls;
mod url;
mod user_agent;

pub use context::FileContext;
pub use counters::Counters;
pub use file_fields::{add_line_fields, line_warnings, LineFacts, CONTROL_CHARS_WARNING};
pub use merged::{second_record, SecondRecord};
pub use url::split_url;
pub use user_agent::{Os, UserAgent, UserAgents};

use crate::decode::RawRecord;
use crate::document::{Row, Value};
use crate::fields;

use self::json::JsonObject;

/// `ecs.version` of every document.
pub const ECS_SCHEMA_VERSION: &str = "8.11.0";

/// `event.dataset` of every document (the field table's `DATASET`).
pub const DATASET: &str = "imperva.waf";

/// Map one record (version 1's `to_ecs`). `original` becomes `event.original`; warnings
/// (the record's own, then invalid values and unknown keys) go to `imperva.waf.warnings`;
/// `counters` receives `unknown_key`, `invalid_value`, `unknown_action` and `foreign_product`.
pub fn map_record(
    rec: &RawRecord,
    ctx: &FileContext,
    original: Option<&str>,
    ua: &mut dyn UserAgents,
    counters: &mut Counters,
) -> Row {
    let mut row = Row::new();
    map_record_into(rec, ctx, original, ua, counters, &mut row);
    row
}

/// [`map_record`] into `row` (cleared first): a run maps every event into its one row.
pub fn map_record_into(
    rec: &RawRecord,
    ctx: &FileContext,
    original: Option<&str>,
    ua: &mut dyn UserAgents,
    counters: &mut Counters,
    row: &mut Row,
) {
    row.clear();
    let mut draft = Draft::new(rec, row);
    let seen = table::map_keys(rec, &mut draft, counters);
    classify::classify(rec, &seen, draft.row, counters);
    time::timestamp(&seen, ctx, &mut draft, counters);
    network::network(&seen, draft.row);
    url::url(&seen, draft.row);
    user_agent::user_agent(draft.row, ua);
    tls::tls(&seen, draft.row);
    classify::observer(rec, draft.row);
    draft.finish(rec, original);
}

/// One event line, whole: [`line_warnings`] on the record, [`map_record`] with the line's text as
/// `event.original`, [`add_line_fields`], and the `events` / `security_events` counters — what
/// version 1's `LineRun.run` does for a line that decoded to an event.
pub fn map_line(
    rec: &mut RawRecord,
    ctx: &FileContext,
    line: &LineFacts<'_>,
    text: &str,
    ua: &mut dyn UserAgents,
    counters: &mut Counters,
) -> Row {
    let mut row = Row::new();
    map_line_into(rec, ctx, line, text, ua, counters, &mut row);
    row
}

/// [`map_line`] into `row` (cleared first).
pub fn map_line_into(
    rec: &mut RawRecord,
    ctx: &FileContext,
    line: &LineFacts<'_>,
    text: &str,
    ua: &mut dyn UserAgents,
    counters: &mut Counters,
    row: &mut Row,
) {
    line_warnings(line, text, &mut rec.warnings, counters);
    map_record_into(rec, ctx, Some(text), ua, counters, row);
    add_line_fields(row, ctx, line);
    counters.events += 1;
    if matches!(row.get(fields::IMPERVA_WAF_SECURITY_EVENT), Some(Value::Bool(true))) {
        counters.security_events += 1;
    }
}

/// The row being built and what is gathered on the way (all written once, at the end).
pub(crate) struct Draft<'r> {
    pub row: &'r mut Row,
    pub warnings: Vec<String>,
    pub invalid: JsonObject,
    pub labels: JsonObject,
    pub extensions: JsonObject,
}

impl<'r> Draft<'r> {
    fn new(rec: &RawRecord, row: &'r mut Row) -> Draft<'r> {
        Draft {
            row,
            warnings: rec.warnings.clone(),
            invalid: JsonObject::default(),
            labels: JsonObject::default(),
            extensions: JsonObject::default(),
        }
    }

    /// A value of `key` that does not convert: raw text kept, warning `key: message`, counted.
    pub fn reject(&mut self, key: &str, raw: &str, message: &str, counters: &mut Counters) {
        self.invalid.push_str(key, raw);
        let mut warning = String::with_capacity(key.len() + 2 + message.len());
        warning.push_str(key);
        warning.push_str(": ");
        warning.push_str(message);
        self.warnings.push(warning);
        counters.invalid_value += 1;
    }

    fn finish(self, rec: &RawRecord, original: Option<&str>) {
        use crate::fields::{
            ECS_VERSION, EVENT_ORIGINAL, IMPERVA_WAF_DUPLICATES, IMPERVA_WAF_EXTENSIONS, IMPERVA_WAF_INVALID,
            IMPERVA_WAF_LABELS, IMPERVA_WAF_SYSLOG_PREFIX, IMPERVA_WAF_WARNINGS,
        };
        let Draft { row, warnings, invalid, labels, extensions } = self;
        set_json(row, IMPERVA_WAF_LABELS, labels);
        set_json(row, IMPERVA_WAF_EXTENSIONS, extensions);
        set_json(row, IMPERVA_WAF_INVALID, invalid);
        if !rec.dups.is_empty() {
            let mut dups = JsonObject::default();
            for (key, values) in &rec.dups {
                dups.push_str_list(key, values);
            }
            set_json(row, IMPERVA_WAF_DUPLICATES, dups);
        }
        if let Some(prefix) = rec.syslog_prefix.as_deref().filter(|p| !p.is_empty()) {
            row.set_str(IMPERVA_WAF_SYSLOG_PREFIX, prefix);
        }
        if !warnings.is_empty() {
            row.set_list(IMPERVA_WAF_WARNINGS, warnings.iter().map(String::as_str));
        }
        if let Some(original) = original {
            row.set_str(EVENT_ORIGINAL, original);
        }
        row.set_str(ECS_VERSION, ECS_SCHEMA_VERSION);
    }
}

fn set_json(row: &mut Row, slot: usize, object: JsonObject) {
    if let Some(text) = object.finish() {
        row.set_json(slot, &text);
    }
}

/// The `&str` of a `Str` value in `slot`, if set.
pub(crate) fn str_at(row: &Row, slot: usize) -> Option<&str> {
    row.str(slot)
}
