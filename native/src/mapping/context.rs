//! The per-file facts the mapping needs (version 1's `FileContext` with its `FileInfo`), built
//! once per file with what can be prepared already prepared: the header and directive objects
//! as JSON text, the header's `startTime` as a checked time.

use crate::decode::Format;
use crate::ecs::to_date;

use super::json::JsonObject;

/// What the mapper knows about the file a line came from. Build it with [`FileContext::new`]
/// and the `with_*` methods; a W3C file's directives change as its `#` lines are read, so
/// [`FileContext::set_directives`] takes them whenever the decoder has seen new ones.
#[derive(Clone, Debug)]
pub struct FileContext {
    name: String,
    path: Option<String>,
    format: Option<Format>,
    api_id: Option<String>,
    seq: Option<i64>,
    compression: Option<String>,
    encrypted: bool,
    gzip_wrapped: bool,
    ingest_ms: i64,
    /// `imperva.waf.file.header`: the header without `key`, as JSON; `None` for no header.
    header: Option<String>,
    /// The header's `startTime`, when it is a plausible epoch-milliseconds time.
    start_time_ms: Option<i64>,
    /// `imperva.waf.file.directives` as JSON; `None` when there are none.
    directives: Option<String>,
}

impl Default for FileContext {
    /// Version 1's `FileContext()`: no name, no format, ingested at epoch 0, compression `none`.
    fn default() -> Self {
        FileContext::new("", None, 0)
    }
}

impl FileContext {
    /// A file named `name` (as delivered, e.g. `1234_56.log`) of event `format` (`None` writes
    /// `""`, as version 1 did for an unset format), ingested at `ingest_ms` (epoch ms: the last
    /// fallback of `@timestamp`). Compression starts as `none`, as version 1's `FileInfo`.
    pub fn new(name: impl Into<String>, format: Option<Format>, ingest_ms: i64) -> FileContext {
        FileContext {
            name: name.into(),
            path: None,
            format,
            api_id: None,
            seq: None,
            compression: Some("none".to_owned()),
            encrypted: false,
            gzip_wrapped: false,
            ingest_ms,
            header: None,
            start_time_ms: None,
            directives: None,
        }
    }

    /// Where the file was read (`log.file.path`); an empty path is none.
    pub fn with_path(mut self, path: impl Into<String>) -> FileContext {
        let path = path.into();
        self.path = (!path.is_empty()).then_some(path);
        self
    }

    /// The container header: (lower-case name, value) pairs in file order. `key` (the encrypted
    /// session key) is left out of the document; a header holding only `key` is still written,
    /// as `{}`. `startTime` becomes the third `@timestamp` fallback when it is ASCII digits
    /// forming a plausible epoch-milliseconds time.
    pub fn with_header(mut self, header: &[(String, String)]) -> FileContext {
        if header.is_empty() {
            self.header = None;
            self.start_time_ms = None;
            return self;
        }
        let mut object = JsonObject::default();
        let mut start_time = None;
        for (name, value) in header {
            if name == "key" {
                continue;
            }
            if name == "starttime" {
                start_time = Some(value.as_str()); // a repeated name: the last one, as a dict
            }
            object.push_str(name, value);
        }
        self.header = Some(object.finish_or_empty());
        self.start_time_ms =
            start_time.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).and_then(|v| to_date(v).ok());
        self
    }

    /// The `<apiId>` of a `<apiId>_<seq>` file name.
    pub fn with_api_id(mut self, api_id: impl Into<String>) -> FileContext {
        self.api_id = Some(api_id.into());
        self
    }

    /// The `<seq>` of a `<apiId>_<seq>` file name.
    pub fn with_seq(mut self, seq: i64) -> FileContext {
        self.seq = Some(seq);
        self
    }

    /// The body's compression (`zlib`, `gzip`, `deflate`, `none`); empty leaves it out.
    pub fn with_compression(mut self, compression: impl Into<String>) -> FileContext {
        let compression = compression.into();
        self.compression = (!compression.is_empty()).then_some(compression);
        self
    }

    pub fn with_encrypted(mut self, encrypted: bool) -> FileContext {
        self.encrypted = encrypted;
        self
    }

    pub fn with_gzip_wrapped(mut self, gzip_wrapped: bool) -> FileContext {
        self.gzip_wrapped = gzip_wrapped;
        self
    }

    /// The file's format, once detected from its content (`imperva.waf.file.format`).
    pub fn set_format(&mut self, format: Format) {
        self.format = Some(format);
    }

    /// The W3C directives seen so far (`Software`, `Version`, `Date`, `Fields`…), in the
    /// decoder's order with unique names; none leaves `imperva.waf.file.directives` out.
    pub fn set_directives(&mut self, directives: &[(String, String)]) {
        self.directives = (!directives.is_empty()).then(|| {
            let mut object = JsonObject::default();
            for (name, value) in directives {
                object.push_str(name, value);
            }
            object.finish_or_empty()
        });
    }

    /// [`FileContext::set_directives`], by value.
    pub fn with_directives(mut self, directives: &[(String, String)]) -> FileContext {
        self.set_directives(directives);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    pub fn format(&self) -> Option<Format> {
        self.format
    }

    pub fn api_id(&self) -> Option<&str> {
        self.api_id.as_deref()
    }

    pub fn seq(&self) -> Option<i64> {
        self.seq
    }

    pub fn compression(&self) -> Option<&str> {
        self.compression.as_deref()
    }

    pub fn encrypted(&self) -> bool {
        self.encrypted
    }

    pub fn gzip_wrapped(&self) -> bool {
        self.gzip_wrapped
    }

    pub fn ingest_ms(&self) -> i64 {
        self.ingest_ms
    }

    /// The header without `key`, as JSON text (`None` for a file without a header).
    pub fn header_json(&self) -> Option<&str> {
        self.header.as_deref()
    }

    /// The directives as JSON text, if any.
    pub fn directives_json(&self) -> Option<&str> {
        self.directives.as_deref()
    }

    /// The header's `startTime` in epoch milliseconds, when plausible.
    pub fn start_time_ms(&self) -> Option<i64> {
        self.start_time_ms
    }
}
