//! Event identity (DESIGN §2): `_id` = URL-safe base64 (no padding) of a 128-bit BLAKE2b over
//! `file identity ‖ line ordinal (8 bytes, big-endian) ‖ line bytes`.
//!
//! These are bit for bit the ids version 1 wrote, so stores that already hold events recognise
//! them again. One Imperva file yields the same ids whichever path, name or compression brought
//! it; two identical lines of one file stay two events (their ordinals differ).
//!
//! Hashing is `blake2b_simd` (AVX2 or SSE4.1 picked at run time, portable otherwise): the same
//! function as the RustCrypto `blake2` crate version 1 used, at half the instructions per event
//! (a test compares the two).

use blake2b_simd::Params;

/// 128-bit output, no key, salt or persona: `Blake2b<U16>` of the `blake2` crate.
fn params128() -> Params {
    let mut params = Params::new();
    params.hash_length(16);
    params
}

fn digest16(hash: &blake2b_simd::Hash) -> [u8; 16] {
    hash.as_bytes().try_into().expect("a 16-byte hash")
}

/// The identity of a headerless file: a 128-bit BLAKE2b, personalised `wafpipe-body`, of its first
/// *event* line (directive lines such as W3C's `#Fields` are not events). A file that grows keeps
/// its first event line, so its old lines keep their ids (DESIGN §2).
pub fn headerless_identity(first_event_line: &[u8]) -> [u8; 16] {
    // The persona is zero-padded to 16 bytes, as `Blake2bMac::new_with_salt_and_personal` pads it.
    digest16(&params128().personal(b"wafpipe-body").hash(first_event_line))
}

/// The id of the event on line `ordinal` (0-based event-line index) of the file `identity`.
pub fn event_id(identity: &[u8], ordinal: u64, line: &[u8]) -> String {
    let mut state = params128().to_state();
    state.update(identity);
    state.update(&ordinal.to_be_bytes());
    state.update(line);
    encode_base64_url(&digest16(&state.finalize()))
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

    /// The RustCrypto `blake2` crate (what ids were computed with before `blake2b_simd`): both
    /// functions agree on every length around the 128-byte block.
    #[test]
    fn ids_match_the_rustcrypto_blake2_crate() {
        use blake2::digest::consts::U16;
        use blake2::digest::Mac;
        use blake2::{Blake2b, Blake2bMac, Digest};

        let data: Vec<u8> = (0..1200u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in (0..300).chain([511, 512, 513, 1023, 1024, 1025, 1200]) {
            let line = &data[..len];
            let mut hasher = Blake2b::<U16>::new();
            hasher.update(b"0123456789abcdef");
            hasher.update((len as u64 * 7919).to_be_bytes());
            hasher.update(line);
            let expected: [u8; 16] = hasher.finalize().into();
            assert_eq!(event_id(b"0123456789abcdef", len as u64 * 7919, line), encode_base64_url(&expected), "{len}");
            let mut mac = Blake2bMac::<U16>::new_with_salt_and_personal(None, &[], b"wafpipe-body").unwrap();
            mac.update(line);
            let expected: [u8; 16] = mac.finalize().into_bytes().into();
            assert_eq!(headerless_identity(line), expected, "{len}");
        }
    }
}
