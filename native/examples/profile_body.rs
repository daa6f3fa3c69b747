//! A profiling driver (not a test): one Imperva file body through the two passes the reader makes
//! — [`BodyCheck`] (inflate + MD5), then [`FileRun`] writing NDJSON as `wafpipe parse` does —
//! without Python, so that `valgrind --tool=callgrind` counts only the core's instructions.
//!
//! `cargo run --release --example profile_body -- BODY [HEADER_JSON] [IDENTITY_HEX] [REPEAT]`, where
//! BODY is the compressed body (the container header stripped) and HEADER_JSON the header as a JSON
//! object (`bench/decode.py` explains how the files are made).

use std::collections::HashMap;

use _native::batch::{Documents, FileRun, RunOptions};
use _native::body::{BodyCheck, Limits, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_RATIO};
use _native::decode::detect::detect_format;
use _native::mapping::{FileContext, UserAgent, UserAgents};

/// User agents cached per distinct value, as the Python boundary does; every one parses as `Other`.
struct Agents(HashMap<String, UserAgent>);

impl UserAgents for Agents {
    fn parse(&mut self, ua: &str) -> &UserAgent {
        self.0.entry(ua.to_owned()).or_insert_with(UserAgent::other)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let body = std::fs::read(&args[1]).expect("the body");
    let header: Vec<(String, String)> = match args.get(2) {
        Some(path) => {
            let v: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&std::fs::read(path).expect("the header")).expect("a JSON object");
            v.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned())).collect()
        }
        None => Vec::new(),
    };
    let identity: Option<[u8; 16]> = args.get(3).filter(|s| !s.is_empty()).map(|hex| {
        let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
        bytes.try_into().expect("16 bytes")
    });
    let repeat: usize = args.get(4).map_or(1, |n| n.parse().expect("a count"));
    let limits = Limits { max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES, max_ratio: DEFAULT_MAX_RATIO, max_line_bytes: DEFAULT_MAX_LINE_BYTES };
    let checksum = header.iter().rev().find(|(k, _)| k == "checksum").map(|(_, v)| v.clone());
    let (mut events, mut docs) = (0usize, 0usize);
    for _ in 0..repeat {
        let mut check = BodyCheck::new(limits);
        for chunk in body.chunks(1 << 16) {
            check.push(chunk);
        }
        let (verdict, _) = check.finish(checksum.as_deref());
        let ctx = FileContext::new("845148_513651.log", 1_700_000_000_000).with_header(&header).with_verdict(verdict);
        let opts = RunOptions {
            format: detect_format(&header, None),
            header: header.clone(),
            identity,
            start_ordinal: 0,
            batch_rows: 8192,
            documents: Documents::Ndjson,
            limits,
        };
        let mut run = FileRun::new(ctx, opts);
        let mut agents = Agents(HashMap::new());
        for batch in run.read_all(&body, 1 << 16, &mut agents).expect("Arrow accepts every row") {
            events += batch.rows.num_rows();
            docs += batch.ndjson.map_or(0, |text| text.len());
        }
    }
    println!("{events} events, {docs} NDJSON bytes");
}
