//! Actions and rule types: action classes and outcomes, rule types from names and ids.

use _native::ecs::{
    attack_type, classify_action, is_known_action, rule_type_from_name, rule_type_id, rule_type_name, ActionClass,
    Outcome,
};

#[test]
fn actions_are_classified_by_prefix() {
    use ActionClass::*;
    for (act, class, outcome, known) in [
        ("REQ_PASSED", Passed, Outcome::Success, true),
        ("REQ_CACHED_FRESH", Cached, Outcome::Success, true),
        ("req_cached_validated", Cached, Outcome::Success, true),
        ("REQ_CHALLENGE_CAPTCHA", Challenged, Outcome::Unknown, true),
        ("REQ_CHALLENGED_CAPTCHA", Challenged, Outcome::Unknown, true),
        ("REQ_BLOCKED_SESSION", Blocked, Outcome::Failure, true),
        ("REQ_BAD_CLIENT_CLOSED_CONNECTION", Bad, Outcome::Failure, true),
        ("REQ_UNRESOLVED_SITE_UNKNOWN", Unresolved, Outcome::Failure, true),
        ("REQ_ILLEGAL_PORT", Denied, Outcome::Failure, true),
        ("req_domain_blacklisted", Denied, Outcome::Failure, true),
        ("REQ_TOO_MANY_CONNECTIONS_TO_ORIGIN", Denied, Outcome::Failure, true),
        ("REQ_SOMETHING_NEW", Denied, Outcome::Failure, false),
        ("REQ_", Denied, Outcome::Failure, false),
        ("REQ", Unknown, Outcome::Unknown, false),
        ("PASSED", Unknown, Outcome::Unknown, false),
        ("", Unknown, Outcome::Unknown, false),
        (" REQ_PASSED", Unknown, Outcome::Unknown, false),
        // Python's str.upper(): ſ → S, ı → I, ß → SS.
        ("REQ_PAſſED", Passed, Outcome::Success, true),
        ("REQ_ſſL_NOT_ſUPPORTED", Denied, Outcome::Failure, true),
        ("req_ıllegal_port", Denied, Outcome::Failure, true),
        ("REQ_PASSEDß", Passed, Outcome::Success, true),
    ] {
        assert_eq!(classify_action(act), (class, outcome), "{act:?}");
        assert_eq!(is_known_action(act, class), known, "{act:?}");
    }
    assert_eq!(Challenged.as_str(), "challenged");
    assert_eq!(Outcome::Failure.to_string(), "failure");
}

#[test]
fn rule_types_from_names_ids_and_the_generated_tables() {
    for (name, want) in [
        ("SQL Injection", Some(0)),
        (" sql injection ", Some(0)),
        ("DDoS", Some(8)),
        ("Blocked country", Some(-1)),
        ("BLOC\u{212a}ED COUNTRY", Some(-1)), // Kelvin sign: "K".lower() is "k" in Python
        ("IncapRules(my rule)", Some(11)),
        ("incaprules(", Some(11)),
        ("\u{1c}Bad Bot\u{3000}", Some(14)),
        ("Cross Site Scripting ", Some(1)),
        ("Normal", None),
        ("IncapRules", None),
        ("", None),
    ] {
        assert_eq!(rule_type_from_name(Some(name)), want, "{name:?}");
    }
    assert_eq!(rule_type_from_name(None), None);
    assert_eq!(rule_type_name(0), Some("SQL Injection"));
    assert_eq!(rule_type_name(-1), Some("ACL"));
    assert_eq!(rule_type_name(14), Some("Bad Bot"));
    assert_eq!(rule_type_name(2), None);

    assert_eq!(rule_type_id(Some("3"), Some("SQL Injection")), Some(3));
    assert_eq!(rule_type_id(Some(" -1 "), None), Some(-1));
    assert_eq!(rule_type_id(Some(""), Some("DDoS")), Some(8));
    assert_eq!(rule_type_id(None, Some("IncapRules(x)")), Some(11));
    assert_eq!(rule_type_id(Some("MAJOR"), Some("Attack Analytics thing")), None);
    // Intended difference 8 (and 1): version 1 raised on "--5" and "²"; "٣" was 3.
    assert_eq!(rule_type_id(Some("--5"), Some("DDoS")), Some(8));
    assert_eq!(rule_type_id(Some("²"), None), None);
    assert_eq!(rule_type_id(Some("٣"), None), None);
    assert_eq!(rule_type_id(Some("99999999999999999999"), None), None);

    assert_eq!(attack_type(Some(0), Some("SQL Injection")), Some("SQL Injection"));
    assert_eq!(attack_type(Some(11), Some("IncapRules(block bots)")), Some("Manual rule"));
    assert_eq!(attack_type(Some(2), Some("IncapRules(x)")), Some("Manual rule"));
    assert_eq!(attack_type(Some(7), Some("Something new")), Some("Something new"));
    assert_eq!(attack_type(None, Some("Something new")), Some("Something new"));
    assert_eq!(attack_type(Some(7), Some("")), None);
    assert_eq!(attack_type(None, None), None);
}
