//! What kind of event this is and how it ended: `event.*`, `rule.*`, the security flag, the
//! rule type and attack type (version 1's "classification" block), and `observer.*`.

use crate::decode::RawRecord;
use crate::document::Row;
use crate::ecs::{attack_type, classify_action, is_known_action, rule_type_id, Outcome};
use crate::fields::{
    EVENT_ACTION, EVENT_CATEGORY, EVENT_CODE, EVENT_DATASET, EVENT_KIND, EVENT_MODULE, EVENT_OUTCOME, EVENT_TYPE,
    IMPERVA_WAF_ACTION_CLASS, IMPERVA_WAF_EVENT_NAME, IMPERVA_WAF_PRODUCT,
    IMPERVA_WAF_RULE_TYPE_ID, IMPERVA_WAF_SECURITY_EVENT, IMPERVA_WAF_SEVERITY,
    IMPERVA_WAF_VENDOR, OBSERVER_PRODUCT, OBSERVER_TYPE, OBSERVER_VENDOR, OBSERVER_VERSION, RULE_CATEGORY, RULE_NAME,
};

use super::table::Seen;
use super::{Counters, DATASET};
use crate::pytext::strip as py_strip;

/// The classification of `rec` into `row`.
pub(crate) fn classify(rec: &RawRecord, seen: &Seen<'_>, row: &mut Row, counters: &mut Counters) {
    let imperva = rec.is_imperva();
    let name = rec.name.as_deref();
    if let Some(name) = name {
        row.set_str(IMPERVA_WAF_EVENT_NAME, name);
    }
    // Python: `imperva and name and name.strip().lower() != "normal"` (no character outside
    // ASCII lower-cases into "normal", so an ASCII comparison is the same test).
    let security = imperva && name.is_some_and(|n| !n.is_empty() && !py_strip(n).eq_ignore_ascii_case("normal"));
    row.set_bool(IMPERVA_WAF_SECURITY_EVENT, security);
    row.set_str(EVENT_DATASET, DATASET);
    row.set_str(EVENT_MODULE, "imperva");
    row.set_str(EVENT_KIND, if security { "alert" } else { "event" });
    if let Some(signature) = rec.signature.as_deref().filter(|s| !s.is_empty()) {
        row.set_str(EVENT_CODE, signature);
    }
    let mut outcome = Outcome::Unknown;
    if let Some(act) = seen.act.filter(|a| !a.is_empty()) {
        let (class, out) = classify_action(act);
        outcome = out;
        row.set_str(IMPERVA_WAF_ACTION_CLASS, class.as_str());
        row.set_str_with(EVENT_ACTION, |out| push_action_name(out, act));
        if !is_known_action(act, class) {
            counters.unknown_action += 1;
        }
    }
    row.set_str(EVENT_OUTCOME, outcome.as_str());
    if security {
        let rule_id = rule_type_id(rec.severity.as_deref(), name);
        if let Some(id) = rule_id {
            row.set_long(IMPERVA_WAF_RULE_TYPE_ID, id);
        }
        // Never None here: a security event has a non-empty name.
        if let Some(attack) = attack_type(rule_id, name) {
            row.set_str(RULE_CATEGORY, attack);
        }
        row.set_list(EVENT_CATEGORY, ["web", "intrusion_detection"]);
        let blocked = outcome != Outcome::Success;
        row.set_list(EVENT_TYPE, [if blocked { "denied" } else { "allowed" }]);
    } else {
        row.set_list(EVENT_CATEGORY, ["web"]);
        row.set_list(EVENT_TYPE, ["access"]);
        if !imperva {
            if let Some(severity) = rec.severity.as_deref() {
                row.set_str(IMPERVA_WAF_SEVERITY, severity);
            }
        }
    }
    if let Some(rule_names) = seen.cs9.filter(|s| !s.is_empty()) {
        row.set_str(RULE_NAME, rule_names);
    }
    if !imperva {
        if let Some(vendor) = rec.vendor.as_deref() {
            row.set_str(IMPERVA_WAF_VENDOR, vendor);
        }
        if let Some(product) = rec.product.as_deref() {
            row.set_str(IMPERVA_WAF_PRODUCT, product);
        }
        counters.foreign_product += 1;
    }
}

/// `event.action`: `act.lower().replace("_", "-")` in one pass, appended to `out`.
fn push_action_name(out: &mut String, act: &str) {
    if act.is_ascii() {
        out.extend(act.bytes().map(|b| if b == b'_' { '-' } else { char::from(b.to_ascii_lowercase()) }));
    } else {
        for c in act.to_lowercase().chars() {
            out.push(if c == '_' { '-' } else { c });
        }
    }
}

/// `observer.*`: Imperva's own product, or the foreign vendor's.
pub(crate) fn observer(rec: &RawRecord, row: &mut Row) {
    if rec.is_imperva() {
        row.set_str(OBSERVER_VENDOR, "Imperva");
        row.set_str(OBSERVER_PRODUCT, "Cloud WAF");
    } else {
        if let Some(vendor) = rec.vendor.as_deref() {
            row.set_str(OBSERVER_VENDOR, vendor);
        }
        if let Some(product) = rec.product.as_deref() {
            row.set_str(OBSERVER_PRODUCT, product);
        }
    }
    row.set_str(OBSERVER_TYPE, "waf");
    if let Some(version) = rec.version.as_deref().filter(|v| !v.is_empty()) {
        row.set_str(OBSERVER_VERSION, version);
    }
}
