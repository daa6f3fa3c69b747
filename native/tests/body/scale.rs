//! Scale: a large body streams through in pieces.

use _native::body::{BodyStream, Limits};

use crate::support::{sample_lines, zlib};

#[test]
fn large_body_streams_through() {
    // v1's flat-memory test: 80,000 lines (~40 MB decoded) through 256 KiB pieces (as 100
    // concatenated streams: compressing 40 MB in an unoptimised test build takes seconds).
    let line = format!("{}\n", sample_lines(1)[0]);
    let z = zlib(line.repeat(800).as_bytes()).repeat(100);
    let mut s = BodyStream::new(Limits::default());
    let mut count = 0u64;
    for piece in z.chunks(256 * 1024) {
        s.push(piece);
        while let Some(l) = s.next_line() {
            assert_eq!(l.ordinal, count);
            count += 1;
        }
    }
    s.finish();
    while s.next_line().is_some() {
        count += 1;
    }
    assert_eq!(count, 80_000);
    assert_eq!(s.end().unwrap().decoded_bytes, (line.len() * 80_000) as u64);
}
