//! Support for the body tests: builders (sample CEF lines, compressed bodies, a hand-written
//! decompression bomb) and drivers (a body read in chunks, v1's line split written the plain way).

use std::io::Write;

use _native::body::{BodyEnd, BodyStream, Compression, Limits};
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
pub(crate) fn sample_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let base = if i % 2 == 0 { SAMPLE_CEF } else { SQLI_CEF };
            base.replace("deviceExternalId=", &format!("deviceExternalId={i:04}"))
        })
        .collect()
}

/// filebuilder's `body_text`: lines joined by `\n`, plus a final `\n`.
pub(crate) fn body_text(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub(crate) fn compress(data: &[u8], kind: Compression) -> Vec<u8> {
    match kind {
        Compression::Zlib => zlib(data),
        Compression::Gzip => gzip(data),
        Compression::Deflate => deflate(data),
        Compression::None => data.to_vec(),
    }
}

pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
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
pub(crate) fn newline_bomb(matches: u64) -> Vec<u8> {
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
pub(crate) struct Got {
    pub(crate) ordinal: u64,
    pub(crate) line_no: u64,
    pub(crate) offset: u64,
    pub(crate) raw: Vec<u8>,
    pub(crate) full_length: i64,
    pub(crate) full_hash: String,
}

pub(crate) fn got(line: &_native::body::Line<'_>) -> Got {
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
pub(crate) fn read_chunked(body: &[u8], limits: Limits, chunk: usize) -> (Vec<Got>, BodyEnd) {
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

pub(crate) fn read(body: &[u8]) -> (Vec<Got>, BodyEnd) {
    read_chunked(body, Limits::default(), 256 * 1024)
}

pub(crate) fn raws(lines: &[Got]) -> Vec<Vec<u8>> {
    lines.iter().map(|l| l.raw.clone()).collect()
}

pub(crate) fn expected(lines: &[String]) -> Vec<Vec<u8>> {
    lines.iter().map(|l| l.as_bytes().to_vec()).collect()
}

/// v1's `lines()` over a whole, unbroken body, written the plain way (no chunks).
pub(crate) fn reference(body: &[u8], max: usize) -> Vec<Got> {
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
