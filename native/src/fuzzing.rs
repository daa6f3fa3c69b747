//! Entry points shared by the `cargo fuzz` targets (`native/fuzz/`) and the seed replay test
//! (`native/tests/fuzz_seeds.rs`), so `make test` runs every committed seed through exactly the
//! code the fuzzer ran, without a fuzz build. Each takes arbitrary bytes, must never panic, hang or
//! exhaust memory, and checks what must hold whatever the input.

use crate::body::{BodyCheck, BodyStream, Limits};
use crate::decode::cef::decode_cef;
use crate::decode::detect::{detect_format, FileDecoder};
use crate::decode::leef::decode_leef;
use crate::decode::Format;

/// Limits small enough that a fuzz input can reach every one of them.
fn small_limits() -> Limits {
    Limits { max_output_bytes: 1 << 20, max_ratio: 200, max_line_bytes: 4096 }
}

/// The text a decoder sees: the reader replaces invalid UTF-8 before decoding.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// One CEF line.
pub fn cef(data: &[u8]) {
    let line = text(data);
    if let Ok(rec) = decode_cef(&line) {
        assert_eq!(rec.format, Some(Format::Cef));
        let mut keys: Vec<&str> = rec.ext.iter().map(|(k, _)| k.as_ref()).collect();
        keys.sort_unstable();
        assert!(keys.windows(2).all(|w| w[0] != w[1]), "a key appears once in ext");
    }
}

/// One LEEF line.
pub fn leef(data: &[u8]) {
    let line = text(data);
    if let Ok(rec) = decode_leef(&line) {
        assert_eq!(rec.format, Some(Format::Leef));
    }
}

/// A W3C file's lines (split on `\n`), through one stateful decoder.
pub fn w3c(data: &[u8]) {
    let body = text(data);
    let mut decoder = FileDecoder::W3c(crate::decode::w3c::W3cDecoder::new(&[]));
    for line in body.split('\n') {
        let _ = decoder.decode(line);
    }
}

/// A body: decompression (bounded), MD5, line split; then every line through the decoder the
/// content suggests.
pub fn body(data: &[u8]) {
    let limits = small_limits();
    let mut stream = BodyStream::new(limits);
    let mut decoder: Option<FileDecoder> = None;
    let mut lines = 0u64;
    let feed = |stream: &mut BodyStream, decoder: &mut Option<FileDecoder>, lines: &mut u64| {
        while let Some(line) = stream.next_line() {
            assert!(line.raw.len() <= limits.max_line_bytes, "a kept line is at most max_line_bytes");
            assert_eq!(line.ordinal, *lines, "ordinals count lines from 0");
            *lines += 1;
            let text = String::from_utf8_lossy(line.raw);
            let d = decoder.get_or_insert_with(|| {
                let format = detect_format(&[], Some(&text)).unwrap_or(Format::Cef);
                crate::decode::detect::make_decoder(format, &[])
            });
            let _ = d.decode(&text);
        }
    };
    for chunk in data.chunks(997) {
        stream.push(chunk);
        feed(&mut stream, &mut decoder, &mut lines);
    }
    stream.finish();
    feed(&mut stream, &mut decoder, &mut lines);
    let end = stream.end().expect("a finished body has an end");
    assert!(end.decoded_bytes <= limits.max_output_bytes.max(data.len() as u64));
    assert_eq!(end.lines, lines);
    // The first pass (no line split) comes to the same body: same MD5, size and verdict.
    let mut check = BodyCheck::new(limits);
    for chunk in data.chunks(997) {
        check.push(chunk);
    }
    let (verdict, checked) = check.finish(Some(&end.md5));
    assert_eq!((checked.md5.as_str(), checked.decoded_bytes), (end.md5.as_str(), end.decoded_bytes));
    assert_eq!((verdict.partial, checked.error.is_some()), (end.is_partial(), end.error.is_some()));
}

/// User agents without Python: every one parses as `Other` (the fuzz targets test the core only).
struct OtherAgents(crate::mapping::UserAgent);

impl OtherAgents {
    fn new() -> OtherAgents {
        OtherAgents(crate::mapping::UserAgent::other())
    }
}

impl crate::mapping::UserAgents for OtherAgents {
    fn parse(&mut self, _ua: &str) -> &crate::mapping::UserAgent {
        &self.0
    }
}

/// A whole headerless file body through [`crate::batch::FileRun`], as the reader runs it: format
/// detected from the content, small Batches, documents rendered. Every document is JSON, the rows
/// and documents agree, the Batches cover contiguous ordinals and every problem lies inside its
/// Batch's range; read again for `wafpipe parse`, each Batch's NDJSON text is its documents with
/// their ids spliced in, line by line.
pub fn file(data: &[u8]) {
    use arrow_array::cast::AsArray;

    use crate::batch::{Documents, FileRun, RunOptions};
    use crate::document::json::ndjson_line;
    use crate::mapping::FileContext;

    let read = |documents: Documents| {
        let opts = RunOptions { format: None, header: vec![], identity: None, start_ordinal: 0, batch_rows: 7, documents,
                                limits: small_limits() };
        let mut run = FileRun::new(FileContext::new("1_1.log", 1_700_000_000_000), opts);
        run.read_all(data, 997, &mut OtherAgents::new()).expect("Arrow accepts every row")
    };
    let batches = read(Documents::Each);
    let lines = read(Documents::Ndjson);
    assert_eq!(lines.len(), batches.len(), "the same Batches whatever the documents");
    for (batch, text) in batches.iter().zip(&lines) {
        let ids = batch.rows.column(0).as_string::<i32>(); // the ids come first
        let mut expected = Vec::new();
        for (id, doc) in ids.iter().zip(batch.documents.as_deref().unwrap_or_default()) {
            ndjson_line(id.expect("every row has an id"), doc, &mut expected).expect("a Vec takes every write");
        }
        assert_eq!(text.ndjson.as_deref(), Some(expected.as_slice()), "NDJSON = the documents with their ids");
        assert!(text.documents.is_none());
        assert_eq!(text.rows.num_rows(), 0, "no columns are built for the NDJSON lines");
    }
    let mut next = 0;
    for batch in &batches {
        assert_eq!(batch.first_ordinal, next, "batches are contiguous");
        assert!(batch.next_ordinal >= batch.first_ordinal);
        next = batch.next_ordinal;
        let documents = batch.documents.as_ref().expect("documents were asked for");
        assert_eq!(documents.len(), batch.rows.num_rows());
        for doc in documents {
            serde_json::from_slice::<serde_json::Value>(doc).expect("every document is JSON");
        }
        for p in &batch.problems {
            assert!(batch.first_ordinal <= p.ordinal && p.ordinal < batch.next_ordinal, "a problem lies in its batch");
        }
    }
}
