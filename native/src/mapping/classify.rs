//! What kind of event this is and how it ended: `event.*`, `rule.*`, the security flag, the
//! rule type and attack type (version 1's "classification" block), and `observer.*`.

use crate::decode::RawRecord;
use crate::document::{Row, Value};
use crate::ecs::{attack_type, classify_action, is_known_action, rule_type_id, Outcome};
use crate::fields::{
    EVENT_ACTION, EVENT_CATEGORY, EVENT_CODE, EVENT_DATASET, EVENT_KIND, EVENT_MODULE, EVENT_OUTCOME, EVENT_TYPE,
    IMPERVA_WAF_ACTION_CLASS, IMPERVA_WAF_ATTACK_TYPE, IMPERVA_WAF_EVENT_NAME, IMPERVA_WAF_PRODUCT,
    IMPERVA_WAF_RULE_TYPE_ID, IMPERVA_WAF_SECURITY_EVENT, IMPERVA_WAF_SEVERITY, IMPERVA_WAF_SIGNATURE_ID,
    IMPERVA_WAF_VENDOR, OBSERVER_PRODUCT, OBSERVER_TYPE, OBSERVER_VENDOR, OBSERVER_VERSION, RULE_CATEGORY, RULE_NAME,
};

use super::table::Seen;
use super::{Counters, DATASET};
use crate::pytext::strip as py_strip;

fn text(s: &str) -> Value {
    Value::Str(s.to_owned())
}

fn list(items: &[&str]) -> Value {
    Value::StrList(items.iter().map(|s| (*s).to_owned()).collect())
}

/// The classification of `rec` into `row`.
pub(crate) fn classify(rec: &RawRecord, seen: &Seen<'_>, row: &mut Row, counters: &mut Counters) {
    let imperva = rec.is_imperva();
    let name = rec.name.as_deref();
    if let Some(name) = name {
        row.set(IMPERVA_WAF_EVENT_NAME, text(name));
    }
    // Python: `imperva and name and name.strip().lower() != "normal"` (no character outside
    // ASCII lower-cases into "normal", so an ASCII comparison is the same test).
    let security = imperva && name.is_some_and(|n| !n.is_empty() && !py_strip(n).eq_ignore_ascii_case("normal"));
    row.set(IMPERVA_WAF_SECURITY_EVENT, Value::Bool(security));
    row.set(EVENT_DATASET, text(DATASET));
    row.set(EVENT_MODULE, text("imperva"));
    row.set(EVENT_KIND, text(if security { "alert" } else { "event" }));
    if let Some(signature) = rec.signature.as_deref().filter(|s| !s.is_empty()) {
        row.set(EVENT_CODE, text(signature));
        row.set(IMPERVA_WAF_SIGNATURE_ID, text(signature));
    }
    let mut outcome = Outcome::Unknown;
    if let Some(act) = seen.act.filter(|a| !a.is_empty()) {
        let (class, out) = classify_action(act);
        outcome = out;
        row.set(IMPERVA_WAF_ACTION_CLASS, text(class.as_str()));
        row.set(EVENT_ACTION, Value::Str(action_name(act)));
        if !is_known_action(act, class) {
            counters.unknown_action += 1;
        }
    }
    row.set(EVENT_OUTCOME, text(outcome.as_str()));
    if security {
        let rule_id = rule_type_id(rec.severity.as_deref(), name);
        if let Some(id) = rule_id {
            row.set(IMPERVA_WAF_RULE_TYPE_ID, Value::Long(id));
        }
        // Never None here: a security event has a non-empty name.
        if let Some(attack) = attack_type(rule_id, name) {
            row.set(IMPERVA_WAF_ATTACK_TYPE, text(attack));
            row.set(RULE_CATEGORY, text(attack));
        }
        row.set(EVENT_CATEGORY, list(&["web", "intrusion_detection"]));
        let blocked = outcome != Outcome::Success;
        row.set(EVENT_TYPE, list(&[if blocked { "denied" } else { "allowed" }]));
    } else {
        row.set(EVENT_CATEGORY, list(&["web"]));
        row.set(EVENT_TYPE, list(&["access"]));
        if !imperva {
            if let Some(severity) = rec.severity.as_deref() {
                row.set(IMPERVA_WAF_SEVERITY, text(severity));
            }
        }
    }
    if let Some(rule_names) = seen.cs9.filter(|s| !s.is_empty()) {
        row.set(RULE_NAME, text(rule_names));
    }
    if !imperva {
        if let Some(vendor) = rec.vendor.as_deref() {
            row.set(IMPERVA_WAF_VENDOR, text(vendor));
        }
        if let Some(product) = rec.product.as_deref() {
            row.set(IMPERVA_WAF_PRODUCT, text(product));
        }
        counters.foreign_product += 1;
    }
}

/// `event.action`: `act.lower().replace("_", "-")` in one pass.
fn action_name(act: &str) -> String {
    let mut out = String::with_capacity(act.len());
    if act.is_ascii() {
        out.extend(act.bytes().map(|b| if b == b'_' { '-' } else { char::from(b.to_ascii_lowercase()) }));
    } else {
        for c in act.to_lowercase().chars() {
            out.push(if c == '_' { '-' } else { c });
        }
    }
    out
}

/// `observer.*`: Imperva's own product, or the foreign vendor's.
pub(crate) fn observer(rec: &RawRecord, row: &mut Row) {
    if rec.is_imperva() {
        row.set(OBSERVER_VENDOR, text("Imperva"));
        row.set(OBSERVER_PRODUCT, text("Cloud WAF"));
    } else {
        if let Some(vendor) = rec.vendor.as_deref() {
            row.set(OBSERVER_VENDOR, text(vendor));
        }
        if let Some(product) = rec.product.as_deref() {
            row.set(OBSERVER_PRODUCT, text(product));
        }
    }
    row.set(OBSERVER_TYPE, text("waf"));
    if let Some(version) = rec.version.as_deref().filter(|v| !v.is_empty()) {
        row.set(OBSERVER_VERSION, text(version));
    }
}
