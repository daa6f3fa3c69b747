//! `source.geo`, `source.address`, `destination.*`, `network.application`/`protocol` and
//! `related.ip`, from the converted `ccode`, `cs7`/`cs8`, `src`, `sip`/`spt`, `xff` and the raw
//! `app` (version 1's "source / destination / network" block).

use crate::document::{Row, Value};
use crate::fields::{
    DESTINATION_ADDRESS, DESTINATION_IP, DESTINATION_PORT, IMPERVA_WAF_COUNTRY_CODES, IMPERVA_WAF_LATITUDE,
    IMPERVA_WAF_LONGITUDE, IMPERVA_WAF_ORIGIN_IP, IMPERVA_WAF_ORIGIN_PORT, IMPERVA_WAF_XFF, NETWORK_APPLICATION,
    NETWORK_PROTOCOL, RELATED_IP, SOURCE_ADDRESS, SOURCE_GEO_COUNTRY_ISO_CODE, SOURCE_GEO_LOCATION, SOURCE_IP,
};

use super::str_at;
use super::table::Seen;

pub(crate) fn network(seen: &Seen<'_>, row: &mut Row) {
    geo(row);
    row.copy(SOURCE_IP, SOURCE_ADDRESS);
    let destination = str_at(row, IMPERVA_WAF_ORIGIN_IP).is_some_and(|ip| ip != "0.0.0.0" && ip != "::");
    if destination {
        row.copy(IMPERVA_WAF_ORIGIN_IP, DESTINATION_IP);
        if let Some(Value::Long(port)) = row.get(IMPERVA_WAF_ORIGIN_PORT) {
            if port != 0 {
                row.set_long(DESTINATION_PORT, port);
            }
        }
    }
    if let Some(app) = seen.app.filter(|a| !a.is_empty()) {
        if app.is_ascii() {
            row.set_str_with(NETWORK_APPLICATION, |out| out.extend(app.bytes().map(|b| char::from(b.to_ascii_lowercase()))));
        } else {
            row.set_str(NETWORK_APPLICATION, &app.to_lowercase());
        }
        row.set_str(NETWORK_PROTOCOL, "http");
    }
    related(row, destination);
    if destination {
        row.copy(IMPERVA_WAF_ORIGIN_IP, DESTINATION_ADDRESS);
    }
}

/// `source.geo.country_iso_code` (the first country code) and `source.geo.location` (when both
/// coordinates are in range).
fn geo(row: &mut Row) {
    if let Some(Value::StrList(codes)) = row.get(IMPERVA_WAF_COUNTRY_CODES) {
        if let Some(first) = codes.first() {
            let first = first.to_owned();
            row.set_str(SOURCE_GEO_COUNTRY_ISO_CODE, &first);
        }
    }
    if let (Some(Value::Double(lat)), Some(Value::Double(lon))) =
        (row.get(IMPERVA_WAF_LATITUDE), row.get(IMPERVA_WAF_LONGITUDE))
    {
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            row.set_geo(SOURCE_GEO_LOCATION, lat, lon);
        }
    }
}

/// `related.ip`: the destination (`imperva.waf.origin_ip`, when `destination`), the source, then
/// the XFF chain, each address once, in order.
fn related(row: &mut Row, destination: bool) {
    let view: &Row = row;
    let chain = match view.get(IMPERVA_WAF_XFF) {
        Some(Value::StrList(chain)) => Some(chain),
        _ => None,
    };
    let all = destination
        .then(|| str_at(view, IMPERVA_WAF_ORIGIN_IP))
        .flatten()
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
        // Copied out first: the list is written into the row the addresses are read from.
        let ips: Vec<String> = ips.into_iter().map(str::to_owned).collect();
        row.set_list(RELATED_IP, ips.iter().map(String::as_str));
    }
}
