//! What dead-letter replay needs to decode a problem line again exactly as the read that met it
//! would have (version 1's `LineRun.context`): file identity, name, path, format, header, W3C
//! columns and directives, ingest time, and a long line's full length and hash.

use crate::body::{hex, Cut, Line};
use crate::decode::detect::FileDecoder;
use crate::decode::Format;
use crate::mapping::FileContext;

/// What replay needs to decode `line` as this read would have (version 1's `LineRun.context`).
pub(crate) fn replay_context(
    ctx: &FileContext,
    identity: Option<[u8; 16]>,
    decoder: Option<&FileDecoder>,
    line: &Line<'_>,
) -> String {
    use serde_json::{json, Map, Value};
    let parse = |text: Option<&str>| text.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let mut out = Map::new();
    out.insert("identity".into(), json!(identity.map(|id| hex(&id))));
    out.insert("name".into(), json!(ctx.name()));
    out.insert("path".into(), json!(ctx.path()));
    out.insert("format".into(), json!(decoder.map(FileDecoder::format).map(Format::as_str)));
    out.insert("header".into(), parse(ctx.header_json()).unwrap_or_else(|| json!({})));
    // The file broke off (the first pass said so), or this line is the one the fault cut.
    let partial = ctx.verdict().is_some_and(|v| v.partial) || matches!(line.cut, Cut::Broken);
    out.insert("partial".into(), json!(partial));
    if let Some(verdict) = ctx.verdict() {
        out.insert("checksum_status".into(), json!(verdict.checksum.as_str()));
    }
    out.insert("ingest_ms".into(), json!(ctx.ingest_ms()));
    if let Some(FileDecoder::W3c(w3c)) = decoder {
        out.insert("w3c_fields".into(), json!(w3c.columns()));
        let directives: Map<String, Value> =
            w3c.directives().iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        out.insert("directives".into(), Value::Object(directives));
    }
    if let Cut::Long { full_length, full_hash } = &line.cut {
        out.insert("full_length".into(), json!(full_length));
        out.insert("full_hash".into(), json!(full_hash));
    }
    Value::Object(out).to_string()
}

