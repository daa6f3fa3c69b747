//! Event identity (DESIGN §2): `_id` = URL-safe base64 (no padding) of a 128-bit BLAKE2b over
//! `file identity ‖ line ordinal (8 bytes, big-endian) ‖ line bytes`.
//!
//! These are bit for bit the ids version 1 wrote, so stores that already hold events recognise
//! them again. One Imperva file yields the same ids whichever path, name or compression brought
//! it; two identical lines of one file stay two events (their ordinals differ).

use blake2::digest::consts::U16;
use blake2::digest::Mac;
use blake2::{Blake2b, Blake2bMac, Digest};

type Blake2b128 = Blake2b<U16>;

/// The identity of a headerless file: a 128-bit BLAKE2b, personalised `wafpipe-body`, of its first
/// *event* line (directive lines such as W3C's `#Fields` are not events). A file that grows keeps
/// its first event line, so its old lines keep their ids (DESIGN §2).
pub fn headerless_identity(first_event_line: &[u8]) -> [u8; 16] {
    let mut mac = Blake2bMac::<U16>::new_with_salt_and_personal(None, &[], b"wafpipe-body")
        .expect("an empty salt and a 12-byte persona are valid parameters");
    mac.update(first_event_line);
    mac.finalize().into_bytes().into()
}

/// The id of the event on line `ordinal` (0-based event-line index) of the file `identity`.
pub fn event_id(identity: &[u8], ordinal: u64, line: &[u8]) -> String {
    let mut hasher = Blake2b128::new();
    hasher.update(identity);
    hasher.update(ordinal.to_be_bytes());
    hasher.update(line);
    let digest: [u8; 16] = hasher.finalize().into();
    encode_base64_url(&digest)
}

const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding (RFC 4648 §5) of 16 bytes: 22 characters. Written out because
/// it is six lines for one fixed size, where a crate would add a dependency for the whole codec.
fn encode_base64_url(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(URL_SAFE[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_url_safe_characters() {
        let id = event_id(b"identity", 0, b"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|");
        assert_eq!(id.len(), 22);
        assert!(id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn ordinal_and_identity_both_count() {
        let a = event_id(b"x", 0, b"line");
        assert_ne!(a, event_id(b"x", 1, b"line"));
        assert_ne!(a, event_id(b"y", 0, b"line"));
        assert_eq!(a, event_id(b"x", 0, b"line"));
    }
}
