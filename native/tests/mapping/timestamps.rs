//! One-event cases of `@timestamp`: which source gives it (`start`, the file's start time, the
//! ingest time, W3C's `date`/`time`) and the values that are no plausible time, each a line as
//! version 1 mapped it, with its document and counters.

use serde_json::json;

use crate::support::{check, implausible};

/// `@timestamp` from `start`.
#[test]
fn ts_start() {
    check("ts_start", TS_START, |_| {});
}

const TS_START: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","1718000000123"],["request","h.example/x"],["app","HTTP"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"start":"2024-06-10T06:13:20.123Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"@timestamp":"2024-06-10T06:13:20.123Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"2024-06-10T06:13:20.123Z","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// No `start`: the header's `startTime`.
#[test]
fn ts_file_start_time() {
    check("ts_file_start_time", TS_FILE_START_TIME, |_| {});
}

const TS_FILE_START_TIME: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"file_start_time","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// No `start`, no header: the ingest time.
#[test]
fn ts_ingest_time() {
    check("ts_ingest_time", TS_INGEST_TIME, |_| {});
}

const TS_INGEST_TIME: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:20:00.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"ingest_time","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 2: a 10-digit header `startTime` is not a plausible epoch-ms time;
/// version 1 read it as milliseconds (January 1970). The ingest time is used.
#[test]
fn ts_header_start_time_in_seconds() {
    check("ts_header_start_time_in_seconds", TS_HEADER_START_TIME_IN_SECONDS, |e| {
        e.set("@timestamp", json!("2024-06-10T06:20:00.000Z"));
        e.set("imperva.waf.timestamp_source", json!("ingest_time"));
    });
}

const TS_HEADER_START_TIME_IN_SECONDS: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"1970-01-20T21:13:20.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"file_start_time","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// A header `startTime` with a blank is not used (as in version 1).
#[test]
fn ts_header_start_time_not_digits() {
    check("ts_header_start_time_not_digits", TS_HEADER_START_TIME_NOT_DIGITS, |_| {});
}

const TS_HEADER_START_TIME_NOT_DIGITS: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime"," 1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:20:00.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"ingest_time","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":" 1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 1: 10-digit `start`/`end` are invalid (version 1 read seconds).
#[test]
fn ts_start_in_seconds() {
    check("ts_start_in_seconds", TS_START_IN_SECONDS, |e| {
        for f in ["event.start", "event.end", "imperva.waf.start", "imperva.waf.end"] {
            e.remove(f);
        }
        e.set("imperva.waf.timestamp_source", json!("file_start_time"));
        e.set("imperva.waf.invalid", json!({"start": "1718000000", "end": "1718000001"}));
        e.warnings(&[implausible("start", "1718000000"), implausible("end", "1718000001")]);
        e.bump("invalid_value", 2);
    });
}

const TS_START_IN_SECONDS: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","1718000000"],["request","h.example/x"],["app","HTTP"],["end","1718000001"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"start":"2024-06-10T06:13:20.000Z","end":"2024-06-10T06:13:21.000Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"@timestamp":"2024-06-10T06:13:20.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"2024-06-10T06:13:20.000Z","request":"h.example/x","protocol":"HTTP","end":"2024-06-10T06:13:21.000Z","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 1: a `start` past 2100 is invalid (version 1 accepted up to year 9999).
#[test]
fn ts_start_far_future() {
    check("ts_start_far_future", TS_START_FAR_FUTURE, |e| {
        e.remove("event.start");
        e.remove("imperva.waf.start");
        e.set("@timestamp", json!("2024-06-10T06:13:20.000Z"));
        e.set("imperva.waf.timestamp_source", json!("file_start_time"));
        e.set("imperva.waf.invalid", json!({"start": "99999999999999"}));
        e.warnings(&[implausible("start", "99999999999999")]);
        e.bump("invalid_value", 1);
    });
}

