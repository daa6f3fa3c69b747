//! The first pass over a body: inflate it (bounded) and take its MD5 and size, splitting and
//! decoding nothing, so that the file's verdict — is the checksum right, did the body break off —
//! is known before its first event is made (DESIGN §1: each event carries the per-file flags it
//! needs to be judged on its own, and a file streamed in Batches cannot wait for its end to say
//! them). The second pass ([`super::BodyStream::without_digest`]) then skips the MD5, so the check
//! costs one more inflate and nothing else.

use super::checksum::ChecksumStatus;
use super::limits::Limits;
use super::stream::{BodyEnd, BodyStream};

/// What the first pass found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileVerdict {
    pub checksum: ChecksumStatus,
    /// The body broke off (a fault, a bomb): the events before it are kept, the file is partial.
    pub partial: bool,
}

/// A body being checked: [`BodyCheck::push`] its decrypted bytes, then [`BodyCheck::finish`].
pub struct BodyCheck {
    stream: BodyStream,
}

impl BodyCheck {
    /// Under the same output bounds as the read that follows (a bomb is partial here too).
    pub fn new(limits: Limits) -> BodyCheck {
        BodyCheck { stream: BodyStream::new(limits) }
    }

    /// The next chunk; memory stays flat (one decoded chunk at a time).
    pub fn push(&mut self, chunk: &[u8]) {
        self.stream.push(chunk);
        self.stream.skip();
    }

    /// The body is complete: what it came to, and the verdict on it against the header's
    /// `checksum` (FORMATS §1.6).
    pub fn finish(mut self, header_checksum: Option<&str>) -> (FileVerdict, BodyEnd) {
        self.stream.finish();
        self.stream.skip();
        let end = self.stream.end().cloned().expect("a finished body has ended");
        (FileVerdict { checksum: end.checksum_status(header_checksum), partial: end.is_partial() }, end)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn check(body: &[u8], checksum: Option<&str>) -> (FileVerdict, BodyEnd) {
        let mut check = BodyCheck::new(Limits::default());
        for chunk in body.chunks(7) {
            check.push(chunk);
        }
        check.finish(checksum)
    }

    #[test]
    fn the_verdict_is_the_whole_reads() {
        let text = b"CEF:0|a\nCEF:0|b\n".repeat(5000);
        let body = zlib(&text);
        let mut whole = BodyStream::new(Limits::default());
        whole.push(&body);
        whole.finish();
        while whole.next_line().is_some() {}
        let end = whole.end().unwrap().clone();
        let (verdict, checked) = check(&body, Some(&end.md5.to_ascii_uppercase()));
        assert_eq!(verdict, FileVerdict { checksum: ChecksumStatus::Ok, partial: false });
        assert_eq!((checked.md5, checked.decoded_bytes, checked.error), (end.md5, end.decoded_bytes, None));
        assert_eq!(check(&body, Some("00")).0.checksum, ChecksumStatus::Mismatch);
        assert_eq!(check(&text, None).0, FileVerdict { checksum: ChecksumStatus::Absent, partial: false });
    }

    #[test]
    fn a_body_that_breaks_off_is_partial() {
        let body = zlib(&b"CEF:0|a\n".repeat(10_000));
        let (verdict, end) = check(&body[..body.len() / 2], Some("whatever"));
        assert_eq!(verdict, FileVerdict { checksum: ChecksumStatus::Incomplete, partial: true });
        assert!(end.error.is_some() && end.decoded_bytes > 0);
    }

    #[test]
    fn without_digest_reads_the_same_lines_and_no_md5() {
        let body = zlib(b"one\ntwo\n");
        let mut stream = BodyStream::new(Limits::default()).without_digest();
        stream.push(&body);
        stream.finish();
        let mut lines = Vec::new();
        while let Some(line) = stream.next_line() {
            lines.push(line.raw.to_vec());
        }
        assert_eq!(lines, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(stream.end().unwrap().md5, "");
    }
}
