//! Imperva's key vocabulary. The tables are generated from `src/wafpipe/fields/keys.py`
//! (`make generate`); the lookups over them are here.

#[path = "generated/keys.rs"]
mod generated;

pub use generated::*;

/// The canonical CEF key for a LEEF spelling, or the key itself.
pub fn leef_alias(lower: &str) -> &str {
    LEEF_ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower, |(_, key)| key)
}

/// True when `key` (any case) is an Imperva key in CEF or LEEF spelling (FORMATS §2.7): one Imperva
/// emits, a LEEF alias, or a numbered custom slot (`cs12`, `cn1Label`, `flexString1`, `cs98`…).
pub fn is_known_key(key: &str) -> bool {
    let low = key.to_ascii_lowercase();
    IMPERVA_KEYS.binary_search(&low.as_str()).is_ok()
        || LEEF_ALIASES.iter().any(|(alias, _)| *alias == low)
        || is_slot_key(&low)
}

/// `c[sn]\d+(label)?` or `flex(string|number)\d(label)?` (the `cs9[7-9]` slots are covered by the
/// first form).
fn is_slot_key(low: &str) -> bool {
    let strip_label = |s: &str| s.strip_suffix("label").unwrap_or(s).to_owned();
    if let Some(rest) = low.strip_prefix("cs").or_else(|| low.strip_prefix("cn")) {
        let digits = strip_label(rest);
        return !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    }
    if let Some(rest) = low.strip_prefix("flexstring").or_else(|| low.strip_prefix("flexnumber")) {
        let digit = strip_label(rest);
        return digit.len() == 1 && digit.as_bytes()[0].is_ascii_digit();
    }
    false
}

/// True when values of `key` (canonical) may hold unescaped `word=` text (DESIGN §1).
pub fn is_free_text_key(key: &str) -> bool {
    FREE_TEXT_KEYS.binary_search(&key).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(IMPERVA_KEYS.windows(2).all(|w| w[0] < w[1]));
        assert!(FREE_TEXT_KEYS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn known_keys() {
        for k in ["fileId", "SRC", "cs1", "cs1Label", "cn12", "flexString1Label", "flexNumber2", "cs98",
                  "popName", "proto"] {
            assert!(is_known_key(k), "{k}");
        }
        for k in ["cs", "cslabel", "flexstring12", "foo", "csx", "cn1labelx", ""] {
            assert!(!is_known_key(k), "{k}");
        }
        assert_eq!(leef_alias("popname"), "devicefacility");
        assert_eq!(leef_alias("src"), "src");
        assert!(is_free_text_key("postbody"));
        assert!(!is_free_text_key("src"));
    }
}
