//! `source.geo`, `source.address`, `destination.*`, `network.application`/`protocol` and
//! `related.ip`, from the converted `ccode`, `cs7`/`cs8`, `src`, `sip`/`spt`, `xff` and the raw
//! `app` (version 1's "source / destination / network" block).

use crate::document::{Row, Value};
use crate::fields::{
    DESTINATION_ADDRESS, DESTINATION_IP, IMPERVA_WAF_COUNTRY_CODES, IMPERVA_WAF_LATITUDE, IMPERVA_WAF_LONGITUDE,
    NETWORK_APPLICATION, NETWORK_FORWARDED_IP, NETWORK_PROTOCOL, RELATED_IP, SOURCE_ADDRESS,
    SOURCE_GEO_COUNTRY_ISO_CODE, SOURCE_GEO_LOCATION, SOURCE_IP,
};

use super::str_at;
use super::table::Seen;

pub(crate) fn network(seen: &Seen<'_>, row: &mut Row) {
    geo(row);
    row.copy(SOURCE_IP, SOURCE_ADDRESS);
    row.copy(DESTINATION_IP, DESTINATION_ADDRESS);
    if let Some(app) = seen.app.filter(|a| !a.is_empty()) {
        if app.is_ascii() {
            row.set_str_with(NETWORK_APPLICATION, |out| out.extend(app.bytes().map(|b| char::from(b.to_ascii_lowercase()))));
        } else {
            row.set_str(NETWORK_APPLICATION, &app.to_lowercase());
        }
        row.set_str(NETWORK_PROTOCOL, "http");
    }
    related(row);
}

/// `source.geo.country_iso_code` from the first of `ccode`'s codes (the list stays under
/// `imperva.waf.country_codes` only when it names more than one); `source.geo.location` from
/// `cs7`/`cs8` when both are in range (the vendor fields stay only when they form no location).
fn geo(row: &mut Row) {
    if let Some(Value::StrList(codes)) = row.get(IMPERVA_WAF_COUNTRY_CODES) {
        let single = codes.len() == 1;
        if let Some(first) = codes.first() {
            let first = first.to_owned();
            row.set_str(SOURCE_GEO_COUNTRY_ISO_CODE, &first);
        }
        if single {
            row.unset(IMPERVA_WAF_COUNTRY_CODES);
        }
    }
    if let (Some(Value::Double(lat)), Some(Value::Double(lon))) =
        (row.get(IMPERVA_WAF_LATITUDE), row.get(IMPERVA_WAF_LONGITUDE))
    {
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            row.set_geo(SOURCE_GEO_LOCATION, lat, lon);
            row.unset(IMPERVA_WAF_LATITUDE);
            row.unset(IMPERVA_WAF_LONGITUDE);
        }
    }
}

/// `0.0.0.0` / `::`: Imperva's "no origin was contacted" (a cache hit), not an address to relate.
fn unspecified(ip: &str) -> bool {
    ip == "0.0.0.0" || ip == "::"
}

/// `related.ip`: the origin (when one was contacted), the client and the XFF chain, each once.
fn related(row: &mut Row) {
    let view: &Row = row;
    let chain = match view.get(NETWORK_FORWARDED_IP) {
        Some(Value::StrList(chain)) => Some(chain),
        _ => None,
    };
    let all = str_at(view, DESTINATION_IP)
        .filter(|ip| !unspecified(ip))
        .into_iter()
        .chain(str_at(view, SOURCE_IP))
        .chain(chain.into_iter().flat_map(|c| c.iter()));
    let mut ips: Vec<&str> = Vec::new();
    for ip in all {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    if !ips.is_empty() {
        let ips: Vec<String> = ips.into_iter().map(str::to_owned).collect();
        row.set_list(RELATED_IP, ips.iter().map(String::as_str));
    }
}
