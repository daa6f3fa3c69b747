//! `detect_compression` against v1: the stream kinds, and text told from deflate.

use _native::body::{detect_compression, Compression};

use crate::support::{body_text, deflate, gzip, sample_lines, zlib};

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
