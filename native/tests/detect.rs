//! Integration tests of format detection and the per-file decoders. First every case of the
//! Python oracle's `tests/decode/test_detect.py`, with the same inputs and expectations; then the
//! branches those cases miss, with expectations taken from the oracle's output.

use _native::decode::detect::{detect_format, make_decoder, FileDecoder};
use _native::decode::{Format, RawRecord};

// The sample lines of tests/decode/samples.py (FORMATS §3, §4), copied by a script.
const S35_SQLI: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|SQL Injection|0| fileId=536000420203633562 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.102 Safari/537.36 deviceFacility=fra cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=3a5239f0-eba1-4d10-9edd-63d078ef11e7 cs4Label=VID cs5=1fa33ee720f821199422001fb69865785b18d140b29684b23ac978ead4910824acce04db7a799841bb033029b4c72b10e33740ea4d2972210f96e3365d25eb25f8148c211177e7e61effce9c12a7de9f1eea71dd57d107a464dfcc54046c78400f9eedd9b846bb0491abe72a4b988e7cd3e7117283cee9f556726334972b7ce9 cs5Label=clappsig dproc=Unclassified cs6=Bot cs6Label=clapp ccode=UA cicode=Kyiv cs7=50.5183 cs7Label=latitude cs8=30.5088 cs8Label=longitude Customer=sanitized_email.com start=1624459989430 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET qstr=e9db863b46KCYodWlkPSopKHVpZD0qKSkofCh1aWQ9KikodXNlclBhc3N3b3JkPXtNRDV9WDAzTU8xcW5aZFlkZ3lmZXVJTFBtUT09KSk app=HTTP act=REQ_BLOCKED_SESSION deviceExternalId=300754127159822978 cpt=63326 src=77.222.131.19 end=1624459989431 fileType=50033 filePermission=666 cs9= cs9Label=Rule name"#;
const LEEF_DOC_SPACES: &str = r#"LEEF:0|Incapsula|SIEMintegration|0|SQL Injection| fileId=3412364560000000008 sourceServiceName=test56111115.incaptest.co siteid=1333546 suid=300656 requestClientApplication=Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Firefox/38.0 popName=mia cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=936e64c2-bdd1-4719-9bd0-2d882a72f30d cs4Label=VID cs5=bab1712be85b00ab21d20bf0d7b5db82701f27f53fbac19a4252efc722ac9131fdc60c0da620282b02dfb8051e7a60f9 cs5Label=clappsig dproc=Browser cs6=Firefox cs6Label=clapp calCountryOrRegion=IL cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=siemtest start=1460303291788 url=test56111115.incaptest.co/ requestMethod=GET qstr=keywords\=3%29%29%29%20AND%203434%3d%28%27%3amvc%3a%27%7c%7c%28SELECT%20CASE%203434%20WHEN%203434%20THEN%201%20ELSE%200%20END%20FROM%20RDB%24DATABASE%29%7c%7c%27%3aqvi%3a%27%29%20AND%20%28%28%283793%3d3793 cn1=200 proto=HTTP cat=REQ_PASSED deviceExternalId=2323800832649 dst=54.195.35.43 dstPort=80 in=406 xff=127.0.0.1 srcPort=443 src=127.0.0.1 protoVer=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 fileType=12999,50999,50037,50044, filePermission=37,20,1,1, cs9=,High Risk SQL Expressions,,SQL SELECT Expression, cs9Label=Rule name"#;
const LEEF_ACCESS_TABS: &str = "LEEF:0|Incapsula|SIEMintegration|0|Normal|\tfileId=438000490120534212\tsourceServiceName=jsc6wzftsr8pj2zk.company.name\tsiteid=61539044\tsuid=1843222\trequestClientApplication=Expanse indexes the network perimeters of our customers. If you have any questions or concerns, please reach out to: sanitized_email.com\tpopName=atl\tcs2=false\tcs2Label=Javascript Support\tcs3=false\tcs3Label=CO Support\tcs1=NA\tcs1Label=Cap Support\tcs4=a5a4c376-25b5-4c45-9ca5-ee62559c9540\tcs4Label=VID\tdproc=Crawler\tcs6=Expanse\tcs6Label=clapp\tcalCountryOrRegion=US\tcicode=Atlanta\tcs7=33.7485\tcs7Label=latitude\tcs8=-84.3871\tcs8Label=longitude\tCustomer=sanitized_email.com\tstart=1624809714018\turl=jsc6wzftsr8pj2zk.company.name/\trequestMethod=GET\tcn1=200\tproto=HTTP\tcat=REQ_CACHED_FRESH\tdeviceExternalId=269605585508764744\tdst=0.0.0.0\tdstPort=0\tin=4591\txff=172.105.147.48\tsrcPort=42709\tsrc=172.105.147.48\tend=1624809714271";

