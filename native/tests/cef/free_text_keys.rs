//! The free-text-key rule (DESIGN §1): on Imperva lines, unknown key candidates stay in free-text
//! values.

use _native::keys::FREE_TEXT_KEYS;

use crate::support::{dec, ext, generic, get, imperva, pairs};

#[test]
fn free_text_values_keep_unknown_key_candidates() {
    for key in FREE_TEXT_KEYS {
        let rec = dec(&imperva(&format!("{key}=a b=c d.e=f g=h src=1.2.3.4")));
        assert_eq!(rec.ext, pairs(&[(key, "a b=c d.e=f g=h"), ("src", "1.2.3.4")]), "{key}");
    }
}

#[test]
fn free_text_value_still_ends_at_a_known_key() {
    let rec = dec(&imperva(r#"postbody=user=admin&x=1 name=value cs10=[{"a":"b c=d"}] cs10Label=Rule Info"#));
    assert_eq!(get(&rec, "postbody"), "user=admin&x=1 name=value");
    assert_eq!(get(&rec, "cs10"), r#"[{"a":"b c=d"}]"#);
    assert_eq!(get(&rec, "cs10label"), "Rule Info");
}

#[test]
fn unknown_key_after_a_non_free_text_key_is_a_key() {
    let rec = dec(&imperva("ver=TLSv1.3 newKey=x src=1.1.1.1"));
    assert_eq!(rec.ext, pairs(&[("ver", "TLSv1.3"), ("newkey", "x"), ("src", "1.1.1.1")]));
}

#[test]
fn free_text_rule_is_for_imperva_only() {
    assert_eq!(
        ext(&generic("requestClientApplication=a b=c")),
        pairs(&[("requestclientapplication", "a"), ("b", "c")])
    );
}
