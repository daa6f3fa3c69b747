//! The body layer against v1's behaviour (tests/imperva/test_container.py, the body parts) and
//! the faults it must name: concatenated streams, trailing bytes, corrupt vs truncated, bombs,
//! lines across every chunk boundary, MD5.

use std::io::Write;

use _native::body::{
    detect_compression, BodyEnd, BodyErrorKind, BodyStream, ChecksumStatus, Compression, Cut, Inflater, Limits,
    LineSplitter, CORRUPT_HINT, OUTPUT_LIMIT_HINT, OUT_CHUNK, RATIO_FLOOR, RATIO_LIMIT_HINT, TRUNCATED_HINT,
};
use md5::{Digest, Md5};
use sha2::Sha256;

// ------------------------------------------------------------------------------------ builders

const SAMPLE_CEF: &str = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=438000490120534212 \
    sourceServiceName=shop.example.com siteid=61539044 suid=1843222 \
    requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0 deviceFacility=atl \
    ccode=US cicode=Atlanta cs7=33.7485 cs7Label=latitude cs8=-84.3871 cs8Label=longitude \
    Customer=Example start=1624809714018 request=shop.example.com/index.html requestMethod=GET \
    cn1=200 app=HTTPS act=REQ_PASSED deviceExternalId=269605585508764744 sip=203.0.113.5 spt=443 \
    in=4591 xff=198.51.100.7 cpt=42709 src=198.51.100.7 end=1624809714271";
const SQLI_CEF: &str = "CEF:0|Incapsula|SIEMintegration|1|1|SQL Injection|0| fileId=536000420203633562 \
    sourceServiceName=shop.example.com siteid=61539044 suid=1843222 \
    requestClientApplication=sqlmap/1.7 deviceFacility=fra ccode=UA start=1624459989430 \
    request=shop.example.com/login requestMethod=GET qstr=id\\=1' OR 1\\=1-- app=HTTP \
    act=REQ_BLOCKED_SESSION deviceExternalId=300754127159822978 cpt=63326 src=77.222.131.19 \
    end=1624459989431 fileType=50033 filePermission=666 cs9=SQL Injection, cs9Label=Rule name";

/// `n` distinct CEF lines, as tests/filebuilder.py `sample_lines`.
fn sample_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let base = if i % 2 == 0 { SAMPLE_CEF } else { SQLI_CEF };
            base.replace("deviceExternalId=", &format!("deviceExternalId={i:04}"))
        })
        .collect()
}

