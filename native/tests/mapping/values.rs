//! One-event cases of value handling: unknown keys and labels, empty and quoted values, values
//! that do not convert, IPv6 zone ids, lines that are not UTF-8, long or partial, duplicate keys;
//! each a line as version 1 mapped it, with its document and counters.

use serde_json::json;

use crate::support::check;

/// Unknown keys (`imperva.waf.extensions`, counted), custom labels that differ from Imperva's
/// (`imperva.waf.labels`, an empty one included), an `act` outside the known set (counted).
#[test]
fn unknown_keys_and_labels() {
    check("unknown_keys_and_labels", UNKNOWN_KEYS_AND_LABELS, |_| {});
}

pub(crate) const UNKNOWN_KEYS_AND_LABELS: &str = r####"{
  "record":{"format":"cef","ext":[["foobar","1"],["cs12","kept"],["cs12label","Twelve"],["cs1","NA"],["cs1label","Captcha"],["cs2","true"],["cs2label","Javascript Support"],["flexstring1","y"],["cs9label",""],["cs4label","VID"],["act","REQ_SOMETHING_NEW"],["start","1718000000123"],["request","h.example/"],["app","HTTP"],["cn2","7"],["cn2label","Count"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fooBar=1 cs12=kept cs12Label=Twelve cs1=NA cs1Label=Captcha cs2=true cs2Label=Javascript Support flexString1=y cs9Label= cs4Label=VID act=REQ_SOMETHING_NEW start=1718000000123 request=h.example/ app=HTTP cn2=7 cn2Label=Count",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"unknown_key":5,"unknown_action":1,"events":1},
  "expected":{"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","action":"req-something-new","outcome":"failure","category":["web"],"type":["access"],"original":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fooBar=1 cs12=kept cs12Label=Twelve cs1=NA cs1Label=Captcha cs2=true cs2Label=Javascript Support flexString1=y cs9Label= cs4Label=VID act=REQ_SOMETHING_NEW start=1718000000123 request=h.example/ app=HTTP cn2=7 cn2Label=Count"},"url":{"original":"h.example/","domain":"h.example","path":"/","scheme":"http","full":"http://h.example/"},"@timestamp":"2024-06-10T06:13:20.123Z","network":{"application":"http","protocol":"http"},"related":{"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"cs12":"kept","client":{"captcha_support":"NA","javascript_support":true},"action":"REQ_SOMETHING_NEW","start":"2024-06-10T06:13:20.123Z","request":"h.example/","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","action_class":"denied","timestamp_source":"start","labels":{"cs1":"Captcha","cs9":""},"extensions":{"foobar":"1","cs12label":"Twelve","flexstring1":"y","cn2":"7","cn2label":"Count"},"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Empty values are left out (an empty label is not: it differs from Imperva's).
#[test]
fn empty_values() {
    check("empty_values", EMPTY_VALUES, |_| {});
}

const EMPTY_VALUES: &str = r####"{
  "record":{"format":"cef","ext":[["cs9",""],["src",""],["cs1label",""],["request",""],["act",""],["ver",""],["requestclientapplication",""],["cs7",""],["xff",""],["foo",""]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"unknown_key":1,"events":1},
  "expected":{"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.000Z","observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"file_start_time","labels":{"cs1":""},"extensions":{"foo":""},"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Whole-value quotes go from the user agent, referrer, city and customer only, and only when
/// they are the value's only two quotes.
#[test]
fn whole_value_quotes() {
    check("whole_value_quotes", WHOLE_VALUE_QUOTES, |_| {});
}

const WHOLE_VALUE_QUOTES: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","1718000000123"],["request","h.example/x"],["app","HTTP"],["requestclientapplication","\"curl/8.0\""],["ref","\"https://r.example/\""],["cicode","\"Paris\""],["customer","\"a\"b\""],["suser","\"kept\""],["cs6","\""]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","geo":{"city_name":"Paris"},"address":"10.1.2.3"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"user_agent":{"name":"curl","version":"8.0","device":{"name":"Other"},"original":"curl/8.0"},"http":{"request":{"referrer":"https://r.example/"}},"@timestamp":"2024-06-10T06:13:20.123Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"2024-06-10T06:13:20.123Z","request":"h.example/x","protocol":"HTTP","client":{"user_agent":"curl/8.0","app":"\""},"referrer":"https://r.example/","city":"Paris","account":{"name":"\"a\"b\""},"suser":"\"kept\"","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Values that do not convert: raw text under `imperva.waf.invalid`, one warning each.
/// Intended difference 5: a `long` beyond 64 bits (`cpt`) is invalid; version 1 stored 1e20.
#[test]
fn invalid_values() {
    check("invalid_values", INVALID_VALUES, |e| {
        e.remove("source.port");
        e.remove("imperva.waf.client_port");
        e.set("imperva.waf.invalid.cpt", json!("99999999999999999999"));
        e.insert_warning(1, "cpt: '99999999999999999999' is out of range for a long");
        e.bump("invalid_value", 1);
    });
}

const INVALID_VALUES: &str = r####"{
  "record":{"format":"cef","ext":[["cn1","abc"],["cpt","99999999999999999999"],["cs2","maybe"],["cs3"," TRUE "],["cs7","nan"],["cs8","1e999"],["in","1_000"],["spt"," 8_443 "],["start","abc"],["src","not-an-ip"],["sip","999.1.1.1"],["caip","[2001:DB8::1]"],["cs10","{bad"],["cn1x","z"],["end",""],["request","h.example/x"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"invalid_value":8,"unknown_key":1,"events":1},
  "expected":{"source":{"port":99999999999999999999},"url":{"original":"h.example/x","domain":"h.example","path":"/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.000Z","related":{"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_port":99999999999999999999,"client":{"cookie_support":true},"content_length":1000,"origin_port":8443,"ca_ip":"2001:db8::1","request":"h.example/x","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"file_start_time","extensions":{"cn1x":"z"},"invalid":{"cn1":"abc","cs2":"maybe","cs7":"nan","cs8":"1e999","start":"abc","src":"not-an-ip","sip":"999.1.1.1","cs10":"{bad"},"warnings":["cn1: invalid literal for int() with base 10: 'abc'","cs2: 'maybe' is not true/false","cs7: 'nan' is not a finite number","cs8: '1e999' is not a finite number","start: 'abc' is not epoch milliseconds","src: 'not-an-ip' is not an IP address","sip: '999.1.1.1' is not an IP address","cs10: not valid JSON (kept as text)"],"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 4: an IPv6 zone id is dropped from `ip` fields (raw text under
/// `imperva.waf.invalid`, a warning, counted); in an XFF chain a zoned member is a bad member.
#[test]
fn ipv6_zone_ids() {
    check("ipv6_zone_ids", IPV6_ZONE_IDS, |e| {
        for f in ["source.ip", "source.address", "imperva.waf.client_ip"] {
            e.set(f, json!("fe80::1"));
        }
        for f in ["destination.ip", "destination.address", "imperva.waf.origin_ip"] {
            e.set(f, json!("fe80::2"));
        }
        e.set("imperva.waf.ca_ip", json!("fe80::3"));
        e.set("imperva.waf.xff", json!(["10.0.0.1"]));
        e.set("network.forwarded_ip", json!(["10.0.0.1"]));
        e.set("related.ip", json!(["fe80::2", "fe80::1", "10.0.0.1"]));
        e.set(
            "imperva.waf.invalid",
            json!({"src": "fe80::1%eth0", "sip": "FE80::2%1", "caip": "fe80::3%x", "xff": "fe80::4%eth0, 10.0.0.1"}),
        );
        let zoned =
            "is an IPv6 address with a zone id, which an ip field cannot hold; the address is kept without the zone";
        e.warnings(&[
            format!("src: 'fe80::1%eth0' {zoned}"),
            format!("sip: 'FE80::2%1' {zoned}"),
            format!("caip: 'fe80::3%x' {zoned}"),
            "xff: not IP addresses: fe80::4%eth0".to_owned(),
        ]);
        e.bump("invalid_value", 4);
    });
}

const IPV6_ZONE_IDS: &str = r####"{
  "record":{"format":"cef","ext":[["src","fe80::1%eth0"],["start","1718000000123"],["request","h.example/x"],["app","HTTP"],["sip","FE80::2%1"],["caip","fe80::3%x"],["xff","fe80::4%eth0, 10.0.0.1"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"fe80::1%eth0","address":"fe80::1%eth0"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"network":{"forwarded_ip":["fe80::4%eth0","10.0.0.1"],"application":"http","protocol":"http"},"@timestamp":"2024-06-10T06:13:20.123Z","destination":{"ip":"fe80::2%1","address":"fe80::2%1"},"related":{"ip":["fe80::2%1","fe80::1%eth0","fe80::4%eth0","10.0.0.1"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"fe80::1%eth0","start":"2024-06-10T06:13:20.123Z","request":"h.example/x","protocol":"HTTP","origin_ip":"fe80::2%1","ca_ip":"fe80::3%x","xff":["fe80::4%eth0","10.0.0.1"],"event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// A line that is not UTF-8: replaced text in `event.original`, the bytes in
/// `imperva.waf.original_base64`, a warning, counted.
#[test]
fn line_not_utf8() {
    check("line_not_utf8", LINE_NOT_UTF8, |_| {});
}

pub(crate) const LINE_NOT_UTF8: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","1718000000123"],["request","h.example/x"],["app","HTTP"],["requestclientapplication","Bad��Agent"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 request=h.example/x app=HTTP requestClientApplication=Bad��Agent",
  "facts":{"line_no":3,"ordinal":0,"offset":120,"full_length":0,"full_hash":"","partial":false,"raw_hex":"4345463a307c496e63617073756c617c5349454d696e746567726174696f6e7c317c317c4e6f726d616c7c307c207372633d31302e312e322e332073746172743d3137313830303030303031323320726571756573743d682e6578616d706c652f78206170703d485454502072657175657374436c69656e744170706c69636174696f6e3d426164fffe4167656e74"},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"warning_non_utf8":1,"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 request=h.example/x app=HTTP requestClientApplication=Bad��Agent"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"user_agent":{"name":"Other","device":{"name":"Other"},"original":"Bad��Agent"},"@timestamp":"2024-06-10T06:13:20.123Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"2024-06-10T06:13:20.123Z","request":"h.example/x","protocol":"HTTP","client":{"user_agent":"Bad��Agent"},"event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","warnings":["line is not valid UTF-8; undecodable bytes replaced with U+FFFD"],"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":3,"ordinal":0},"original_base64":"Q0VGOjB8SW5jYXBzdWxhfFNJRU1pbnRlZ3JhdGlvbnwxfDF8Tm9ybWFsfDB8IHNyYz0xMC4xLjIuMyBzdGFydD0xNzE4MDAwMDAwMTIzIHJlcXVlc3Q9aC5leGFtcGxlL3ggYXBwPUhUVFAgcmVxdWVzdENsaWVudEFwcGxpY2F0aW9uPUJhZP/+QWdlbnQ="}},"log":{"offset":120,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// A line with control characters: kept, warned, counted.
#[test]
fn line_control_chars() {
    check("line_control_chars", LINE_CONTROL_CHARS, |_| {});
}

pub(crate) const LINE_CONTROL_CHARS: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","1718000000123"],["suser","a\u0001b"],["request","h.example/x"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 suser=a\u0001b request=h.example/x\r",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"warning_control_chars":1,"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 suser=a\u0001b request=h.example/x\r"},"url":{"original":"h.example/x","domain":"h.example","path":"/x"},"@timestamp":"2024-06-10T06:13:20.123Z","related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"2024-06-10T06:13:20.123Z","suser":"a\u0001b","request":"h.example/x","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","warnings":["line holds control characters (kept)"],"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// A line over `max_line_bytes`: `imperva.waf.line_truncated`, a warning, counted.
#[test]
fn line_long() {
    check("line_long", LINE_LONG, |_| {});
}

pub(crate) const LINE_LONG: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","1718000000123"],["request","h.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 request=h.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":5000000,"full_hash":"abababababababababababababababababababababababababababababababab","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"warning_long_line":1,"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 request=h.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"url":{"original":"h.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","domain":"h.example","path":"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"@timestamp":"2024-06-10T06:13:20.123Z","related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"2024-06-10T06:13:20.123Z","request":"h.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","warnings":["line of 5000000 bytes exceeds max_line_bytes; decoded from its first 137 bytes"],"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0},"line_truncated":{"length":5000000,"sha256":"abababababababababababababababababababababababababababababababab"}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Every line warning at once, after the decoder's and before the mapping's, in version 1's
/// order; a partial file.
#[test]
fn line_partial_every_warning() {
    check("line_partial_every_warning", LINE_PARTIAL_EVERY_WARNING, |_| {});
}

pub(crate) const LINE_PARTIAL_EVERY_WARNING: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","1718000000123"],["cs4","a=b"],["cn1","x"],["request","h.example/\u0002�"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":["malformed value for cs4 at column 85: unescaped '=' kept in the value"]},
  "text":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 cs4=a=b cn1=x request=h.example/\u0002�",
  "facts":{"line_no":7,"ordinal":0,"offset":999,"full_length":2000000,"full_hash":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","partial":true,"raw_hex":"4345463a307c496e63617073756c617c5349454d696e746567726174696f6e7c317c317c4e6f726d616c7c307c207372633d31302e312e322e332073746172743d31373138303030303030313233206373343d613d6220636e313d7820726571756573743d682e6578616d706c652f02c3"},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"warning_non_utf8":1,"warning_control_chars":1,"warning_long_line":1,"invalid_value":1,"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3 start=1718000000123 cs4=a=b cn1=x request=h.example/\u0002�"},"url":{"original":"h.example/\u0002�","domain":"h.example","path":"/\u0002�"},"@timestamp":"2024-06-10T06:13:20.123Z","related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"2024-06-10T06:13:20.123Z","client":{"visitor_id":"a=b"},"request":"h.example/\u0002�","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","invalid":{"cn1":"x"},"warnings":["malformed value for cs4 at column 85: unescaped '=' kept in the value","line is not valid UTF-8; undecodable bytes replaced with U+FFFD","line holds control characters (kept)","line of 2000000 bytes exceeds max_line_bytes; decoded from its first 113 bytes","cn1: invalid literal for int() with base 10: 'x'"],"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":7,"ordinal":0,"partial":true},"original_base64":"Q0VGOjB8SW5jYXBzdWxhfFNJRU1pbnRlZ3JhdGlvbnwxfDF8Tm9ybWFsfDB8IHNyYz0xMC4xLjIuMyBzdGFydD0xNzE4MDAwMDAwMTIzIGNzND1hPWIgY24xPXggcmVxdWVzdD1oLmV4YW1wbGUvAsM=","line_truncated":{"length":2000000,"sha256":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}}},"log":{"offset":999,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// A file without path, api id, sequence or compression, whose header holds only `key`
/// (written as `{}`).
#[test]
fn line_bare_context() {
    check("line_bare_context", LINE_BARE_CONTEXT, |_| {});
}

pub(crate) const LINE_BARE_CONTEXT: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"odd.log","path":null,"format":"cef","header":[["key","x"]],"api_id":null,"seq":null,"compression":"","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=10.1.2.3"},"@timestamp":"2024-06-10T06:20:00.000Z","related":{"ip":["10.1.2.3"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"ingest_time","file":{"name":"odd.log","format":"cef","header":{},"encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0}}
}"####;

/// Repeated keys (`imperva.waf.duplicates`) and a syslog prefix.
#[test]
fn duplicates_and_syslog_prefix() {
    check("duplicates_and_syslog_prefix", DUPLICATES_AND_SYSLOG_PREFIX, |_| {});
}

pub(crate) const DUPLICATES_AND_SYSLOG_PREFIX: &str = r####"{
  "record":{"format":"cef","ext":[["src","1.1.1.1"],["cs9","a"],["request","h/x?q=1"],["start","1718000000123"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":"<14>Jun 10 06:00:00 host","dups":[["src",["1.1.1.1","2.2.2.2"]],["cs9",["a","b"]]],"warnings":["malformed value for request at column 121: unescaped '=' kept in the value"]},
  "text":"<14>Jun 10 06:00:00 host CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=1.1.1.1 src=2.2.2.2 cs9=a cs9=b request=h/x?q=1 start=1718000000123",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"1.1.1.1","address":"1.1.1.1"},"url":{"original":"h/x?q=1","domain":"h","path":"/x","query":"q=1"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"<14>Jun 10 06:00:00 host CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| src=1.1.1.1 src=2.2.2.2 cs9=a cs9=b request=h/x?q=1 start=1718000000123"},"rule":{"name":"a"},"@timestamp":"2024-06-10T06:13:20.123Z","related":{"ip":["1.1.1.1"],"hosts":["h"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"1.1.1.1","rule_names":["a"],"request":"h/x?q=1","start":"2024-06-10T06:13:20.123Z","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","duplicates":{"src":["1.1.1.1","2.2.2.2"],"cs9":["a","b"]},"syslog_prefix":"<14>Jun 10 06:00:00 host","warnings":["malformed value for request at column 121: unescaped '=' kept in the value"],"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;
