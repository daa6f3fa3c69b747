//! Dead-letter replay (DESIGN §7): one problem line decoded again, once its cause is fixed, exactly
//! as the read that met it would have decoded it — the same decoder state (W3C columns and
//! directives), the same file fields, the same id. The file is known only by the problem's replay
//! context (the JSON [`super::context`] writes), not read again.

use serde_json::{Map, Value};

use crate::batch::{Batch, Documents, FileRun, RunOptions};
use crate::body::{ChecksumStatus, Cut, FileVerdict, Limits, Line};
use crate::decode::Format;
use crate::mapping::{FileContext, UserAgents};

/// One recorded line: where it was and its bytes (the head of a long line, whose full length and
/// hash come from the context).
#[derive(Clone, Copy, Debug)]
pub struct RecordedLine<'a> {
    pub ordinal: u64,
    pub line_no: u64,
    pub offset: u64,
    pub raw: &'a [u8],
}

/// A run over the file a replay context describes, ready for [`FileRun::replay`].
///
/// A context without an identity comes from a headerless file whose first event line had not been
/// read when the problem was met: the line replayed is then that first event line, and its own
/// digest is the identity, as a read of the file would give it now.
pub fn replaying(context: &str, documents: Documents) -> Result<(FileRun, ReplayCut), String> {
    let value: Value = serde_json::from_str(context).map_err(|e| format!("the replay context is not JSON: {e}"))?;
    let ctx = value.as_object().ok_or("the replay context is not a JSON object")?;
    let text = |key: &str| ctx.get(key).and_then(Value::as_str);
    let format = match text("format") {
        Some(name) => Some(Format::parse(name).ok_or_else(|| format!("the replay context names format {name:?}"))?),
        None => None,
    };
    let format = format.ok_or("the replay context names no format")?;
    let header = pairs(ctx.get("header"));
    let identity = match text("identity") {
        Some(hex) => Some(unhex(hex).ok_or_else(|| format!("the replay context's identity {hex:?} is not 16 bytes of hex"))?),
        None => None,
    };
    let ingest_ms = ctx.get("ingest_ms").and_then(Value::as_i64).unwrap_or(0);
    let mut file = FileContext::new(text("name").unwrap_or(""), ingest_ms).with_header(&header);
    if let Some(checksum) = text("checksum_status").and_then(ChecksumStatus::parse) {
        let partial = ctx.get("partial").and_then(Value::as_bool).unwrap_or(false);
        file = file.with_verdict(FileVerdict { checksum, partial });
    }
    if let Some(path) = text("path") {
        file = file.with_path(path);
    }
    let opts = RunOptions {
        format: Some(format),
        header,
        identity,
        start_ordinal: 0,
        batch_rows: usize::MAX, // one line, one batch: cut by `replay`
        documents,
        limits: Limits::default(),
    };
    let mut run = FileRun::new(file, opts);
    if let Some(w3c) = run.decoder_mut().and_then(|d| d.w3c_mut()) {
        if let Some(columns) = ctx.get("w3c_fields").and_then(Value::as_array) {
            if !columns.is_empty() {
                w3c.set_fields(columns.iter().filter_map(Value::as_str).map(str::to_owned).collect());
            }
        }
        for (name, value) in pairs(ctx.get("directives")) {
            w3c.set_directive(&name, &value);
        }
    }
    let cut = match (ctx.get("full_length").and_then(Value::as_u64), text("full_hash")) {
        (Some(full_length), Some(hash)) if full_length > 0 => {
            ReplayCut::Long { full_length, full_hash: hash.to_owned() }
        }
        _ => ReplayCut::Whole,
    };
    Ok((run, cut))
}

/// Whether the recorded line was whole or the head of a long line (from the context).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayCut {
    Whole,
    Long { full_length: u64, full_hash: String },
}

impl FileRun {
    /// Decode `line` as the read that met it would have: the batch it gives (one event, or the
    /// problem it still has).
    pub fn replay(&mut self, line: RecordedLine<'_>, cut: &ReplayCut, ua: &mut dyn UserAgents) -> Result<Batch, String> {
        let cut = match cut {
            ReplayCut::Whole => Cut::Whole,
            ReplayCut::Long { full_length, full_hash } => Cut::Long { full_length: *full_length, full_hash: full_hash.clone() },
        };
        let line = Line { ordinal: line.ordinal, line_no: line.line_no, offset: line.offset, raw: line.raw, cut };
        self.replay_line(&line, ua).map_err(|e| e.to_string())
    }
}