/// filebuilder's `body_text`: lines joined by `\n`, plus a final `\n`.
fn body_text(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn compress(data: &[u8], kind: Compression) -> Vec<u8> {
    match kind {
        Compression::Zlib => zlib(data),
        Compression::Gzip => gzip(data),
        Compression::Deflate => deflate(data),
        Compression::None => data.to_vec(),
    }
}

fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes deflate bits least-significant first; Huffman codes go most-significant bit first.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn new() -> Bits {
        Bits { out: Vec::new(), acc: 0, n: 0 }
    }
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    fn code(&mut self, code: u64, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A zlib stream of `1 + 258 * matches` newlines at zlib's best ratio (1032:1), written by hand:
/// one dynamic-Huffman block where "length 258, distance 1" costs two bits. (Compressing 200 MB
/// with an unoptimised test build of the encoder would take a minute.)
fn newline_bomb(matches: u64) -> Vec<u8> {
    let mut b = Bits::new();
    b.put(1, 1); // BFINAL
    b.put(2, 2); // dynamic Huffman
    b.put(29, 5); // HLIT: 286 literal/length codes
    b.put(0, 5); // HDIST: 1 distance code
    b.put(14, 4); // HCLEN: 18 code-length codes
                  // Code-length code lengths in RFC 1951 order 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1.
    for len in [0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        b.put(len, 3);
    }
    // Canonical code-length code: 1→00, 2→01, 17→10, 18→11.
    let (one, two, rep17, rep18) = (0b00, 0b01, 0b10, 0b11);
    b.code(rep17, 2); // 10 zeros (literals 0..9)
    b.put(7, 3);
    b.code(two, 2); // '\n' (10): length 2
    b.code(rep18, 2); // 138 zeros
    b.put(127, 7);
    b.code(rep18, 2); // 107 zeros (11..255)
    b.put(96, 7);
    b.code(two, 2); // end of block (256): length 2
    b.code(rep18, 2); // 28 zeros (257..284)
    b.put(17, 7);
    b.code(one, 2); // length 258 (285): length 1
    b.code(one, 2); // distance 1: length 1
                    // Literal/length code: 285→0, 10→10, 256→11; distance code 0→0.
    b.code(0b10, 2);
    for _ in 0..matches {
        b.put(0, 2);
    }
    b.code(0b11, 2);
    let n = u128::from(1 + 258 * matches);
    let a = (1 + 10 * n) % 65521;
    let s = (n + 10 * n * (n + 1) / 2) % 65521;
    let mut out = vec![0x78, 0x9c];
    out.extend(b.finish());
    out.extend_from_slice(&((s << 16 | a) as u32).to_be_bytes());
    out
}

// ------------------------------------------------------------------------------------- drivers

/// A line as v1's `BodyLine`: (ordinal, line_no, offset, raw, full_length, full_hash).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Got {
    ordinal: u64,
    line_no: u64,
    offset: u64,
    raw: Vec<u8>,
    full_length: i64,
    full_hash: String,
}

fn got(line: &_native::body::Line<'_>) -> Got {
    Got {
        ordinal: line.ordinal,
        line_no: line.line_no,
        offset: line.offset,
        raw: line.raw.to_vec(),
        full_length: line.full_length(),
        full_hash: line.full_hash().to_owned(),
    }
}

/// Reads `body` pushed in `chunk`-byte pieces, taking every line as soon as it is ready.
fn read_chunked(body: &[u8], limits: Limits, chunk: usize) -> (Vec<Got>, BodyEnd) {
    let mut s = BodyStream::new(limits);
    let mut lines = Vec::new();
    for piece in body.chunks(chunk.max(1)) {
        s.push(piece);
        while let Some(line) = s.next_line() {
            lines.push(got(&line));
        }
    }
    s.finish();
    while let Some(line) = s.next_line() {
        lines.push(got(&line));
    }
    assert!(s.next_line().is_none());
    let end = s.end().expect("the body ended").clone();
    (lines, end)
}

fn read(body: &[u8]) -> (Vec<Got>, BodyEnd) {
    read_chunked(body, Limits::default(), 256 * 1024)
}

fn raws(lines: &[Got]) -> Vec<Vec<u8>> {
    lines.iter().map(|l| l.raw.clone()).collect()
}

fn expected(lines: &[String]) -> Vec<Vec<u8>> {
    lines.iter().map(|l| l.as_bytes().to_vec()).collect()
}

/// v1's `lines()` over a whole, unbroken body, written the plain way (no chunks).
fn reference(body: &[u8], max: usize) -> Vec<Got> {
    let mut out = Vec::new();
    let (mut line_no, mut offset) = (0u64, 0u64);
    let mut parts: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let tail = parts.pop().unwrap_or(b"");
    let keep = |piece: &[u8], line_no: u64, offset: u64, out: &mut Vec<Got>| {
        let (mut raw, full_length, full_hash) = if piece.len() > max {
            (&piece[..max], piece.len() as i64, sha256_hex(piece))
        } else {
            (piece, 0, String::new())
        };
        if raw.ends_with(b"\r") {
            raw = &raw[..raw.len() - 1];
        }
        if raw.iter().all(|&b| b == b' ' || b == b'\t') {
            return;
        }
        let ordinal = out.len() as u64;
        out.push(Got { ordinal, line_no, offset, raw: raw.to_vec(), full_length, full_hash });
    };
    for piece in parts {
        line_no += 1;
        keep(piece, line_no, offset, &mut out);
        offset += piece.len() as u64 + 1;
    }
    if !tail.is_empty() {
        keep(tail, line_no + 1, offset, &mut out);
    }
    out
}

// ------------------------------------------------------------------------ detect_compression

#[test]
fn detects_as_v1() {
    let text = body_text(&sample_lines(2));
    assert_eq!(detect_compression(&zlib(&text)), Compression::Zlib);
    assert_eq!(detect_compression(&gzip(&text)), Compression::Gzip);
    assert_eq!(detect_compression(&deflate(&text)), Compression::Deflate);
    assert_eq!(detect_compression(&text), Compression::None);
    for head in [&b"\x78\x01"[..], b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x08\x1d", b"\x68\x81"] {
        assert_eq!(detect_compression(head), Compression::Zlib, "{head:?}");
    }
    // CINFO 8 is no zlib header (window too large for wbits 15); a bad FCHECK neither.
    assert_ne!(detect_compression(b"\x88\x98\x00\x00"), Compression::Zlib);
    assert_eq!(detect_compression(b"\x78\x9d\x00\x00\x00\x00\x00\x00"), Compression::Deflate);
    assert_eq!(detect_compression(b""), Compression::None);
    assert_eq!(detect_compression(b" \r\n\t"), Compression::None);
    assert_eq!(detect_compression(b"\xef\xbb\xbfCEF:0|x\x00\x00\x00\x00\x00\x00\x00\x00"), Compression::None);
    assert_eq!(detect_compression(b"\n\n{\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), Compression::None);
    for start in ["LEEF:", "#", "\"", "[", "<"] {
        let mut head = start.as_bytes().to_vec();
        head.extend([0u8; 40]);
        assert_eq!(detect_compression(&head), Compression::None, "{start}");
    }
    // ≥ 90 % printable in the first 64 bytes is text: 58 of 64 is (57.6), 57 is not.
    let mut head = vec![b'a'; 58];
    head.extend([0u8; 6]);
    head.extend([0u8; 100]); // ignored: only the first 64 bytes are judged
    assert_eq!(detect_compression(&head), Compression::None);
    head[57] = 0;
    assert_eq!(detect_compression(&head), Compression::Deflate);
    // Bytes ≥ 0xC2 count as printable (UTF-8), 0x80..0xC1 do not.
    assert_eq!(detect_compression(&[0xC3; 64]), Compression::None);
    assert_eq!(detect_compression(&[0x81; 64]), Compression::Deflate);
}

// ------------------------------------------------------------- v1's test_container, body parts

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

// ------------------------------------------------------------------------------ chunk boundaries

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

// ------------------------------------------------------------------------- decompression bombs

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

// ------------------------------------------------------------------------------------- scale

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
