//! A decoded record's values converted to the types of the field table (DESIGN §1).
//!
//! The converters are pure functions, one per field type, each returning its typed value or an
//! [`Invalid`] whose message is the warning version 1 wrote; they cache nothing (the caller
//! caches per batch). [`convert`] lists where they intentionally differ from version 1.
//!
//! * [`convert`] — `long`, `double`, `boolean`, `keyword_list`, `json`; [`Invalid`].
//! * `json_text` — JSON text already in the form a `json` field stores, kept as it is.
//! * [`time`] — `date` (epoch milliseconds), W3C `date` + `time`, the ISO 8601 output form.
//! * [`ip`] — `ip` and `ip_list`, canonical as Python's `ipaddress` prints them.
//! * [`actions`] — `act` → action class and `event.outcome`; rule-type ids and attack types.

pub mod actions;
pub mod convert;
pub mod ip;
mod json_text;
pub mod time;

pub use actions::{
    attack_type, classify_action, is_known_action, rule_type_from_name, rule_type_id, rule_type_name, ActionClass,
    Outcome,
};
pub use convert::{to_bool, to_double, to_json, to_json_text, to_keyword_list, to_long, Invalid};
pub use ip::{split_ips, to_ip, to_ip_list, to_ip_zoned};
pub use time::{iso_ms, push_iso_ms, to_date, w3c_timestamp, PLAUSIBLE_MS};
