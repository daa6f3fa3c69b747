//! v1's test_container, the body parts: compressions, concatenated streams, checksums, truncated and
//! corrupt bodies, trailing bytes, line splitting and long lines.

use std::io::Write;

use _native::body::{
    BodyErrorKind, ChecksumStatus, Compression, Inflater, Limits, LineSplitter, CORRUPT_HINT, TRUNCATED_HINT,
};

use crate::support::{
    body_text, compress, deflate, expected, gzip, md5_hex, raws, read, read_chunked, reference, sample_lines,
    sha256_hex, zlib,
};

#[test]
fn round_trip_every_compression() {
    let lines = sample_lines(6);
    let plain = body_text(&lines);
    for kind in [Compression::Zlib, Compression::Gzip, Compression::Deflate, Compression::None] {
        let (got, end) = read(&compress(&plain, kind));
        assert_eq!(raws(&got), expected(&lines), "{kind:?}");
        assert_eq!(end.compression, kind);
        assert_eq!(end.streams, u32::from(kind != Compression::None));
        assert_eq!(end.checksum_status(Some(&md5_hex(&plain))), ChecksumStatus::Ok);
        assert_eq!(end.error, None);
        assert!(end.warnings.is_empty());
        assert_eq!(end.lines, 6);
        assert_eq!(end.decoded_bytes, plain.len() as u64);
    }
}

