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
    if let Some(ip) = str_at(row, SOURCE_IP) {
        let ip = ip.to_owned();
        row.set(SOURCE_ADDRESS, Value::Str(ip));
    }
    let destination =
        str_at(row, IMPERVA_WAF_ORIGIN_IP).filter(|ip| *ip != "0.0.0.0" && *ip != "::").map(str::to_owned);
    if let Some(ip) = &destination {
        row.set(DESTINATION_IP, Value::Str(ip.clone()));
        if let Some(&Value::Long(port)) = row.get(IMPERVA_WAF_ORIGIN_PORT) {
            if port != 0 {
                row.set(DESTINATION_PORT, Value::Long(port));
            }
        }
    }
    if let Some(app) = seen.app.filter(|a| !a.is_empty()) {
        row.set(NETWORK_APPLICATION, Value::Str(app.to_lowercase()));
        row.set(NETWORK_PROTOCOL, Value::Str("http".to_owned()));
    }
    related(row, destination.as_deref());
    if let Some(ip) = destination {
        row.set(DESTINATION_ADDRESS, Value::Str(ip));
    }
}

/// `source.geo.country_iso_code` (the first country code) and `source.geo.location` (when both
/// coordinates are in range).
fn geo(row: &mut Row) {
    if let Some(Value::StrList(codes)) = row.get(IMPERVA_WAF_COUNTRY_CODES) {
        if let Some(first) = codes.first() {
            let first = first.clone();
            row.set(SOURCE_GEO_COUNTRY_ISO_CODE, Value::Str(first));
        }
    }
    if let (Some(&Value::Double(lat)), Some(&Value::Double(lon))) =
        (row.get(IMPERVA_WAF_LATITUDE), row.get(IMPERVA_WAF_LONGITUDE))
    {
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            row.set(SOURCE_GEO_LOCATION, Value::Geo { lat, lon });
        }
    }
}

/// `related.ip`: the destination, the source, then the XFF chain, each address once, in order.
fn related(row: &mut Row, destination: Option<&str>) {
    let mut ips: Vec<String> = Vec::new();
    let mut add = |ip: &str| {
        if !ips.iter().any(|seen| seen == ip) {
            ips.push(ip.to_owned());
        }
    };
    if let Some(ip) = destination {
        add(ip);
    }
    if let Some(ip) = str_at(row, SOURCE_IP) {
        add(ip);
    }
    if let Some(Value::StrList(chain)) = row.get(IMPERVA_WAF_XFF) {
        for ip in chain {
            add(ip);
        }
    }
    if !ips.is_empty() {
        row.set(RELATED_IP, Value::StrList(ips));
    }
}