/// A JSON object of strings as (name, value) pairs; anything else as none.
fn pairs(value: Option<&Value>) -> Vec<(String, String)> {
    let empty = Map::new();
    let object = value.and_then(Value::as_object).unwrap_or(&empty);
    object.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect()
}

fn unhex(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{UserAgent, UserAgents};

    struct NoAgents(UserAgent);

    impl UserAgents for NoAgents {
        fn parse(&mut self, _ua: &str) -> &UserAgent {
            &self.0
        }
    }

    fn no_agents() -> NoAgents {
        NoAgents(UserAgent::other())
    }

    const CEF: &str = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=3412341160002518171 sourceServiceName=site.example suid=50005477 requestClientApplication=Mozilla/5.0 cs2=true cs2Label=Javascript Support deviceExternalId=2323800832649 start=1453290121336 request=site.example/ requestMethod=GET src=10.0.0.1 cpt=443";

    fn read_whole(body: &[u8], identity: [u8; 16]) -> (Vec<Batch>, FileRun) {
        let ctx = FileContext::new("1_2.log", 1_700_000_000_000).with_path("/in/1_2.log");
        let opts = RunOptions {
            format: Some(Format::Cef),
            header: vec![],
            identity: Some(identity),
            start_ordinal: 0,
            batch_rows: 100,
            documents: Documents::Each,
            limits: Limits::default(),
        };
        let mut run = FileRun::new(ctx, opts);
        let out = run.read_all(body, 4096, &mut no_agents()).unwrap();
        (out, run)
    }

    #[test]
    fn a_replayed_line_gets_the_id_and_document_of_the_read_that_met_it() {
        let identity = [7u8; 16];
        let body = format!("{CEF}\nCEF:0|Incapsula|broken\n{CEF} cs1=x\n");
        let (batches, _) = read_whole(body.as_bytes(), identity);
        let problems: Vec<_> = batches.iter().flat_map(|b| b.problems.iter()).collect();
        assert_eq!(problems.len(), 1);
        let p = problems[0];
        // The recorded context, with the line now decodable: decode the third line's bytes in its
        // place, as a fixed decoder would decode the second.
        let (mut run, cut) = replaying(&p.context, Documents::Each).unwrap();
        assert_eq!(cut, ReplayCut::Whole);
        let third = format!("{CEF} cs1=x");
        let line = RecordedLine { ordinal: 2, line_no: 3, offset: (CEF.len() + 1 + 23) as u64, raw: third.as_bytes() };
        let replayed = run.replay(line, &cut, &mut no_agents()).unwrap();
        assert!(replayed.problems.is_empty(), "{:?}", replayed.problems);
        let docs = replayed.documents.unwrap();
        let whole_docs: Vec<Vec<u8>> = batches.into_iter().flat_map(|b| b.documents.unwrap()).collect();
        assert_eq!(docs, vec![whole_docs[1].clone()]);
        assert_eq!(replayed.rows.num_rows(), 1);
        assert_eq!(replayed.first_ordinal, 2);
    }

    #[test]
    fn a_line_that_still_fails_comes_back_as_its_problem() {
        let (batches, _) = read_whole(format!("{CEF}\nCEF:0|Incapsula|broken\n").as_bytes(), [1u8; 16]);
        let p = batches.iter().flat_map(|b| b.problems.iter()).next().unwrap().clone();
        let (mut run, cut) = replaying(&p.context, Documents::Each).unwrap();
        let line = RecordedLine { ordinal: p.ordinal, line_no: p.line, offset: p.offset, raw: &p.raw };
        let again = run.replay(line, &cut, &mut no_agents()).unwrap();
        assert_eq!(again.rows.num_rows(), 0);
        assert_eq!(again.problems.len(), 1);
        assert_eq!(again.problems[0].reason, p.reason);
        assert_eq!(again.problems[0].context, p.context);
    }

    #[test]
    fn a_bad_context_is_an_error_not_a_panic() {
        assert!(replaying("[]", Documents::Each).is_err());
        assert!(replaying("{\"format\": \"xml\"}", Documents::Each).is_err());
        assert!(replaying("{\"format\": \"cef\", \"identity\": \"zz\"}", Documents::Each).is_err());
        assert!(replaying("not json", Documents::Each).is_err());
    }
}