fn hdr(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn detect(header: &[(&str, &str)], first: Option<&str>) -> Option<&'static str> {
    detect_format(&hdr(header), first).map(Format::as_str)
}

fn event<'a>(dec: &mut FileDecoder, line: &'a str) -> RawRecord<'a> {
    match dec.decode(line) {
        Ok(Some(rec)) => rec,
        other => panic!("{line:?} gave {other:?}"),
    }
}

// ---------------------------------------------------------------- test_detect.py, case by case

#[test]
fn header_format_wins() {
    for (header, expected) in [
        (("format", "CEF"), "cef"),
        (("format", " leef "), "leef"),
        (("format", "W3C"), "w3c"),
        (("Format", "LEEF"), "leef"), // the documented spelling (FORMATS §1.3)
    ] {
        assert_eq!(detect(&[header], Some(S35_SQLI)), Some(expected), "{header:?}");
    }
}

#[test]
fn content_decides_without_header() {
    let cef_behind_prefix = format!("<14>Jun 10 06:13:20 host cwaf {S35_SQLI}");
    let leef_behind_prefix = format!("<13>host {LEEF_ACCESS_TABS}");
    for (first, expected) in [
        (S35_SQLI, Some("cef")),
        (cef_behind_prefix.as_str(), Some("cef")),
        (LEEF_ACCESS_TABS, Some("leef")),
        (leef_behind_prefix.as_str(), Some("leef")),
        ("#Software: Incapsula LOGS API", Some("w3c")),
        (r#""2024-06-10" "06:13:20""#, Some("w3c")),
        (r#"{"json": true}"#, None),
        ("", None),
    ] {
        assert_eq!(detect(&[], Some(first)), expected, "{first:?}");
        assert_eq!(detect(&[("format", "JSON")], Some(first)), expected, "{first:?}");
        // an unknown format is no answer
    }
}

#[test]
fn nothing_to_go_on() {
    assert_eq!(detect(&[], None), None);
}

#[test]
fn make_decoder_cases() {
    let mut cef = make_decoder(Format::Cef, &[]);
    assert_eq!(cef.format(), Format::Cef);
    let rec = event(&mut cef, S35_SQLI);
    assert_eq!(rec.format, Some(Format::Cef));
    assert_eq!(rec.get("act"), Some("REQ_BLOCKED_SESSION"));
    // A foreign line in the stream decodes by its own marker rather than failing the file.
    let other = event(&mut cef, LEEF_ACCESS_TABS);
    assert_eq!(other.format, Some(Format::Leef));

    let mut leef = make_decoder(Format::Leef, &[]);
    assert_eq!(leef.format(), Format::Leef);
    let rec = event(&mut leef, LEEF_DOC_SPACES);
    assert_eq!(rec.get("devicefacility"), Some("mia"));
    let aa = event(&mut leef, "CEF:0|Imperva Inc|Attack Analytics|0|1|Bad bots|MAJOR|msg=x");
    assert_eq!(aa.format, Some(Format::Cef));
    assert_eq!(aa.severity.as_deref(), Some("MAJOR"));

    let mut w3c = make_decoder(Format::W3c, &hdr(&[("fields", "c-ip sc-status")]));
    assert_eq!(w3c.format(), Format::W3c);
    assert!(w3c.w3c().is_some());
    let rec = event(&mut w3c, r#""1.2.3.4" "200""#);
    let ext: Vec<(&str, &str)> = rec.ext.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    assert_eq!(ext, [("src", "1.2.3.4"), ("cn1", "200")]);

    let e = FileDecoder::from_name("json", &[]).unwrap_err();
    assert!(e.contains("unknown format 'json'"), "{e}");
}

#[test]
fn decoders_are_independent_per_file() {
    let mut a = make_decoder(Format::W3c, &[]);
    let b = make_decoder(Format::W3c, &[]);
    assert!(a.decode("#Fields: c-ip").unwrap().is_none());
    assert!(a.decode(r#""1.2.3.4""#).unwrap().is_some());
    assert!(b.w3c().expect("a W3C decoder").columns().is_empty());
}

// ----------------------------------------------- branches test_detect.py misses (oracle output)

/// The name `format` is looked up exactly first (even when its value is no answer), then in any
/// case; values are trimmed of Python blanks and compared in any case, ASCII only.
#[test]
fn header_lookup_like_a_python_dict() {
    for (header, expected) in [
        (&[("format", "")][..], None),
        (&[("format", "x"), ("FORMAT", "cef")], None),
        (&[("FORMAT", "cef"), ("Format", "leef")], Some("cef")),
        (&[("fOrMaT", "\u{1c}w3c\u{3000}")], Some("w3c")),
        (&[("format", "céf")], None),
        (&[("format", "CEF\u{0}")], None),
        (&[("formats", "cef")], None),
        (&[("format", "ＣＥＦ")], None),
    ] {
        assert_eq!(detect(header, Some("LEEF")), expected, "{header:?}");
    }
}

/// Python blanks before the marker are skipped; other invisible characters are not.
#[test]
fn content_markers() {
    for (first, expected) in [
        (" \u{1c}#x", Some("w3c")),
        ("\u{3000}LEEF:0|", Some("leef")),
        ("a CEF: LEEF:", Some("cef")),
        ("a LEEF: CEF:", Some("cef")),
        ("\u{feff}#x", None),
        ("\u{200b}#x", None),
        ("LEEF", None),
    ] {
        assert_eq!(detect(&[], Some(first)), expected, "{first:?}");
    }
}

/// The marker must lie within the first 256 characters (not bytes) after the blanks.
#[test]
fn marker_window_counts_characters() {
    for filler in ["x", "é"] {
        assert_eq!(detect(&[], Some(&format!("  {}CEF:", filler.repeat(252)))), Some("cef"));
        assert_eq!(detect(&[], Some(&format!("{}CEF:", filler.repeat(253)))), None);
        assert_eq!(detect(&[], Some(&format!("{}LEEF:", filler.repeat(251)))), Some("leef"));
        assert_eq!(detect(&[], Some(&format!("{}LEEF:", filler.repeat(252)))), None);
    }
}

/// Only a marker at the very start switches decoder; errors come from the file's own format.
#[test]
fn foreign_marker_only_at_line_start() {
    let mut cef = make_decoder(Format::Cef, &[]);
    let e = cef.decode("<13>host LEEF:0|Incapsula|P|0|N| a=b").unwrap_err();
    assert_eq!(e.reason, "line does not contain a CEF header (no 'CEF:' marker)");
    assert_eq!(event(&mut cef, " CEF:0|a|b|c|d|e|f| a=b").format, Some(Format::Cef));
    let mut leef = make_decoder(Format::Leef, &[]);
    let e = leef.decode(" CEF:0|a|b|c|d|e|f| a=b").unwrap_err();
    assert_eq!(e.reason, "line does not contain a LEEF header (no 'LEEF:' marker)");
    assert_eq!(leef.format(), Format::Leef);
    assert!(leef.w3c().is_none() && leef.w3c_mut().is_none());
}

#[test]
fn from_name_is_exact_and_quotes_like_python() {
    assert_eq!(FileDecoder::from_name("leef", &[]).unwrap().format(), Format::Leef);
    assert_eq!(FileDecoder::from_name("W3C", &[]).unwrap_err(), "unknown format 'W3C'; expected one of cef, leef, w3c");
    assert_eq!(
        FileDecoder::from_name("it's", &[]).unwrap_err(),
        "unknown format \"it's\"; expected one of cef, leef, w3c"
    );
    let mut w3c = FileDecoder::from_name("w3c", &hdr(&[("Fields", "c-ip")])).unwrap();
    w3c.w3c_mut().expect("W3C").set_directive("Version", "1.1");
    assert_eq!(event(&mut w3c, "1.2.3.4").format_version.as_deref(), Some("1.1"));
}
