//! Chunk boundaries: lines across every chunk size and split point, compressed or not.

use _native::body::{Compression, Cut, Inflater, Limits, LineSplitter};

use crate::support::{compress, got, gzip, md5_hex, read_chunked, reference, zlib};

/// A small body with every shape: CRLF, lone CR, blank and whitespace lines, a CR at a line end
/// and at the end of the body, long lines (limit 12), an unterminated last line.
const TRICKY: &[u8] = b"\n\nCEF:one\r\nCEF:t\rwo\n  \n\t \r\n0123456789ab\n0123456789abc\n\
0123456789ab\r\n\r\r\nCEF:a-long-line-indeed\r\n\n\nx\n           y               \ntail\r";

#[test]
fn lines_across_every_chunk_size() {
    let want = reference(TRICKY, 12);
    assert_eq!(want.len(), 10);
    for size in 1..=TRICKY.len() {
        let mut splitter = LineSplitter::new(12);
        let mut lines = Vec::new();
        for piece in TRICKY.chunks(size) {
            splitter.for_each_line(piece, |l| lines.push(got(&l)));
        }
        if let Some(l) = splitter.finish(false) {
            lines.push(got(&l));
        }
        assert_eq!(lines, want, "chunk size {size}");
    }
}

#[test]
fn lines_across_every_split_point() {
    let want = reference(TRICKY, 12);
    for cut in 0..=TRICKY.len() {
        let mut splitter = LineSplitter::new(12);
        let mut lines = Vec::new();
        for piece in [&TRICKY[..cut], &TRICKY[cut..]] {
            splitter.for_each_line(piece, |l| lines.push(got(&l)));
        }
        lines.extend(splitter.finish(false).map(|l| got(&l)));
        assert_eq!(lines, want, "split at {cut}");
    }
}

#[test]
fn compressed_input_in_every_chunk_size() {
    let limits = Limits { max_line_bytes: 12, ..Limits::default() };
    let want = reference(TRICKY, 12);
    for kind in [Compression::Zlib, Compression::Gzip, Compression::Deflate, Compression::None] {
        let body = compress(TRICKY, kind);
        for size in 1..=body.len() {
            let (lines, end) = read_chunked(&body, limits, size);
            assert_eq!(lines, want, "{kind:?} chunk {size}");
            assert_eq!(end.md5, md5_hex(TRICKY));
            assert_eq!(end.compression, kind);
        }
    }
}

#[test]
fn inflater_with_tiny_buffers() {
    let body = [zlib(&TRICKY[..40]), gzip(&TRICKY[40..])].concat();
    let want = reference(TRICKY, 12);
    for out_size in [1, 2, 5, 13] {
        for in_size in [1, 4, 33] {
            let mut inf = Inflater::new(Compression::Zlib, Limits::default());
            let mut splitter = LineSplitter::new(12);
            let mut out = vec![0; out_size];
            let mut lines = Vec::new();
            for piece in body.chunks(in_size) {
                inf.push(piece);
                loop {
                    let n = inf.inflate(&mut out).unwrap();
                    if n == 0 {
                        break;
                    }
                    assert!(n <= out_size);
                    splitter.for_each_line(&out[..n], |l| lines.push(got(&l)));
                }
            }
            inf.finish().unwrap();
            lines.extend(splitter.finish(false).map(|l| got(&l)));
            assert_eq!(lines, want, "out {out_size} in {in_size}");
            assert_eq!((inf.streams(), inf.decoded_bytes()), (2, TRICKY.len() as u64));
            assert_eq!(inf.consumed_bytes(), body.len() as u64);
        }
    }
}

#[test]
fn broken_last_line_is_handed_on_as_it_came() {
    let mut splitter = LineSplitter::new(4);
    splitter.for_each_line(b"CEF:a\n \r", |_| {});
    let l = splitter.finish(true).expect("the partial line");
    assert_eq!((l.raw, l.cut.clone(), l.line_no, l.offset), (&b" \r"[..], Cut::Broken, 2, 6));
    assert!(splitter.finish(true).is_none());
    // A long partial line: its head, no hash.
    let mut splitter = LineSplitter::new(4);
    splitter.for_each_line(b"abcdefgh", |_| {});
    let l = splitter.finish(true).unwrap();
    assert_eq!((l.raw, l.full_length(), l.full_hash()), (&b"abcd"[..], -1, ""));
    // Nothing pending: nothing to flag.
    let mut splitter = LineSplitter::new(4);
    splitter.for_each_line(b"ab\n", |_| {});
    assert!(splitter.finish(true).is_none());
}
