//! Support for the converter tests: an Invalid's message, and JSON values as text.

use _native::ecs::Invalid;
use serde_json::Value;

/// The message of an Invalid, failing the test on a value.
pub(crate) fn message<T: std::fmt::Debug>(r: Result<T, Invalid>) -> String {
    r.expect_err("expected Invalid").message().to_owned()
}

/// A JSON value as text, keys in their order (the comparison `Value ==` would ignore order).
pub(crate) fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// `expected` (orjson's text) parsed and written again, so number spelling does not matter.
pub(crate) fn normalised(expected: &str) -> String {
    text(&serde_json::from_str(expected).unwrap())
}
