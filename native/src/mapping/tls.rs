//! `tls.*` from the raw `ver` (`TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256`): protocol and version from
//! the first word when it starts with `TLSv`/`SSLv` (any case), the cipher from the rest.

use crate::document::Row;
use crate::fields::{TLS_CIPHER, TLS_VERSION, TLS_VERSION_PROTOCOL};

use crate::pytext::strip as py_strip;
use super::table::Seen;

pub(crate) fn tls(seen: &Seen<'_>, row: &mut Row) {
    let Some(ver) = seen.ver.filter(|v| !v.is_empty()) else {
        return;
    };
    let ver = py_strip(ver);
    let (proto, cipher) = ver.split_once(' ').unwrap_or((ver, ""));
    let head = proto.as_bytes().get(..4);
    let protocol = match head {
        Some(h) if h.eq_ignore_ascii_case(b"tlsv") => Some("tls"),
        Some(h) if h.eq_ignore_ascii_case(b"sslv") => Some("ssl"),
        _ => None,
    };
    if let Some(protocol) = protocol {
        row.set_str(TLS_VERSION_PROTOCOL, protocol);
        row.set_str(TLS_VERSION, &proto[4..]);
    }
    let cipher = py_strip(cipher);
    if !cipher.is_empty() {
        row.set_str(TLS_CIPHER, cipher);
    }
}
