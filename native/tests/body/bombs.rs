//! Decompression bombs: the ratio and output limits.

use _native::body::{
    BodyErrorKind, ChecksumStatus, Compression, Inflater, Limits, OUTPUT_LIMIT_HINT, OUT_CHUNK, RATIO_FLOOR,
    RATIO_LIMIT_HINT,
};

use crate::support::{gzip, md5_hex, newline_bomb, read, read_chunked, zlib};

#[test]
fn the_hand_written_newline_stream_is_valid() {
    let body = newline_bomb(1000);
    let (got, end) = read(&body);
    assert!(got.is_empty());
    assert_eq!((end.error, end.decoded_bytes), (None, 1 + 258 * 1000));
    assert_eq!(end.md5, md5_hex(&vec![b'\n'; 1 + 258 * 1000]));
}

#[test]
fn ratio_bomb_stops_at_the_floor() {
    // 200 MiB of newlines in ~200 KB: stopped once the output passes 64 MiB.
    let body = newline_bomb((200 << 20) / 258);
    assert!(body.len() < 210_000);
    let (got, end) = read(&body);
    assert!(got.is_empty());
    let err = end.error.clone().expect("a bomb");
    assert_eq!(err.kind(), BodyErrorKind::RatioLimit);
    assert!(err.kind().is_bomb());
    assert!(err.message().contains("decompression bomb: ") && err.message().contains("exceeds max_ratio (1000)"));
    assert_eq!(err.hint(), RATIO_LIMIT_HINT);
    assert!(end.decoded_bytes <= RATIO_FLOOR, "{}", end.decoded_bytes);
    assert!(end.decoded_bytes > RATIO_FLOOR - OUT_CHUNK as u64, "{}", end.decoded_bytes);
    assert_eq!(err.decoded_bytes(), end.decoded_bytes);
    assert_eq!(end.checksum_status(Some("x")), ChecksumStatus::Incomplete);
}

#[test]
fn small_bodies_with_high_ratios_pass() {
    let body = newline_bomb((8 << 20) / 258);
    let (_, end) = read(&body);
    assert_eq!(end.error, None);
    // A lower ratio bound still waits for the floor.
    let limits = Limits { max_ratio: 2, ..Limits::default() };
    let (_, end) = read_chunked(&newline_bomb(40_000), limits, 4096);
    assert_eq!(end.error, None);
}

#[test]
fn output_cap_stops_exactly_at_the_limit() {
    let limits = Limits { max_output_bytes: 1_000_000, ..Limits::default() };
    let body = newline_bomb(20_000); // 5 MB
    for chunk in [1000, 1 << 20] {
        let (_, end) = read_chunked(&body, limits, chunk);
        let err = end.error.clone().expect("a bomb");
        assert_eq!(err.kind(), BodyErrorKind::OutputLimit);
        assert!(
            err.message().contains("decompression bomb: ")
                && err.message().contains("exceeds max_output_bytes (1000000)")
        );
        assert_eq!(err.hint(), OUTPUT_LIMIT_HINT);
        assert_eq!(end.decoded_bytes, 1_000_000);
    }
    // Output of exactly the limit is allowed, across streams too.
    let half = vec![b'\n'; 500_000];
    let body = [zlib(&half), gzip(&half)].concat();
    let (_, end) = read_chunked(&body, limits, 4096);
    assert_eq!((end.error, end.decoded_bytes), (None, 1_000_000));
    let (_, end) = read_chunked(&[body, zlib(b"\n")].concat(), limits, 4096);
    assert_eq!(end.error.map(|e| e.kind()), Some(BodyErrorKind::OutputLimit));
    assert_eq!(end.decoded_bytes, 1_000_000);
    // Plain text is not decompressed: no bound applies.
    let (_, end) = read_chunked(&vec![b'x'; 2_000_000], limits, 65536);
    assert_eq!((end.error, end.decoded_bytes), (None, 2_000_000));
}

#[test]
fn inflater_output_cap_with_a_one_byte_limit() {
    let limits = Limits { max_output_bytes: 1, ..Limits::default() };
    let mut inf = Inflater::new(Compression::Zlib, limits);
    inf.push(&zlib(b"ab"));
    let mut out = vec![0; 100];
    assert_eq!(inf.inflate(&mut out).unwrap(), 1);
    assert_eq!(inf.inflate(&mut out).unwrap_err().kind(), BodyErrorKind::OutputLimit);
    assert_eq!(inf.decoded_bytes(), 1);
}
