//! How Imperva handled a request (`act`, FORMATS §7.2) and what kind of rule fired (the rule-type
//! id of the CEF severity slot, FORMATS §2.2 and §7.1).
//!
//! Imperva publishes no complete list of `act` values, so values are classified by prefix, the
//! raw value is always kept, and values outside the known set are counted (DESIGN §7). Case is
//! compared as Python's `str.upper()`/`str.lower()` compare it, as version 1 did.

use std::fmt;

use crate::keys::{RULE_TYPES, RULE_TYPE_BY_NAME};
use crate::pytext;

/// What Imperva did with the request, from the prefix of `act`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionClass {
    /// `REQ_PASSED*`: forwarded to the origin.
    Passed,
    /// `REQ_CACHED*`: served from Imperva's cache.
    Cached,
    /// `REQ_CHALLENGE*` (and `REQ_CHALLENGED*`).
    Challenged,
    /// `REQ_BLOCKED*`.
    Blocked,
    /// `REQ_BAD*`: a client, origin or protocol failure.
    Bad,
    /// `REQ_UNRESOLVED*`: the host is not a known site.
    Unresolved,
    /// Any other `REQ_*`: denied or failed by configuration (`REQ_ILLEGAL_PORT`, …).
    Denied,
    /// Not a `REQ_*` value.
    Unknown,
}

impl ActionClass {
    /// The name stored in `imperva.waf.action_class`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionClass::Passed => "passed",
            ActionClass::Cached => "cached",
            ActionClass::Challenged => "challenged",
            ActionClass::Blocked => "blocked",
            ActionClass::Bad => "bad",
            ActionClass::Unresolved => "unresolved",
            ActionClass::Denied => "denied",
            ActionClass::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ActionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ECS `event.outcome`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

impl Outcome {
    /// The ECS value: `success`, `failure` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// (prefix, class, outcome), tried in order.
const ACTION_CLASSES: [(&str, ActionClass, Outcome); 6] = [
    ("REQ_PASSED", ActionClass::Passed, Outcome::Success),
    ("REQ_CACHED", ActionClass::Cached, Outcome::Success),
    ("REQ_CHALLENGE", ActionClass::Challenged, Outcome::Unknown),
    ("REQ_BLOCKED", ActionClass::Blocked, Outcome::Failure),
    ("REQ_BAD", ActionClass::Bad, Outcome::Failure),
    ("REQ_UNRESOLVED", ActionClass::Unresolved, Outcome::Failure),
];

/// The other `REQ_*` values seen in public sources (FORMATS §7.2), copied from version 1's
/// `decode/actions.py`; a [`ActionClass::Denied`] value outside this list is counted as unknown.
pub const KNOWN_OTHER_ACTIONS: [&str; 13] = [
    "REQ_SSL_NOT_SUPPORTED",
    "REQ_NO_IP_FOUND",
    "REQ_ILLEGAL_PORT",
    "REQ_ALL_IPS_DOWN",
    "REQ_POST_TIMEOUT",
    "REQ_IPV6_NOT_SUPPORTED",
    "REQ_LOCKED_IP_VIOLATION",
    "REQ_DOMAIN_BLACKLISTED",
    "REQ_ILLEGAL_IP_VIOLATION",
    "REQ_SSL_CERT_HOST_MISMATCH",
    "REQ_NON_SNI_FORBIDDEN",
    "REQ_CLIENT_CERT_REQUIRED",
    "REQ_TOO_MANY_CONNECTIONS_TO_ORIGIN",
];

/// (action class, `event.outcome`) of an `act` value, any case; values that are not `REQ_*`
/// are ([`ActionClass::Unknown`], [`Outcome::Unknown`]).
pub fn classify_action(act: &str) -> (ActionClass, Outcome) {
    for (prefix, class, outcome) in ACTION_CLASSES {
        if pytext::upper_starts_with(act, prefix) {
            return (class, outcome);
        }
    }
    if pytext::upper_starts_with(act, "REQ_") {
        (ActionClass::Denied, Outcome::Failure)
    } else {
        (ActionClass::Unknown, Outcome::Unknown)
    }
}

/// False for values to count as unknown: no known prefix, or a [`ActionClass::Denied`] value
/// not in [`KNOWN_OTHER_ACTIONS`]. `class` is what [`classify_action`] gave for `act`.
pub fn is_known_action(act: &str, class: ActionClass) -> bool {
    match class {
        ActionClass::Unknown => false,
        ActionClass::Denied => KNOWN_OTHER_ACTIONS.iter().any(|known| pytext::upper_eq(act, known)),
        _ => true,
    }
}

/// The attack type of a rule-type id (`0` → `SQL Injection`), from the generated
/// [`crate::keys::RULE_TYPES`]; `None` for ids Imperva has not documented (2, 5, 6, 7, …).
pub fn rule_type_name(id: i64) -> Option<&'static str> {
    RULE_TYPES.iter().find(|(known, _)| *known == id).map(|(_, name)| *name)
}

/// Best-effort rule-type id from an event name (CEF Name, LEEF Event ID, W3C `cs-rule`), any case,
/// surrounding whitespace ignored: `IncapRules(…)` is 11, the names of
/// [`crate::keys::RULE_TYPE_BY_NAME`] their id; `None` when the name does not say.
pub fn rule_type_from_name(name: Option<&str>) -> Option<i64> {
    let low = pytext::strip(name?);
    if pytext::lower_starts_with(low, "incaprules(") {
        return Some(11);
    }
    RULE_TYPE_BY_NAME.iter().find(|(known, _)| pytext::lower_eq(low, known)).map(|(_, id)| *id)
}

/// The rule-type id of a security event: the CEF severity slot when it holds an integer
/// (`-?[0-9]+`, whitespace around it ignored), else what the event name says.
pub fn rule_type_id(severity: Option<&str>, name: Option<&str>) -> Option<i64> {
    let from_severity = severity.and_then(|s| {
        let s = pytext::strip(s);
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<i64>().ok()
    });
    from_severity.or_else(|| rule_type_from_name(name))
}

/// `imperva.waf.attack_type` / `rule.category` of a security event: the name of its rule type,
/// else `Manual rule` for an `IncapRules(…)` name, else the event name itself.
pub fn attack_type(rule_id: Option<i64>, name: Option<&str>) -> Option<&str> {
    if let Some(known) = rule_id.and_then(rule_type_name) {
        return Some(known);
    }
    match name {
        Some(n) if !n.is_empty() => Some(if pytext::lower_starts_with(n, "incaprules(") { "Manual rule" } else { n }),
        _ => None,
    }
}