const TS_START_FAR_FUTURE: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["start","99999999999999"],["request","h.example/x"],["app","HTTP"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"event":{"start":"5138-11-16T09:46:39.999Z","dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"@timestamp":"5138-11-16T09:46:39.999Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","start":"5138-11-16T09:46:39.999Z","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"start","file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// A CEF record with `date`/`time` keys and no `start`: version 1 took them as the timestamp
/// whatever the format (and kept them as extensions); so does the native mapping.
#[test]
fn ts_cef_date_time_keys() {
    check("ts_cef_date_time_keys", TS_CEF_DATE_TIME_KEYS, |_| {});
}

const TS_CEF_DATE_TIME_KEYS: &str = r####"{
  "record":{"format":"cef","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","2024-06-10"],["time","06:13:20"]],"vendor":"Incapsula","product":"SIEMintegration","version":"1","signature":"1","name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"cef","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"unknown_key":2,"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","code":"1","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf","version":"1"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"signature_id":"1","timestamp_source":"date_time","extensions":{"date":"2024-06-10","time":"06:13:20"},"file":{"name":"1234_56.log","format":"cef","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// W3C `date` + `time`.
#[test]
fn ts_w3c_date_time() {
    check("ts_w3c_date_time", TS_W3C_DATE_TIME, |_| {});
}

const TS_W3C_DATE_TIME: &str = r####"{
  "record":{"format":"w3c","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","2024-06-10"],["time","06:13:20"]],"vendor":"Incapsula","product":null,"version":null,"signature":null,"name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"w3c","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"timestamp_source":"date_time","file":{"name":"1234_56.log","format":"w3c","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 3: a W3C time with a fraction is written in the one time form.
#[test]
fn ts_w3c_fraction() {
    check("ts_w3c_fraction", TS_W3C_FRACTION, |e| {
        e.set("@timestamp", json!("2024-06-10T06:13:20.500Z"));
    });
}

const TS_W3C_FRACTION: &str = r####"{
  "record":{"format":"w3c","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","2024-06-10"],["time","06:13:20.5"]],"vendor":"Incapsula","product":null,"version":null,"signature":null,"name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"w3c","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.5Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"timestamp_source":"date_time","file":{"name":"1234_56.log","format":"w3c","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 3: `hello`/`world` is no time (version 1 wrote `helloTworldZ`): both
/// invalid, warned, and the timestamp falls back to the header's `startTime`.
#[test]
fn ts_w3c_bad_both() {
    check("ts_w3c_bad_both", TS_W3C_BAD_BOTH, |e| {
        e.set("@timestamp", json!("2024-06-10T06:13:20.000Z"));
        e.set("imperva.waf.timestamp_source", json!("file_start_time"));
        e.set("imperva.waf.invalid", json!({"date": "hello", "time": "world"}));
        e.warnings(&[
            "date: 'hello' is not a calendar date (expected YYYY-MM-DD, year 0001 to 9999)",
            "time: 'world' is not a time of day (expected HH:MM:SS or HH:MM:SS.mmm, UTC)",
        ]);
        e.bump("invalid_value", 2);
    });
}

const TS_W3C_BAD_BOTH: &str = r####"{
  "record":{"format":"w3c","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","hello"],["time","world"]],"vendor":"Incapsula","product":null,"version":null,"signature":null,"name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"w3c","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"helloTworldZ","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"timestamp_source":"date_time","file":{"name":"1234_56.log","format":"w3c","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 3: `25:00:00` is no time of day.
#[test]
fn ts_w3c_bad_time() {
    check("ts_w3c_bad_time", TS_W3C_BAD_TIME, |e| {
        e.set("@timestamp", json!("2024-06-10T06:13:20.000Z"));
        e.set("imperva.waf.timestamp_source", json!("file_start_time"));
        e.set("imperva.waf.invalid", json!({"time": "25:00:00"}));
        e.warnings(&["time: '25:00:00' is not a time of day (expected HH:MM:SS or HH:MM:SS.mmm, UTC)"]);
        e.bump("invalid_value", 1);
    });
}

const TS_W3C_BAD_TIME: &str = r####"{
  "record":{"format":"w3c","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","2024-06-10"],["time","25:00:00"]],"vendor":"Incapsula","product":null,"version":null,"signature":null,"name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"w3c","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T25:00:00.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"timestamp_source":"date_time","file":{"name":"1234_56.log","format":"w3c","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 3: 2023-02-29 does not exist.
#[test]
fn ts_w3c_bad_date() {
    check("ts_w3c_bad_date", TS_W3C_BAD_DATE, |e| {
        e.set("@timestamp", json!("2024-06-10T06:13:20.000Z"));
        e.set("imperva.waf.timestamp_source", json!("file_start_time"));
        e.set("imperva.waf.invalid", json!({"date": "2023-02-29"}));
        e.warnings(&["date: '2023-02-29' is not a calendar date (expected YYYY-MM-DD, year 0001 to 9999)"]);
        e.bump("invalid_value", 1);
    });
}

const TS_W3C_BAD_DATE: &str = r####"{
  "record":{"format":"w3c","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","2023-02-29"],["time","06:13:20"]],"vendor":"Incapsula","product":null,"version":null,"signature":null,"name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"w3c","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2023-02-29T06:13:20.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"timestamp_source":"date_time","file":{"name":"1234_56.log","format":"w3c","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// A W3C date without a time: the next source, as in version 1.
#[test]
fn ts_w3c_time_missing() {
    check("ts_w3c_time_missing", TS_W3C_TIME_MISSING, |_| {});
}

const TS_W3C_TIME_MISSING: &str = r####"{
  "record":{"format":"w3c","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","2024-06-10"]],"vendor":"Incapsula","product":null,"version":null,"signature":null,"name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"w3c","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.000Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"timestamp_source":"file_start_time","file":{"name":"1234_56.log","format":"w3c","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;

/// Intended difference 3: at most three fraction digits.
#[test]
fn ts_w3c_microseconds() {
    check("ts_w3c_microseconds", TS_W3C_MICROSECONDS, |e| {
        e.set("@timestamp", json!("2024-06-10T06:13:20.000Z"));
        e.set("imperva.waf.timestamp_source", json!("file_start_time"));
        e.set("imperva.waf.invalid", json!({"time": "06:13:20.123456"}));
        e.warnings(&["time: '06:13:20.123456' is not a time of day (expected HH:MM:SS or HH:MM:SS.mmm, UTC)"]);
        e.bump("invalid_value", 1);
    });
}

const TS_W3C_MICROSECONDS: &str = r####"{
  "record":{"format":"w3c","ext":[["src","10.1.2.3"],["request","h.example/x"],["app","HTTP"],["date","2024-06-10"],["time","06:13:20.123456"]],"vendor":"Incapsula","product":null,"version":null,"signature":null,"name":"Normal","severity":"0","format_version":"0","syslog_prefix":null,"dups":[],"warnings":[]},
  "text":"x",
  "facts":{"line_no":1,"ordinal":0,"offset":0,"full_length":0,"full_hash":"","partial":false},
  "ctx":{"name":"1234_56.log","path":"/data/in/1234_56.log","format":"w3c","header":[["accountid","1234"],["configid","12345"],["format","CEF"],["starttime","1718000000000"],["endtime","1718000300000"],["publickeyid","1"],["key","c2VjcmV0LXNlc3Npb24ta2V5"]],"api_id":"1234","seq":56,"compression":"zlib","encrypted":true,"gzip_wrapped":false,"directives":null,"ingest_ms":1718000400000},
  "counters":{"events":1},
  "expected":{"source":{"ip":"10.1.2.3","address":"10.1.2.3"},"url":{"original":"h.example/x","domain":"h.example","path":"/x","scheme":"http","full":"http://h.example/x"},"event":{"dataset":"imperva.waf","module":"imperva","kind":"event","outcome":"unknown","category":["web"],"type":["access"],"original":"x"},"@timestamp":"2024-06-10T06:13:20.123456Z","network":{"application":"http","protocol":"http"},"related":{"ip":["10.1.2.3"],"hosts":["h.example"]},"observer":{"vendor":"Imperva","product":"Cloud WAF","type":"waf"},"ecs":{"version":"8.11.0"},"imperva":{"waf":{"client_ip":"10.1.2.3","request":"h.example/x","protocol":"HTTP","event_name":"Normal","security_event":false,"timestamp_source":"date_time","file":{"name":"1234_56.log","format":"w3c","api_id":"1234","sequence":56,"header":{"accountid":"1234","configid":"12345","format":"CEF","starttime":"1718000000000","endtime":"1718000300000","publickeyid":"1"},"compression":"zlib","encrypted":true,"gzip_wrapped":false,"line":1,"ordinal":0}}},"log":{"offset":0,"file":{"path":"/data/in/1234_56.log"}}}
}"####;
