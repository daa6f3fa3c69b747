//! JSON text for the `flattened` fields (labels, extensions, invalid, raw, duplicates, the file
//! header and directives), written straight to a `String`: no map, no tree, one buffer per field.

/// A JSON object being written, key by key, in the order the keys come. The caller gives each
/// key once (every object here is keyed by the record's unique keys).
#[derive(Debug, Default)]
pub(crate) struct JsonObject {
    text: String,
}

impl JsonObject {
    fn key(&mut self, key: &str) {
        self.text.push(if self.text.is_empty() { '{' } else { ',' });
        write_str(&mut self.text, key);
        self.text.push(':');
    }

    /// `"key": "value"`.
    pub fn push_str(&mut self, key: &str, value: &str) {
        self.key(key);
        write_str(&mut self.text, value);
    }

    /// `"key": ["a", "b", …]`.
    pub fn push_str_list<S: AsRef<str>>(&mut self, key: &str, values: &[S]) {
        self.key(key);
        self.text.push('[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            write_str(&mut self.text, value.as_ref());
        }
        self.text.push(']');
    }

    /// The object's text, or `None` when no key was pushed.
    pub fn finish(mut self) -> Option<String> {
        if self.text.is_empty() {
            return None;
        }
        self.text.push('}');
        Some(self.text)
    }

    /// The object's text, `{}` when no key was pushed.
    pub fn finish_or_empty(self) -> String {
        self.finish().unwrap_or_else(|| String::from("{}"))
    }
}

/// `text` as a JSON string, as the documents write strings.
pub(crate) fn write_str(out: &mut String, text: &str) {
    crate::document::json::write_json_str(text, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_back() {
        let mut o = JsonObject::default();
        o.push_str("a\"b", "x\\y\n\u{1}\u{7f}é");
        o.push_str_list("l", &["1".to_owned(), "".to_owned()]);
        let text = o.finish().unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, serde_json::json!({"a\"b": "x\\y\n\u{1}\u{7f}é", "l": ["1", ""]}));
        assert_eq!(JsonObject::default().finish(), None);
        assert_eq!(JsonObject::default().finish_or_empty(), "{}");
    }
}
