//! `url.*` and `related.hosts` from the raw `request` (`host/path[?query]`), `qstr` and `app`
//! (version 1's `_split_url` and "url" block).

use crate::document::Row;
use crate::fields::{RELATED_HOSTS, URL_DOMAIN, URL_EXTENSION, URL_FULL, URL_PATH, URL_QUERY, URL_SCHEME};

use super::table::Seen;

/// `host/path[?query]` → (domain, path, query); version 1's `_split_url`. The query is `qstr`
/// when the record has one (a `?…` in the request is then dropped), else what follows the
/// request's first `?`. A scheme (`…://`) is dropped; the host never stays inside the path, and
/// a request without `/` is all host, with path `/`.
pub fn split_url<'a>(request: &'a str, qstr: Option<&'a str>) -> (&'a str, &'a str, Option<&'a str>) {
    let mut request = request;
    let mut query = qstr;
    if let Some((before, after)) = request.split_once('?') {
        request = before;
        if query.is_none() {
            query = Some(after);
        }
    }
    if let Some((_, after)) = request.split_once("://") {
        request = after;
    }
    match request.find('/') {
        None => (request, "/", query),
        Some(slash) => (&request[..slash], &request[slash..], query),
    }
}

pub(crate) fn url(seen: &Seen<'_>, row: &mut Row) {
    let Some(request) = seen.request.filter(|r| !r.is_empty()) else {
        return;
    };
    let (domain, path, query) = split_url(request, seen.qstr.filter(|q| !q.is_empty()));
    let query = query.filter(|q| !q.is_empty());
    row.set_str(URL_DOMAIN, domain);
    row.set_str(URL_PATH, path);
    if let Some(query) = query.filter(|_| !row.is_set(URL_QUERY)) {
        row.set_str(URL_QUERY, query); // the `?` part of `request` when there is no `qstr` (the table set that)
    }
    if let Some(extension) = extension(path) {
        if extension.is_ascii() {
            row.set_str_with(URL_EXTENSION, |out| out.extend(extension.bytes().map(|b| char::from(b.to_ascii_lowercase()))));
        } else {
            row.set_str(URL_EXTENSION, &extension.to_lowercase());
        }
    }
    let scheme = seen.app.and_then(|app| {
        if app.eq_ignore_ascii_case("http") {
            Some("http")
        } else if app.eq_ignore_ascii_case("https") {
            Some("https")
        } else {
            None
        }
    });
    if let Some(scheme) = scheme {
        row.set_str(URL_SCHEME, scheme);
        row.set_str_with(URL_FULL, |full| {
            full.push_str(scheme);
            full.push_str("://");
            full.push_str(domain);
            full.push_str(path);
            if let Some(query) = query {
                full.push('?');
                full.push_str(query);
            }
        });
    }
    if !row.is_set(RELATED_HOSTS) {
        row.set_list(RELATED_HOSTS, [domain]);
    }
}

/// The extension of the path's last segment: after its last `.`, when it has one and does not
/// end with it (`/a/b.CSS` → `CSS`; `/a.b/c`, `/a/b.` → none).
fn extension(path: &str) -> Option<&str> {
    let last = path.rsplit('/').next().unwrap_or(path);
    if last.ends_with('.') {
        return None;
    }
    last.rsplit_once('.').map(|(_, ext)| ext)
}
