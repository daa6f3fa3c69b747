//! The per-file facts the mapping needs, built once per file with what can be prepared already
//! prepared: the identity as hex, the header's `startTime` as a checked time.

use crate::ecs::to_date;

use super::json::JsonObject;
use crate::body::{hex, FileVerdict};

/// What the mapper knows about the file a line came from. Build it with [`FileContext::new`]
/// and the `with_*` methods. Only what an event carries or needs is here (DESIGN §1: the per-event
/// file fields — name, path, identity — and the header's `startTime` for the timestamp); the
/// other facts of a file (its header, compression, directives…) are kept once per file by the
/// caller, not on every event.
#[derive(Clone, Debug)]
pub struct FileContext {
    name: String,
    path: Option<String>,
    ingest_ms: i64,
    /// The file identity as lower-case hex (`imperva.waf.file.identity`), once known.
    identity: Option<String>,
    /// The header's `startTime`, when it is a plausible epoch-milliseconds time.
    start_time_ms: Option<i64>,
    /// The header without `key`, as JSON (the replay context of a problem); `None` for no header.
    header: Option<String>,
    /// The first pass's verdict on the whole file, when there was one.
    verdict: Option<FileVerdict>,
}

impl Default for FileContext {
    /// Version 1's `FileContext()`: no name, ingested at epoch 0.
    fn default() -> Self {
        FileContext::new("", 0)
    }
}

impl FileContext {
    /// A file named `name` (as delivered, e.g. `1234_56.log`), ingested at `ingest_ms` (epoch ms:
    /// the last fallback of `@timestamp`).
    pub fn new(name: impl Into<String>, ingest_ms: i64) -> FileContext {
        FileContext { name: name.into(), path: None, ingest_ms, identity: None, start_time_ms: None, header: None, verdict: None }
    }

    /// Where the file was read (`log.file.path`); an empty path is none.
    pub fn with_path(mut self, path: impl Into<String>) -> FileContext {
        let path = path.into();
        self.path = (!path.is_empty()).then_some(path);
        self
    }

    /// The container header: (lower-case name, value) pairs in file order. `startTime` becomes
    /// the third `@timestamp` fallback when it is ASCII digits forming a plausible
    /// epoch-milliseconds time. `key` (the encrypted session key) is never kept.
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

    /// The file identity (DESIGN §2), from the header or, for a headerless file, its first event line.
    pub fn set_identity(&mut self, identity: &[u8; 16]) {
        self.identity = Some(hex(identity));
    }

    /// [`FileContext::set_identity`], by value.
    pub fn with_identity(mut self, identity: &[u8; 16]) -> FileContext {
        self.set_identity(identity);
        self
    }

    /// The verdict on the whole file (its checksum, whether it broke off), known before its first
    /// event from a first pass over the body: every event carries it.
    pub fn with_verdict(mut self, verdict: FileVerdict) -> FileContext {
        self.verdict = Some(verdict);
        self
    }

    pub fn verdict(&self) -> Option<&FileVerdict> {
        self.verdict.as_ref()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    pub fn ingest_ms(&self) -> i64 {
        self.ingest_ms
    }

    /// The identity as lower-case hex, once known.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The header without `key`, as JSON text (`None` for a file without a header).
    pub fn header_json(&self) -> Option<&str> {
        self.header.as_deref()
    }

    /// The header's `startTime` in epoch milliseconds, when plausible.
    pub fn start_time_ms(&self) -> Option<i64> {
        self.start_time_ms
    }
}