#[test]
fn empty_body_is_plain_and_has_no_lines() {
    let (got, end) = read(b"");
    assert!(got.is_empty());
    assert_eq!(end.compression, Compression::None);
    assert_eq!(end.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(end.checksum_status(None), ChecksumStatus::Absent);
}

#[test]
fn concatenated_streams() {
    let lines = sample_lines(6);
    let a = body_text(&lines[..3]);
    let b = body_text(&lines[3..]);
    let whole = [a.clone(), b.clone()].concat();
    for (first, second, kind) in [
        (zlib(&a), zlib(&b), Compression::Zlib),
        (zlib(&a), gzip(&b), Compression::Zlib),
        (gzip(&a), zlib(&b), Compression::Gzip),
        (gzip(&a), gzip(&b), Compression::Gzip),
        (deflate(&a), gzip(&b), Compression::Deflate),
    ] {
        let body = [first, second].concat();
        for chunk in [1, 7, 64, 1 << 20] {
            let (got, end) = read_chunked(&body, Limits::default(), chunk);
            assert_eq!(raws(&got), expected(&lines), "{kind:?} chunk {chunk}");
            assert_eq!((end.compression, end.streams), (kind, 2));
            assert_eq!(end.md5, md5_hex(&whole));
            assert_eq!(end.checksum_status(Some(&md5_hex(&whole))), ChecksumStatus::Ok);
            assert!(end.warnings.is_empty() && end.error.is_none());
        }
    }
}

#[test]
fn three_streams_and_one_line_across_them() {
    let body = [zlib(b"CEF:first\nCEF:sec"), gzip(b"ond\n\nCEF:th"), zlib(b"ird")].concat();
    let (got, end) = read_chunked(&body, Limits::default(), 5);
    assert_eq!(raws(&got), vec![b"CEF:first".to_vec(), b"CEF:second".to_vec(), b"CEF:third".to_vec()]);
    assert_eq!(got[2].line_no, 4);
    assert_eq!(end.streams, 3);
}

#[test]
fn checksum_mismatch_absent_and_case() {
    let lines = sample_lines(6);
    let plain = body_text(&lines);
    let (_, end) = read(&zlib(&plain));
    assert_eq!(end.checksum_status(Some(&"0".repeat(32))), ChecksumStatus::Mismatch);
    assert_eq!(end.checksum_status(None), ChecksumStatus::Absent);
    assert_eq!(end.checksum_status(Some("  ")), ChecksumStatus::Absent);
    assert_eq!(end.checksum_status(Some(&md5_hex(b"x").to_uppercase())), ChecksumStatus::Mismatch);
    assert_eq!(end.checksum_status(Some(&md5_hex(&plain).to_uppercase())), ChecksumStatus::Ok);
    assert_eq!(end.checksum_status(Some(&format!(" {} ", md5_hex(&plain)))), ChecksumStatus::Ok);
    assert_eq!(ChecksumStatus::Ok.as_str(), "ok");
}

#[test]
fn md5_covers_every_decoded_byte() {
    let plain = b"\r\n  \n\nCEF:a\r\nCEF:b\x0b\n\n\n \t\nCEF:c".to_vec();
    for kind in [Compression::Zlib, Compression::Gzip, Compression::Deflate, Compression::None] {
        for chunk in [1, 3, 1000] {
            let (_, end) = read_chunked(&compress(&plain, kind), Limits::default(), chunk);
            assert_eq!(end.md5, md5_hex(&plain), "{kind:?} {chunk}");
            assert_eq!(end.decoded_bytes, plain.len() as u64);
        }
    }
}

#[test]
fn truncated_zlib_keeps_complete_lines_and_flags_the_cut_one() {
    let plain = body_text(&sample_lines(2000));
    let z = zlib(&plain);
    let (got, end) = read(&z[..z.len() / 2]);
    let err = end.error.clone().expect("an error");
    assert_eq!(err.kind(), BodyErrorKind::Truncated);
    assert!(err.message().starts_with("body (zlib) is truncated after "), "{err}");
    assert_eq!(err.hint(), TRUNCATED_HINT);
    assert_eq!(err.to_string(), format!("{} (hint: {TRUNCATED_HINT})", err.message()));
    assert_eq!(err.decoded_bytes(), end.decoded_bytes);
    let last = got.last().unwrap();
    assert_eq!(last.full_length, -1); // the cut line is flagged, never passed off as whole
    assert!(got[..got.len() - 1].iter().all(|l| l.full_length == 0));
    assert!(got.len() > 100);
    assert!(plain[last.offset as usize..].starts_with(&last.raw));
    assert_eq!(end.checksum_status(Some(&md5_hex(&plain))), ChecksumStatus::Incomplete);
    assert!(end.is_partial());
}

#[test]
fn truncated_names_each_kind() {
    let plain = body_text(&sample_lines(50));
    for kind in [Compression::Zlib, Compression::Gzip, Compression::Deflate] {
        let c = compress(&plain, kind);
        // Cut inside the trailer (gzip/zlib) or just before the end (deflate): all data came.
        let (_, end) = read(&c[..c.len() - 2]);
        let err = end.error.expect("an error");
        assert_eq!(err.kind(), BodyErrorKind::Truncated, "{kind:?}");
        assert!(err.message().contains(&format!("({}) is truncated", kind.as_str())), "{err}");
    }
}

#[test]
fn a_flipped_byte_is_invalid_compressed_data_not_a_bad_state() {
    // One byte flipped two thirds into a zlib body (a bad disk or transfer): zlib-rs loses the
    // reason in its fast loop; the message says what is wrong, not "repeated call with bad state".
    // (120 short CEF lines compressed by Python's zlib, one byte flipped; zlib's reason there is
    // "invalid distance too far back", after 6163 decoded bytes.)
    let z = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/flipped-byte.zlib")).unwrap();
    let (_, end) = read(&z);
    let err = end.error.expect("an error");
    assert_eq!(err.kind(), BodyErrorKind::Corrupt, "{err}");
    assert!(!err.message().contains("bad state"), "{err}");
    assert_eq!(err.message(), "body (zlib) is corrupt after 6163 decoded bytes: invalid compressed data");
}

#[test]
fn corrupt_is_not_called_truncated() {
    // A valid zlib header, then a block of the reserved type 3.
    let (_, end) = read(b"\x78\x9c\x07\x00\x00\x00");
    let err = end.error.expect("an error");
    assert_eq!(err.kind(), BodyErrorKind::Corrupt);
    assert_eq!(err.decoded_bytes(), 0);
    assert!(err.message().starts_with("body (zlib) is corrupt after 0 decoded bytes: "), "{err}");
    assert!(err.message().contains("invalid block type"), "{err}");
    assert_eq!(err.hint(), CORRUPT_HINT);

    // Half a body, flushed to a byte boundary, then a block of the reserved type: the lines
    // before the damage are kept and the line it cut is flagged.
    let plain = body_text(&sample_lines(2000));
    let half = &plain[..plain.len() / 2 + 100];
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(half).unwrap();
    e.flush().unwrap();
    let mut z = e.get_ref().clone();
    z.extend([0x07, 0, 0, 0, 0, 0, 0, 0]);
    z.extend(zlib(b"CEF:never seen\n"));
    for chunk in [1, 4096, 1 << 20] {
        let (got, end) = read_chunked(&z, Limits::default(), chunk);
        let err = end.error.clone().expect("an error");
        assert_eq!(err.kind(), BodyErrorKind::Corrupt, "{err}");
        let what = format!("body (zlib) is corrupt after {} decoded bytes: invalid block type", half.len());
        assert_eq!(err.message(), what);
        assert_eq!(end.decoded_bytes, half.len() as u64);
        let last = got.last().unwrap();
        assert_eq!(last.full_length, -1);
        assert_eq!(plain[last.offset as usize..half.len()], last.raw[..]);
        assert!(got[..got.len() - 1].iter().all(|l| l.full_length == 0));
        assert_eq!(raws(&got[..got.len() - 1]), raws(&reference(&plain, 1 << 20)[..got.len() - 1]));
        assert_eq!(end.checksum_status(Some(&md5_hex(&plain))), ChecksumStatus::Incomplete);
        assert_eq!(end.md5, md5_hex(half));
    }

    // A gzip member whose CRC does not match its data.
    let mut g = gzip(&plain);
    let n = g.len();
    g[n - 8] ^= 1;
    let (got, end) = read(&g);
    let err = end.error.expect("an error");
    assert_eq!(err.kind(), BodyErrorKind::Corrupt);
    assert!(err.message().starts_with(&format!("body (gzip) is corrupt after {} decoded bytes", plain.len())));
    assert_eq!(got.len(), 2000); // every line came before the check failed; none was cut
    assert!(got.iter().all(|l| l.full_length == 0));
}

#[test]
fn errors_are_final() {
    let mut inf = Inflater::new(Compression::Zlib, Limits::default());
    inf.push(b"\x78\x9c\x07\x00");
    let mut out = vec![0; 64];
    let first = inf.inflate(&mut out).unwrap_err();
    assert_eq!(inf.inflate(&mut out).unwrap_err(), first);
    inf.push(&zlib(b"more"));
    assert_eq!(inf.inflate(&mut out).unwrap_err(), first);
    assert_eq!(inf.finish().unwrap_err(), first);
}

#[test]
fn trailing_bytes_are_ignored_with_v1_warnings() {
    let lines = sample_lines(4);
    let plain = body_text(&lines);
    // AES (PKCS#7) padding left after the stream, and junk arriving in later chunks.
    for (tail, warning) in [
        (vec![0x10u8; 16], "body: bytes after the last zlib stream ignored"),
        (b"junk after the stream".to_vec(), "body: bytes after the last zlib stream ignored"),
        (vec![0x01], "body: 1 byte(s) after the last zlib stream ignored"),
    ] {
        let body = [zlib(&plain), tail].concat();
        for chunk in [1, 2, 3, 100_000] {
            let (got, end) = read_chunked(&body, Limits::default(), chunk);
            assert_eq!(raws(&got), expected(&lines));
            assert_eq!(end.warnings, vec![warning.to_owned()], "chunk {chunk}");
            assert_eq!(end.error, None);
            assert_eq!(end.checksum_status(Some(&md5_hex(&plain))), ChecksumStatus::Ok);
        }
    }
    // The warning names the last stream's kind.
    let body = [zlib(b"CEF:a\n"), gzip(b"CEF:b\n"), b"\x00\x00".to_vec()].concat();
    let (_, end) = read(&body);
    assert_eq!(end.warnings, vec!["body: bytes after the last gzip stream ignored".to_owned()]);
    // Bytes that do look like a stream start one (v1 too): a bare zlib header is a cut stream.
    let (got, end) = read(&[zlib(&plain), b"\x78\x9c".to_vec()].concat());
    assert_eq!(raws(&got), expected(&lines));
    assert_eq!(end.error.map(|e| e.kind()), Some(BodyErrorKind::Truncated));
}

#[test]
fn outer_gzip_layer_follows_gzip_only() {
    let mut inf =
        Inflater::with_options(Compression::Gzip, "outer gzip layer", &[Compression::Gzip], Limits::default());
    inf.push(&[gzip(b"a"), zlib(b"b")].concat());
    let mut out = vec![0; 16];
    let n = inf.inflate(&mut out).unwrap();
    assert_eq!(&out[..n], b"a");
    assert_eq!(inf.inflate(&mut out).unwrap(), 0);
    inf.finish().unwrap();
    assert_eq!(inf.warnings(), ["outer gzip layer: bytes after the last gzip stream ignored"]);
}

#[test]
fn only_lf_splits_lines() {
    let weird = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| cs1=a\x0bb\x1cc\u{85}d\u{2028}e";
    let first = sample_lines(1).remove(0);
    let (got, _) = read(&body_text(&[weird.to_owned(), first.clone()]));
    assert_eq!(raws(&got), vec![weird.as_bytes().to_vec(), first.into_bytes()]);
}

#[test]
fn crlf_and_blank_lines() {
    let lines = sample_lines(6);
    let body = format!("{}\r\n\r\n\n", lines.join("\r\n")).into_bytes();
    let (got, _) = read(&zlib(&body));
    assert_eq!(raws(&got), expected(&lines));
    assert_eq!(got.iter().map(|l| l.line_no).collect::<Vec<_>>(), (1..=6).collect::<Vec<_>>());
    assert_eq!(got.iter().map(|l| l.ordinal).collect::<Vec<_>>(), (0..6).collect::<Vec<_>>());
}

#[test]
fn lone_cr_is_not_a_line_end_and_only_one_cr_is_stripped() {
    let (got, _) = read(b"CEF:a\rb\nCEF:c\r\r\n\r\n\r\r\n \t\r\nCEF:d\r");
    assert_eq!(raws(&got), vec![b"CEF:a\rb".to_vec(), b"CEF:c\r".to_vec(), b"\r".to_vec(), b"CEF:d".to_vec()]);
    assert_eq!(got.iter().map(|l| l.line_no).collect::<Vec<_>>(), [1, 2, 4, 6]);
}

#[test]
fn empty_and_blank_lines_take_no_ordinal() {
    let body = b"\n\n\nCEF:a\n   \n\t\n\nCEF:b\n\n";
    let (got, end) = read(body);
    assert_eq!(got, reference(body, 1 << 20));
    assert_eq!(got.iter().map(|l| (l.ordinal, l.line_no, l.offset)).collect::<Vec<_>>(), [(0, 4, 3), (1, 8, 16)]);
    assert_eq!(end.lines, 2);
}

#[test]
fn runs_of_empty_lines() {
    let mut splitter = LineSplitter::new(1 << 20);
    let newlines = vec![b'\n'; 8 << 20];
    splitter.for_each_line(&newlines, |_| panic!("no line"));
    splitter.for_each_line(b"\n\nCEF:x\n", |l| {
        assert_eq!((l.ordinal, l.line_no, l.offset, l.raw), (0, (8 << 20) + 3, (8 << 20) + 2, &b"CEF:x"[..]));
    });
    assert_eq!(splitter.line_no(), (8 << 20) + 3);
    assert!(splitter.finish(false).is_none());
}

#[test]
fn long_line_cut_to_head_with_length_and_hash() {
    let lines = sample_lines(2);
    let long = format!("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| postbody={}", "A".repeat(5000));
    let body = body_text(&[lines[0].clone(), long.clone(), lines[1].clone()]);
    let limits = Limits { max_line_bytes: 1000, ..Limits::default() };
    for chunk in [1, 999, 1000, 1001, 4096, 1 << 20] {
        let (got, _) = read_chunked(&zlib(&body), limits, chunk);
        assert_eq!(got.iter().map(|l| l.raw.len()).collect::<Vec<_>>(), [lines[0].len(), 1000, lines[1].len()]);
        assert_eq!(got[1].raw, long.as_bytes()[..1000]);
        assert_eq!(got[1].full_length, long.len() as i64);
        assert_eq!(got[1].full_hash, sha256_hex(long.as_bytes()));
        assert_eq!(got[2].offset, (lines[0].len() + 1 + long.len() + 1) as u64);
        assert!(got[0].full_hash.is_empty() && got[2].full_length == 0);
    }
}

#[test]
fn long_line_edges_follow_v1() {
    let limits = Limits { max_line_bytes: 8, ..Limits::default() };
    // Exactly the limit is whole; one more is cut; a \r counts (and is hashed) before it is
    // stripped; an unterminated long last line is cut too.
    let body = b"12345678\n123456789\n12345678\r\nabcdefghijk";
    let (got, _) = read_chunked(body, limits, 3);
    assert_eq!(got, reference(body, 8));
    assert_eq!(got.iter().map(|l| l.full_length).collect::<Vec<_>>(), [0, 9, 9, 11]);
    assert_eq!(got[2].raw, b"12345678");
    assert_eq!(got[2].full_hash, sha256_hex(b"12345678\r"));
    assert!(matches!(got[3].raw.as_slice(), b"abcdefgh"));
}

#[test]
fn offsets_point_at_lines() {
    let plain = body_text(&sample_lines(6));
    let (got, _) = read(&zlib(&plain));
    for l in got {
        assert_eq!(&plain[l.offset as usize..l.offset as usize + l.raw.len()], l.raw.as_slice());
    }
}
