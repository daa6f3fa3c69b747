//! The per-key loop: each key of the record through the field table (version 1's loop at the top
//! of `to_ecs`).
//!
//! * A key the table does not know is a custom label (`cs1Label=…`, kept under
//!   `imperva.waf.labels` only when it differs from Imperva's own label), W3C's `date`/`time`
//!   (read by the timestamp), or an unknown key (`imperva.waf.extensions`, counted).
//! * An empty value is left out. A whole-value pair of quotes is removed from the user agent,
//!   referrer, city and customer (a third-party fixture quotes them, FORMATS §2.6 #9).
//! * The value is converted by the key's type and stored in the one slot of its plan (an ECS
//!   field where ECS has one, else under `imperva.waf`). A value that does not convert goes, raw,
//!   under `imperva.waf.invalid` with a
//!   warning; an XFF chain keeps its good members; an address keeps its address without an IPv6
//!   zone id (intended difference 4 of [`super`]).
//!
//! On the way it picks up the raw values the derived fields read, so nothing is looked up again.

use crate::decode::{Format, RawRecord};
use crate::ecs::{split_ips, to_bool, to_date, to_double, to_ip, to_ip_zoned, to_json_text, to_keyword_list, to_long};
use crate::fields::{self, Convert, KeyPlan};

use super::key_index::{key_index, Known};
use super::{Counters, Draft};

/// The raw values (as in the record, before unquoting) of the keys the derived fields read.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seen<'a> {
    pub act: Option<&'a str>,
    pub app: Option<&'a str>,
    pub request: Option<&'a str>,
    pub qstr: Option<&'a str>,
    pub ver: Option<&'a str>,
    pub cs9: Option<&'a str>,
    pub date: Option<&'a str>,
    pub time: Option<&'a str>,
}

/// Run every key of `rec` through the table into `draft`; the raw values seen on the way.
pub(crate) fn map_keys<'a>(rec: &'a RawRecord, draft: &mut Draft, counters: &mut Counters) -> Seen<'a> {
    let mut seen = Seen::default();
    let w3c = rec.format == Some(Format::W3c);
    let index = key_index();
    for (key, value) in &rec.ext {
        let (key, value) = (key.as_ref(), value.as_ref());
        let plan = match index.find(key) {
            Some(Known::Plan(plan)) => *plan,
            Some(Known::Label { slot, default }) => {
                if value != *default {
                    draft.labels.push_str(slot, value);
                }
                continue;
            }
            None => {
                match key {
                    "date" => seen.date = Some(value),
                    "time" => seen.time = Some(value),
                    _ => {}
                }
                if w3c && matches!(key, "date" | "time") {
                    continue;
                }
                draft.extensions.push_str(key, value);
                counters.unknown_key += 1;
                continue;
            }
        };
        note(&mut seen, plan, value);
        if value.is_empty() {
            continue;
        }
        let value = if unquotes(plan) { unquote(value) } else { value };
        convert(key, value, plan, draft, counters);
    }
    seen
}

fn note<'a>(seen: &mut Seen<'a>, plan: &KeyPlan, value: &'a str) {
    let at = match plan.slot {
        fields::IMPERVA_WAF_ACTION => &mut seen.act,
        fields::IMPERVA_WAF_PROTOCOL => &mut seen.app,
        fields::URL_ORIGINAL => &mut seen.request,
        fields::URL_QUERY => &mut seen.qstr,
        fields::IMPERVA_WAF_TLS => &mut seen.ver,
        fields::IMPERVA_WAF_RULE_NAMES => &mut seen.cs9,
        _ => return,
    };
    *at = Some(value);
}

/// `requestclientapplication`, `ref`, `cicode`, `customer`: values a fixture wraps in quotes.
fn unquotes(plan: &KeyPlan) -> bool {
    matches!(
        plan.slot,
        fields::USER_AGENT_ORIGINAL
            | fields::HTTP_REQUEST_REFERRER
            | fields::SOURCE_GEO_CITY_NAME
            | fields::IMPERVA_WAF_ACCOUNT_NAME
    )
}

/// `"…"` → `…` when those are the value's only two quotes.
fn unquote(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() > 1 && b[0] == b'"' && b[b.len() - 1] == b'"' && memchr::memchr_iter(b'"', b).count() == 2 {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// The typed value of `value` stored in the plan's slot; a value that does not convert is recorded
/// (raw text, warning, counter) and nothing is stored.
fn convert(key: &str, value: &str, plan: &KeyPlan, draft: &mut Draft, counters: &mut Counters) {
    let slot = plan.slot;
    let result = match plan.convert {
        Convert::Keyword => {
            draft.row.set_str(slot, value);
            Ok(())
        }
        Convert::KeywordList => {
            draft.row.set_list(slot, to_keyword_list(value));
            Ok(())
        }
        Convert::Long => to_long(value).map(|n| draft.row.set_long(slot, n)),
        Convert::Double => to_double(value).map(|f| draft.row.set_double(slot, f)),
        Convert::Bool => to_bool(value).map(|b| draft.row.set_bool(slot, b)),
        Convert::Date => to_date(value).map(|ms| draft.row.set_date(slot, ms)),
        Convert::Ip => return address(key, value, slot, draft, counters),
        Convert::IpList => return chain(key, value, slot, draft, counters),
        Convert::Json => to_json_text(value).map(|text| draft.row.set_json(slot, &text)),
    };
    if let Err(invalid) = result {
        draft.reject(key, value, invalid.message(), counters);
    }
}

/// An `ip` value: the address; with an IPv6 zone id, the address without it, the raw text kept.
fn address(key: &str, value: &str, slot: usize, draft: &mut Draft, counters: &mut Counters) {
    match to_ip_zoned(value) {
        Ok((ip, None)) => draft.row.set_str(slot, &ip),
        Ok((ip, Some(_zone))) => {
            let mut message = to_ip(value).err().map(|e| e.into_message()).unwrap_or_default();
            message.push_str("; the address is kept without the zone");
            draft.reject(key, value, &message, counters);
            draft.row.set_str(slot, &ip);
        }
        Err(invalid) => draft.reject(key, value, invalid.message(), counters),
    }
}

/// An `ip_list` value (XFF): the good members in order; bad ones reported with the raw chain.
fn chain(key: &str, value: &str, slot: usize, draft: &mut Draft, counters: &mut Counters) {
    let (good, bad) = split_ips(value);
    if !bad.is_empty() {
        let message = format!("not IP addresses: {}", bad.join(", "));
        draft.reject(key, value, &message, counters);
    }
    if bad.is_empty() || !good.is_empty() {
        draft.row.set_list(slot, good.iter().map(String::as_str));
    }
}
