//! Integration tests of the CEF decoder. First every decoder case of the Python oracle's
//! `tests/decode/test_cef.py`, with the same inputs and expectations (its hypothesis properties
//! become seeded loops); then the branches those cases miss, with expectations taken from the
//! oracle's output for the same line.

use _native::decode::cef::{decode_cef, split_extension};
use _native::decode::{DecodeError, Format, RawRecord, Text};
use _native::keys::{FREE_TEXT_KEYS, IMPERVA_KEYS};

const HEAD: &str = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| ";
const GENERIC: &str = "CEF:0|Acme|Box|1.0|100|name|5|";
const KEYLESS_HINT: &str = "extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)";

// The sample lines of tests/decode/samples.py (FORMATS §1.2, §3), copied by a script.
const ELASTIC_LINE: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| sourceServiceName=site123.abcd.info siteid=1509732 suid=50005477 requestClientApplication=Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0 deviceFacility=mia ccode=IL tag=www.elvis.com cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=CEFcustomer123 siteTag=my-site-tag start=1453290121336 request=site123.abcd.info/main.css ref=www.incapsula.com/lama requestmethod=GET cn1=200 app=HTTP deviceExternalID=33411452762204224 in=54 xff=44.44.44.44 cpt=443 src=12.12.12.12 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 end=1566300670892 additionalReqHeaders=[{"Accept":"*/*"},{"x-v":"1"},{"x-fapi-interaction-id":"10.10.10.10"}] additionalResHeaders=[{"Content-Type":"text/html; charset\=UTF-8"}]"#;
const S31_ACCESS_OLD: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| sourceServiceName=site123.abcd.info siteid=1509732 suid=50005477 requestClientApplication=Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0 deviceFacility=mia src=12.12.12.12 caIP=13.13.13.13 ccode=IL tag=www.elvis.com cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=CEFcustomer123 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 start=1453290121336 request=site123.abcd.info/main.css ref=www.incapsula.com/lama requestmethod=GET cn1=200 app=HTTP deviceExternalID=33411452762204224 in=54 xff=44.44.44.44 cpt=443"#;
const S32_CACHE_HIT: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=438000490120534212 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Expanse indexes the network perimeters of our customers. If you have any questions or concerns, please reach out to: sanitized_email.com deviceFacility=atl cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=a5a4c376-25b5-4c45-9ca5-ee62559c9540 cs4Label=VID cs5=27f1a8f2e99bd4a64e1b9b7deaad6c028c0cd935eab7e772d6b541a0817a54f02afdf5ece1cf5aacd2f792b16534eee4 cs5Label=clappsig dproc=Crawler cs6=Expanse cs6Label=clapp ccode=US cicode=Atlanta cs7=33.7485 cs7Label=latitude cs8=-84.3871 cs8Label=longitude Customer=sanitized_email.com start=1624809714018 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET cn1=200 app=HTTP act=REQ_CACHED_FRESH deviceExternalId=269605585508764744 sip=0.0.0.0 spt=0 in=4591 xff=172.105.147.48 cpt=42709 src=172.105.147.48 end=1624809714271"#;
const S33_BROKEN_CONN: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1344000210263575150 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers&#39; presences on the Internet. If you would like to be excluded from our scans, please send IP addresses/domains to: sanitized_email.com deviceFacility=iad cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=acd48a1b-daa0-4ef8-b4d0-9084708bf3a7 cs4Label=VID cs5=3ef4755ba073991770f204961c0d4e188c0cd935eab7e772d6b541a0817a54f02afdf5ece1cf5aacd2f792b16534eee4 cs5Label=clappsig dproc=Developer Tool cs6=Go HTTP library cs6Label=clapp ccode=US cicode=Washington cs7=38.894 cs7Label=latitude cs8=-77.0365 cs8Label=longitude Customer=sanitized_email.com start=1624671299714 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET app=HTTPS act=REQ_BAD_CLIENT_CLOSED_CONNECTION deviceExternalId=963340059111589198 sip=35.156.26.77 spt=8443 xff=33.83.33.23 cpt=39255 src=34.86.35.29 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 end=1624671309677"#;
const S34_SECURITY: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Illegal Resource Access|3| fileId=3412341160002518171 sourceServiceName=site123.abcd.info siteid=1509732 suid=50005477 requestClientApplication=Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0 deviceFacility=mia cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support ccode=IL tag=www.elvis.com cn1=200 in=54 xff=44.44.44.44 cs1=NOT_SUPPORTED cs1Label=Cap Support cs4=c2e72124-0e8a-4dd8-b13b-3da246af3ab2 cs4Label=VID cs5=de3c633ac428e0678f3aac20cf7f239431e54cbb8a17e8302f53653923305e1835a9cd871db32aa4fc7b8a9463366cc4 cs5Label=clappsig dproc=Browser cs6=Firefox cs6Label=clapp ccode=IL cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=CEFcustomer123 siteTag=my-site-tag start=123456789 request=site123.abcd.info/ requestMethod=GET qstr=p\=%2fetc%2fpasswd app=HTTP act=REQ_CHALLENGE_CAPTCHA deviceExternalId=33411452762204224 cpt=443 src=12.12.12.12 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 end=223456789 additionalReqHeaders=[{"Accept":"*/*"},{"x-v":"1"},{"x-fapi-interaction-id":"10.10.10.10"}] additionalResHeaders=[{"Content-Type":"text/html; charset\=UTF-8"}] filetype=30037,1001, filepermission=2,1, cs9=Block Malicious User,High Risk Resources, cs9Label=Rule name cs11=,,[{"api_specification_violation_type":"INVALID_PARAM_NAME","parameter_name":"somename"}] cs11Label=Rule Additional Info"#;
const S35_SQLI: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|SQL Injection|0| fileId=536000420203633562 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.102 Safari/537.36 deviceFacility=fra cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=3a5239f0-eba1-4d10-9edd-63d078ef11e7 cs4Label=VID cs5=1fa33ee720f821199422001fb69865785b18d140b29684b23ac978ead4910824acce04db7a799841bb033029b4c72b10e33740ea4d2972210f96e3365d25eb25f8148c211177e7e61effce9c12a7de9f1eea71dd57d107a464dfcc54046c78400f9eedd9b846bb0491abe72a4b988e7cd3e7117283cee9f556726334972b7ce9 cs5Label=clappsig dproc=Unclassified cs6=Bot cs6Label=clapp ccode=UA cicode=Kyiv cs7=50.5183 cs7Label=latitude cs8=30.5088 cs8Label=longitude Customer=sanitized_email.com start=1624459989430 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET qstr=e9db863b46KCYodWlkPSopKHVpZD0qKSkofCh1aWQ9KikodXNlclBhc3N3b3JkPXtNRDV9WDAzTU8xcW5aZFlkZ3lmZXVJTFBtUT09KSk app=HTTP act=REQ_BLOCKED_SESSION deviceExternalId=300754127159822978 cpt=63326 src=77.222.131.19 end=1624459989431 fileType=50033 filePermission=666 cs9= cs9Label=Rule name"#;
const S36_ELASTIC_XFF: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|3| fileid=3412341160002518171 sourceServiceName=site123.abcd.info sip=10.1.0.1 spt=80 siteid=1509732 suid=50005477 requestClientApplication=Mozilla/6.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0 deviceFacility=mia cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support ccode=IL tag=www.elvis.com cn1=200 in=54 xff=1.128.0.0, 81.2.69.144 cs1=NOT_SUPPORTED cs1Label=Cap Support cs4=c2e72124-0e8a-4dd8-b13b-3da246af3ab2 cs4Label=VID cs5=de3c633ac428e0678f3aac20cf7f239431e54cbb8a17e8302f53653923305e1835a9cd871db32aa4fc7b8a9463366cc4 cs5Label=clappsig dproc=Browser cs6=Firefox cs6Label=clapp ccode=IL cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=CEFcustomer123 siteTag=my-site-tag start=1453290121336 request=site123.abcd.info/ requestmethod=GET qstr=p\=%2fetc%2fpasswd app=HTTP act=REQ_CHALLENGE_CAPTCHA deviceExternalID=33411452762204224 cpt=443 src=1.128.0.1 ver=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 end=1566300670892 additionalReqHeaders=[{"Accept":"*/*"},{"x-v":"1"},{"x-fapi-interaction-id":"10.10.10.10"}] additionalResHeaders=[{"Content-Type":"text/html; charset\=UTF-8"}] filetype=30037,1001, filepermission=2,1, cs9=Block Malicious User,High Risk Resources, cs9Label=Rule name cs11=[{"api_specification_violation_type":"INVALID_PARAM_NAME","parameter_name":"somename"}] cs11Label=Rule Additional Info"#;
const S37_CS10_JSON: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1234567890123456789 sourceServiceName=example.com siteid=1234567 suid=123456 requestClientApplication="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.0.0 Safari/537.36 Edg/99.0.0.0" deviceFacility=abc cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support ccode=US cs7=37.751 cs7Label=latitude cs8=-97.822 cs8Label=longitude Customer=ExampleCustomer start=1720396716929 request=example.com/path/to/resource ref=https://example.com/path/to/referrer requestMethod=GET cn1=200 app=HTTPS act=REQ_CACHED_VALIDATED deviceExternalId=12345678901234567 sip=123.123.123.123 spt=443 in=451 xff=123.123.123.123 cs10=[{"rule_id":"1234567","type":"AD_HEADER_RW","header_name":"Content-Security-Policy","header_rewrite":"frame-ancestors 'self' https://example.com http://example.com https://test.2example.com https://test1.example.com https://test0.example.com"}] cs10Label=Rule Info cpt=10401 src=123.123.123.123 ver=TLSv1.3 TLS_AES_128_GCM_SHA256 end=1720396717135"#;
const S38_IPV6: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1510000220019876543 sourceServiceName=shop.example.com siteid=12345678 suid=1234567 requestClientApplication=Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 deviceFacility=fra cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=0f6c3c1e-2b7a-4d6e-9a51-3f2d8c7b9e10 cs4Label=VID cs5=5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592 cs5Label=clappsig dproc=Browser cs6=Safari cs6Label=clapp ccode=DE cicode=Frankfurt am Main cs7=50.1155 cs7Label=latitude cs8=8.6842 cs8Label=longitude Customer=Example Corp start=1718000000123 request=shop.example.com/api/cart requestMethod=POST cn1=201 app=HTTPS act=REQ_PASSED deviceExternalId=512340987654321098 sip=2001:db8:10::25 spt=443 in=512 xff=2001:db8:abcd::17, 198.51.100.23 cpt=52144 src=2001:db8:abcd::17 ver=TLSv1.3 TLS_AES_256_GCM_SHA384 end=1718000000187 additionalReqHeaders=[{"Content-Type":"application/json"},{"X-Request-Id":"a1b2c3"}] additionalResHeaders=[{"Content-Type":"application/json; charset\=utf-8"}]"#;
const S39_UNCLOSED_QUOTE: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|IncapRules(Temp_dump)|11|fileId=1415000720207605958 siteid=37659315 suid=1843258 requestClientApplication="Xpanse-bot deviceFacility=den ccode=US start=1788660690618 request=redacted.co.id/ requestMethod=GET app=HTTPS act=REQ_BLOCKED_SECURITY deviceExternalId=82528629909033475 cpt=24804 src=xxx.xxx.31.120 end=1788660690623 cs10=[{""rule_id"":""4709724""}]"#;
const CEF_SAMPLES: [(&str, &str); 10] = [
    ("ELASTIC_LINE", ELASTIC_LINE),
    ("S31_ACCESS_OLD", S31_ACCESS_OLD),
    ("S32_CACHE_HIT", S32_CACHE_HIT),
    ("S33_BROKEN_CONN", S33_BROKEN_CONN),
    ("S34_SECURITY", S34_SECURITY),
    ("S35_SQLI", S35_SQLI),
    ("S36_ELASTIC_XFF", S36_ELASTIC_XFF),
    ("S37_CS10_JSON", S37_CS10_JSON),
    ("S38_IPV6", S38_IPV6),
    ("S39_UNCLOSED_QUOTE", S39_UNCLOSED_QUOTE),
];

fn imperva(ext: &str) -> String {
    format!("{HEAD}{ext}")
}

fn generic(ext: &str) -> String {
    format!("{GENERIC}{ext}")
}

/// The record, owned (so tests may decode temporaries).
fn dec(line: &str) -> RawRecord<'static> {
    decode_cef(line).unwrap_or_else(|e| panic!("{line:?} failed: {e}")).into_owned()
}

type Pair = (Text<'static>, Text<'static>);

fn err(line: &str) -> DecodeError {
    match decode_cef(line) {
        Ok(rec) => panic!("{line:?} decoded: {rec:?}"),
        Err(e) => e,
    }
}

fn get<'a>(rec: &'a RawRecord, key: &str) -> &'a str {
    rec.get(key).unwrap_or_else(|| panic!("no {key} in {:?}", rec.ext))
}

fn pairs(items: &[(&str, &str)]) -> Vec<Pair> {
    items.iter().map(|(k, v)| (k.to_string().into(), v.to_string().into())).collect()
}

/// `split_extension` with pairs comparable to [`pairs`].
fn split_ext(ext: &str, imperva: bool) -> Result<Vec<Pair>, DecodeError> {
    split_extension(ext, imperva).map(|p| p.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
}

fn ext(line: &str) -> Vec<Pair> {
    dec(line).ext
}

fn header<'a>(rec: &'a RawRecord<'_>) -> [Option<&'a str>; 8] {
    [
        rec.vendor.as_deref(),
        rec.product.as_deref(),
        rec.version.as_deref(),
        rec.signature.as_deref(),
        rec.name.as_deref(),
        rec.severity.as_deref(),
        rec.format_version.as_deref(),
        rec.syslog_prefix.as_deref(),
    ]
}

// --- FORMATS samples -------------------------------------------------------------------------

#[test]
fn every_sample_decodes_cleanly() {
    for (name, line) in CEF_SAMPLES {
        let rec = dec(line);
        let split = split_ext(line.splitn(8, '|').nth(7).unwrap(), true).unwrap();
        assert_eq!(rec.format, Some(Format::Cef), "{name}");
        assert_eq!((rec.vendor.as_deref(), rec.product.as_deref()), (Some("Incapsula"), Some("SIEMintegration")));
        assert!(rec.warnings.is_empty(), "{name}: {:?}", rec.warnings);
        assert_eq!(rec.syslog_prefix, None);
        // Every unescaped '=' of a sample separates a key: nothing glued, nothing lost.
        assert_eq!(split.len(), line.matches('=').count() - line.matches("\\=").count(), "{name}");
        for (key, _) in &split {
            assert!(rec.get(&key.to_lowercase()).is_some(), "{name}: {key}");
        }
    }
}

#[test]
fn elastic_container_line() {
    let rec = dec(ELASTIC_LINE);
    assert_eq!(
        (rec.name.as_deref(), rec.severity.as_deref(), rec.signature.as_deref()),
        (Some("Normal"), Some("0"), Some("1"))
    );
    assert_eq!((rec.version.as_deref(), rec.format_version.as_deref()), (Some("1"), Some("0")));
    assert_eq!(get(&rec, "sourceservicename"), "site123.abcd.info");
    assert_eq!(
        get(&rec, "requestclientapplication"),
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0"
    );
    assert_eq!(get(&rec, "ver"), "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    assert_eq!(get(&rec, "requestmethod"), "GET");
    assert_eq!(get(&rec, "deviceexternalid"), "33411452762204224");
    assert_eq!((get(&rec, "cs7label"), get(&rec, "cs8")), ("latitude", "34.8186"));
    assert_eq!(get(&rec, "customer"), "CEFcustomer123");
    assert_eq!(
        get(&rec, "additionalreqheaders"),
        r#"[{"Accept":"*/*"},{"x-v":"1"},{"x-fapi-interaction-id":"10.10.10.10"}]"#
    );
    // \= un-escaped
    assert_eq!(get(&rec, "additionalresheaders"), r#"[{"Content-Type":"text/html; charset=UTF-8"}]"#);
    assert_eq!(get(&rec, "end"), "1566300670892"); // the last value loses nothing
    assert!(rec.dups.is_empty());
    assert_eq!(rec.ext.len(), 29);
}

#[test]
fn s31_older_access_example() {
    let rec = dec(S31_ACCESS_OLD);
    assert_eq!(get(&rec, "caip"), "13.13.13.13"); // kept although undocumented
    assert_eq!(get(&rec, "requestmethod"), "GET"); // `requestmethod` spelling
    assert_eq!(get(&rec, "deviceexternalid"), "33411452762204224"); // `deviceExternalID`
    assert_eq!(get(&rec, "cpt"), "443");
    assert!(rec.get("fileid").is_none() && rec.get("end").is_none());
}

#[test]
fn s32_cache_hit() {
    let rec = dec(S32_CACHE_HIT);
    assert_eq!((get(&rec, "sip"), get(&rec, "spt"), get(&rec, "act")), ("0.0.0.0", "0", "REQ_CACHED_FRESH"));
    assert!(get(&rec, "requestclientapplication").ends_with("please reach out to: sanitized_email.com"));
    assert_eq!(get(&rec, "cs8"), "-84.3871");
    assert_eq!(get(&rec, "dproc"), "Crawler");
}

#[test]
fn s33_broken_connection_keeps_html_entity() {
    let rec = dec(S33_BROKEN_CONN);
    assert!(get(&rec, "requestclientapplication").contains("customers&#39; presences")); // §2.6 #10
    assert!(rec.get("cn1").is_none() && rec.get("in").is_none()); // quirk #15
    assert_eq!(get(&rec, "act"), "REQ_BAD_CLIENT_CLOSED_CONNECTION");
    assert_eq!((get(&rec, "dproc"), get(&rec, "cs6")), ("Developer Tool", "Go HTTP library"));
}

#[test]
fn s34_security_example_duplicate_ccode_and_lists() {
    let rec = dec(S34_SECURITY);
    assert_eq!((rec.name.as_deref(), rec.severity.as_deref()), (Some("Illegal Resource Access"), Some("3")));
    assert_eq!(get(&rec, "ccode"), "IL");
    assert_eq!(rec.dups, vec![("ccode".to_string().into(), vec!["IL".to_string().into(), "IL".to_string().into()])]);
    assert_eq!(get(&rec, "qstr"), "p=%2fetc%2fpasswd");
    assert_eq!((get(&rec, "filetype"), get(&rec, "filepermission")), ("30037,1001,", "2,1,"));
    assert_eq!(get(&rec, "cs9"), "Block Malicious User,High Risk Resources,");
    assert_eq!(
        get(&rec, "cs11"),
        r#",,[{"api_specification_violation_type":"INVALID_PARAM_NAME","parameter_name":"somename"}]"#
    );
    assert_eq!(get(&rec, "cs11label"), "Rule Additional Info");
    assert_eq!(get(&rec, "start"), "123456789");
}

#[test]
fn s35_sqli_empty_cs9() {
    let rec = dec(S35_SQLI);
    assert_eq!((get(&rec, "cs9"), get(&rec, "cs9label")), ("", "Rule name"));
    assert_eq!((get(&rec, "filetype"), get(&rec, "filepermission")), ("50033", "666"));
    assert_eq!(get(&rec, "act"), "REQ_BLOCKED_SESSION");
    assert_eq!(get(&rec, "cs5").chars().count(), 256);
}

#[test]
fn s36_elastic_xff_list() {
    let rec = dec(S36_ELASTIC_XFF);
    assert_eq!((rec.name.as_deref(), rec.severity.as_deref()), (Some("Normal"), Some("3")));
    assert_eq!(get(&rec, "xff"), "1.128.0.0, 81.2.69.144");
    assert_eq!(get(&rec, "fileid"), "3412341160002518171");
    assert!(get(&rec, "cs11").starts_with(r#"[{"api_specification"#));
}

#[test]
fn s37_cs10_json_and_quoted_user_agent() {
    let rec = dec(S37_CS10_JSON);
    assert!(get(&rec, "cs10").starts_with(r#"[{"rule_id":"1234567","type":"AD_HEADER_RW""#));
    assert!(get(&rec, "cs10").contains("frame-ancestors 'self' https://example.com"));
    assert_eq!(get(&rec, "cs10label"), "Rule Info");
    // Quotes are data, never delimiters (§2.6 #9); balanced ones are left for the ECS layer.
    let ua = get(&rec, "requestclientapplication");
    assert!(ua.starts_with("\"Mozilla/5.0") && ua.ends_with('"'));
    assert_eq!(get(&rec, "ref"), "https://example.com/path/to/referrer");
}

#[test]
fn s38_ipv6() {
    let rec = dec(S38_IPV6);
    assert_eq!(get(&rec, "src"), "2001:db8:abcd::17");
    assert_eq!(get(&rec, "sip"), "2001:db8:10::25");
    assert_eq!(get(&rec, "xff"), "2001:db8:abcd::17, 198.51.100.23");
    assert_eq!(get(&rec, "cicode"), "Frankfurt am Main");
    assert_eq!(get(&rec, "additionalresheaders"), r#"[{"Content-Type":"application/json; charset=utf-8"}]"#);
}

#[test]
fn s39_no_space_after_header_unbalanced_quote_doubled_json_quotes() {
    let rec = dec(S39_UNCLOSED_QUOTE);
    assert_eq!((rec.name.as_deref(), rec.severity.as_deref()), (Some("IncapRules(Temp_dump)"), Some("11")));
    assert_eq!(get(&rec, "fileid"), "1415000720207605958"); // first key right after the header pipe
    assert_eq!(get(&rec, "requestclientapplication"), "\"Xpanse-bot");
    assert_eq!(get(&rec, "devicefacility"), "den");
    assert_eq!(get(&rec, "src"), "xxx.xxx.31.120");
    assert_eq!(get(&rec, "cs10"), r#"[{""rule_id"":""4709724""}]"#);
}

// --- App. C quirks -----------------------------------------------------------------------------

#[test]
fn missing_space_after_header_same_as_with_space() {
    let a = ext("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|fileId=1 src=1.2.3.4");
    let b = ext("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1 src=1.2.3.4");
    assert_eq!(a, b);
    assert_eq!(a, pairs(&[("fileid", "1"), ("src", "1.2.3.4")]));
}

#[test]
fn rule_type_id_in_severity_slot() {
    for severity in ["-1", "0", "11", "14"] {
        let rec =
            dec(&format!("CEF:0|Incapsula|SIEMintegration|1|1|Blocked country|{severity}| ccode=CN act=REQ_BLOCKED"));
        assert_eq!(rec.severity.as_deref(), Some(severity));
        assert_eq!(rec.name.as_deref(), Some("Blocked country"));
    }
}

#[test]
fn duplicate_keys_first_non_empty_wins_all_kept() {
    let rec = dec(&imperva("ccode= src=1.1.1.1 ccode=US ccode=DE"));
    assert_eq!(get(&rec, "ccode"), "US");
    assert_eq!(rec.dups, vec![("ccode".to_string().into(), vec!["".to_string().into(), "US".to_string().into(), "DE".to_string().into()])]);
}

#[test]
fn duplicate_across_spellings() {
    let rec = dec(&imperva("fileid=1 fileId=2"));
    assert_eq!(get(&rec, "fileid"), "1");
    assert_eq!(rec.dups, vec![("fileid".to_string().into(), vec!["1".to_string().into(), "2".to_string().into()])]);
}

#[test]
fn unbalanced_quotes_and_apostrophes() {
    let rec = dec(&imperva("cicode=Al 'Ayyat requestClientApplication=\"Xpanse-bot ccode=EG"));
    assert_eq!(get(&rec, "cicode"), "Al 'Ayyat");
    assert_eq!(get(&rec, "requestclientapplication"), "\"Xpanse-bot");
    assert_eq!(get(&rec, "ccode"), "EG");
}

#[test]
fn pipes_in_user_agent() {
    let ua = "Android 11(70) | prodLalaland 1.47.9(162) | Redmi M2000K6G";
    let rec = dec(&imperva(&format!("requestClientApplication={ua} deviceFacility=fra")));
    assert_eq!(get(&rec, "requestclientapplication"), ua);
    assert_eq!(rec.name.as_deref(), Some("Normal")); // header split by counting pipes
}

#[test]
fn control_characters_inside_values_are_kept() {
    let ua = "Mozilla\x0b5.0\x1c(bot)\u{85}x\u{2028}y";
    let rec = dec(&imperva(&format!("requestClientApplication={ua} deviceFacility=iad cicode=A\x1cB")));
    assert_eq!(get(&rec, "requestclientapplication"), ua);
    assert_eq!(get(&rec, "cicode"), "A\x1cB");
    assert_eq!(get(&rec, "devicefacility"), "iad");
}

#[test]
fn key_case_variants_are_one_key() {
    for (spelling, canonical) in [
        ("fileid", "fileid"),
        ("fileId", "fileid"),
        ("FILEID", "fileid"),
        ("requestmethod", "requestmethod"),
        ("requestMethod", "requestmethod"),
        ("deviceExternalID", "deviceexternalid"),
        ("deviceExternalId", "deviceexternalid"),
        ("filetype", "filetype"),
        ("fileType", "filetype"),
        ("filepermission", "filepermission"),
        ("filePermission", "filepermission"),
        ("Customer", "customer"),
        ("cs9Label", "cs9label"),
    ] {
        let rec = dec(&imperva(&format!("requestClientApplication=UA x {spelling}=v src=1.1.1.1")));
        assert_eq!(get(&rec, canonical), "v", "{spelling}");
        // A known key, in any case, still splits.
        assert_eq!(get(&rec, "requestclientapplication"), "UA x", "{spelling}");
        let keys: Vec<String> = ext(&imperva(&format!("{spelling}=v"))).into_iter().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(keys, vec![canonical.to_string()]);
    }
}

#[test]
fn request_with_spaces_pipe_and_query() {
    let rec = dec(&imperva(r"request=source.example.org/x.htm?Sip\=1.1.1.1 | cat /etc/passwd requestMethod=GET"));
    assert_eq!(get(&rec, "request"), "source.example.org/x.htm?Sip=1.1.1.1 | cat /etc/passwd");
    assert_eq!(get(&rec, "requestmethod"), "GET");
}

#[test]
fn bracketed_ccode_is_kept_raw() {
    assert_eq!(get(&dec(&imperva("ccode=[US] cicode=X")), "ccode"), "[US]");
}

#[test]
fn blank_after_equals_is_trimmed_on_imperva_lines_only() {
    let rec = dec(&imperva("ver= TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 cpt=1"));
    assert_eq!(get(&rec, "ver"), "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    assert_eq!(get(&dec(&generic("msg= hello x=1")), "msg"), " hello");
}

#[test]
fn attack_analytics_line_is_generic_cef() {
    let line = "CEF:0|Imperva Inc|Attack Analytics|0|1|Bad bots from 12 IPs|MAJOR|msg=Bad bots attack \
                x=y start=1700000000000 requestClientApplication=curl 7 foo=bar";
    let rec = dec(line);
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.severity.as_deref(), rec.name.as_deref()),
        (Some("Imperva Inc"), Some("Attack Analytics"), Some("MAJOR"), Some("Bad bots from 12 IPs"))
    );
    // Not an Imperva WAF line: the standard rule splits at every ` key=`.
    assert_eq!(
        rec.ext,
        pairs(&[
            ("msg", "Bad bots attack"),
            ("x", "y"),
            ("start", "1700000000000"),
            ("requestclientapplication", "curl 7"),
            ("foo", "bar"),
        ])
    );
    assert!(!rec.is_imperva());
}

#[test]
fn syslog_prefix() {
    let rec = dec(&format!("<14>Jun 10 06:13:20 shop.example.com cwaf {S35_SQLI}"));
    assert_eq!(rec.syslog_prefix.as_deref(), Some("<14>Jun 10 06:13:20 shop.example.com cwaf"));
    assert_eq!(rec.ext, ext(S35_SQLI));
}

// --- The free-text-key rule (DESIGN §1) ------------------------------------------------------------

#[test]
fn free_text_values_keep_unknown_key_candidates() {
    for key in FREE_TEXT_KEYS {
        let rec = dec(&imperva(&format!("{key}=a b=c d.e=f g=h src=1.2.3.4")));
        assert_eq!(rec.ext, pairs(&[(key, "a b=c d.e=f g=h"), ("src", "1.2.3.4")]), "{key}");
    }
}

#[test]
fn free_text_value_still_ends_at_a_known_key() {
    let rec = dec(&imperva(r#"postbody=user=admin&x=1 name=value cs10=[{"a":"b c=d"}] cs10Label=Rule Info"#));
    assert_eq!(get(&rec, "postbody"), "user=admin&x=1 name=value");
    assert_eq!(get(&rec, "cs10"), r#"[{"a":"b c=d"}]"#);
    assert_eq!(get(&rec, "cs10label"), "Rule Info");
}

#[test]
fn unknown_key_after_a_non_free_text_key_is_a_key() {
    let rec = dec(&imperva("ver=TLSv1.3 newKey=x src=1.1.1.1"));
    assert_eq!(rec.ext, pairs(&[("ver", "TLSv1.3"), ("newkey", "x"), ("src", "1.1.1.1")]));
}

#[test]
fn free_text_rule_is_for_imperva_only() {
    assert_eq!(
        ext(&generic("requestClientApplication=a b=c")),
        pairs(&[("requestclientapplication", "a"), ("b", "c")])
    );
}

// --- Grammar details ----------------------------------------------------------------------------------

#[test]
fn escapes() {
    let rec = dec(&generic(r"a=1\=2 b=c\\d c=line\nbreak\rx d=keep\|pipe\ e=\\= f=\\\="));
    assert_eq!(
        rec.ext,
        pairs(&[
            ("a", "1=2"),
            ("b", "c\\d"),
            ("c", "line\nbreak\rx"),
            ("d", "keep\\|pipe\\"),
            ("e", "\\="),
            ("f", "\\=")
        ])
    );
    assert_eq!(rec.warnings.len(), 1);
    assert!(rec.warnings[0].starts_with("malformed value for e "));
}

#[test]
fn header_escapes() {
    let rec = dec(r"CEF:0|Ven\|dor|Pro\\duct|1|2|Name \| with pipe|5|a=b");
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.name.as_deref(), rec.severity.as_deref()),
        (Some("Ven|dor"), Some("Pro\\duct"), Some("Name | with pipe"), Some("5"))
    );
    assert_eq!(rec.ext, pairs(&[("a", "b")]));
}

#[test]
fn blanks_and_line_endings() {
    // One separator blank; the line end goes.
    assert_eq!(ext(&generic("  a=x  b=y \t\r\n")), pairs(&[("a", "x "), ("b", "y")]));
    // A tab does not separate.
    assert_eq!(ext(&generic("a=x\tb=y")), pairs(&[("a", "x\tb=y")]));
}

#[test]
fn empty_values_and_header_only() {
    assert_eq!(ext(&generic("a= b= c=")), pairs(&[("a", ""), ("b", ""), ("c", "")]));
    assert_eq!(ext(GENERIC), pairs(&[]));
    assert_eq!(ext(&generic("   ")), pairs(&[]));
}

#[test]
fn unescaped_equals_is_kept_and_flagged_with_its_column() {
    let line = generic("msg=a =b id==x");
    let rec = dec(&line);
    assert_eq!(rec.ext, pairs(&[("msg", "a =b"), ("id", "=x")]));
    assert_eq!(
        rec.warnings,
        vec![
            format!(
                "malformed value for msg at column {}: unescaped '=' kept in the value",
                line.find(" =b").unwrap() + 2
            ),
            format!(
                "malformed value for id at column {}: unescaped '=' kept in the value",
                line.find("==").unwrap() + 2
            ),
        ]
    );
}

#[test]
fn split_extension_public_function() {
    assert_eq!(
        split_ext(" fileId=1 requestClientApplication=a b=c ver=x", true).unwrap(),
        pairs(&[("fileId", "1"), ("requestClientApplication", "a b=c"), ("ver", "x")])
    );
    assert_eq!(split_ext("a=b c=d", false).unwrap(), pairs(&[("a", "b"), ("c", "d")]));
    assert_eq!(split_ext("", false).unwrap(), pairs(&[]));
}

// --- Errors ---------------------------------------------------------------------------------------------

#[test]
fn not_cef() {
    let e = err("LEEF:0|Incapsula|x");
    assert_eq!(e.reason, "line does not contain a CEF header (no 'CEF:' marker)");
    assert_eq!(e.column, 1);
    assert_eq!(e.hint.as_deref(), Some("the line is not CEF; check the file's format (--format)"));
}

#[test]
fn truncated_header_names_what_is_missing() {
    let line = "CEF:0|Incapsula|SIEMintegration|1|1|Normal";
    let e = err(line);
    assert!(e.reason.contains("found 5 of 7"), "{}", e.reason);
    assert_eq!(e.column, line.len() + 1);
}

#[test]
fn text_before_the_first_key() {
    let line = generic("garbage here a=b");
    let e = err(&line);
    assert_eq!(e.reason, "invalid extensions; keyless value present: 'garbage here'");
    assert_eq!(e.column, line.find("garbage").unwrap() + 1);
    assert_eq!(e.hint.as_deref(), Some(KEYLESS_HINT));
}

#[test]
fn several_records_in_one_string() {
    let e = err(&format!("{S35_SQLI}\n{S32_CACHE_HIT}"));
    assert!(e.reason.contains("2 CEF records"), "{}", e.reason);
    // A raw LF inside a value (no second record after it) is a control character: kept.
    assert_eq!(ext(&generic("msg=a\nb c=d")), pairs(&[("msg", "a\nb"), ("c", "d")]));
}

#[test]
fn decode_error_message_is_clear() {
    let e = err("CEF:0|only|three");
    assert!(e.to_string().contains("incomplete CEF header"));
    assert!(e.hint.is_some());
}

// --- Properties (the oracle's hypothesis tests, as seeded loops) -----------------------------------

/// SplitMix64: a fixed, dependency-free source of cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Any character, mostly from the BMP.
    fn any_char(&mut self) -> char {
        let limit = if self.below(4) == 0 { 0x11_0000 } else { 0x1_0000 };
        loop {
            if let Some(c) = char::from_u32(self.below(limit) as u32) {
                return c;
            }
        }
    }

    /// The oracle's `_VALUE`: its alphabet, or any character; up to 40 of them.
    fn value(&mut self) -> String {
        const ALPHABET: &[char] = &[
            'a', 'b', ' ', 'Z', '0', '9', ' ', '=', '\\', '|', '"', '\'', '{', '}', '[', ']', ':', ',', '.', '-', '_',
            '\t', '\n', '\r', '\x0b', '\x1c', 'é', '€', '😀',
        ];
        let len = self.below(41);
        (0..len)
            .map(|_| if self.below(2) == 0 { ALPHABET[self.below(ALPHABET.len())] } else { self.any_char() })
            .collect()
    }

    /// The oracle's `_KEY`: `[A-Za-z][A-Za-z0-9_]{0,12}`.
    fn key(&mut self) -> String {
        const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        const REST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
        let mut key = String::from(FIRST[self.below(FIRST.len())] as char);
        for _ in 0..self.below(13) {
            key.push(REST[self.below(REST.len())] as char);
        }
        key
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('=', "\\=").replace('\n', "\\n").replace('\r', "\\r")
}

/// Pairs with distinct lower-case keys; the last value without trailing blanks (it would lose
/// them), and on Imperva lines no value starting with a blank (it would lose one).
fn case(rng: &mut Rng, count: usize, mut key: impl FnMut(&mut Rng) -> String, imperva: bool) -> Vec<(String, String)> {
    let mut items: Vec<(String, String)> = Vec::new();
    for _ in 0..count {
        let k = key(rng);
        if items.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(&k)) {
            continue;
        }
        let mut v = rng.value();
        if imperva {
            v = v.trim_start_matches(' ').to_string();
        }
        items.push((k, v));
    }
    if let Some(last) = items.last_mut() {
        last.1 = last.1.trim_end_matches([' ', '\t', '\r', '\n']).to_string();
    }
    items
}

fn lower(items: &[(String, String)]) -> Vec<Pair> {
    items.iter().map(|(k, v)| (k.to_lowercase().into(), v.clone().into())).collect()
}

fn join(items: &[(String, String)]) -> String {
    items.iter().map(|(k, v)| format!("{k}={}", escape(v))).collect::<Vec<_>>().join(" ")
}

#[test]
fn roundtrip_generic() {
    let mut rng = Rng(1);
    for _ in 0..300 {
        let count = 1 + rng.below(12);
        let items = case(&mut rng, count, Rng::key, false);
        let line = generic(&join(&items));
        assert_eq!(split_extension(line.splitn(8, '|').nth(7).unwrap(), false).unwrap(), items, "{line:?}");
        assert_eq!(ext(&line), lower(&items), "{line:?}");
    }
}

#[test]
fn roundtrip_imperva() {
    let mut keys: Vec<String> = IMPERVA_KEYS.iter().filter(|k| **k != "customer").map(|k| k.to_string()).collect();
    keys.extend(["cs1", "cs9", "cs10", "cs11", "cs9Label", "Customer", "fileId"].map(String::from));
    let mut rng = Rng(2);
    for _ in 0..300 {
        let count = 1 + rng.below(15);
        let items = case(&mut rng, count, |r| keys[r.below(keys.len())].clone(), true);
        let line = imperva(&join(&items));
        assert_eq!(split_extension(line.splitn(8, '|').nth(7).unwrap(), true).unwrap(), items, "{line:?}");
        let rec = dec(&line);
        assert_eq!(rec.ext, lower(&items), "{line:?}");
        assert!(rec.warnings.is_empty(), "{line:?}: {:?}", rec.warnings);
    }
}

#[test]
fn arbitrary_text_decodes_or_raises_decode_error() {
    let prefixes = ["", "CEF:0|", GENERIC, HEAD, r"CEF:0|a|b|c\|d|e|f|"];
    let mut rng = Rng(3);
    for _ in 0..2000 {
        let mut line = prefixes[rng.below(prefixes.len())].to_string();
        for _ in 0..rng.below(201) {
            let c = match rng.below(8) {
                0 => ' ',
                1 => '=',
                2 => '\\',
                3 => '|',
                4 => '\n',
                _ => rng.any_char(),
            };
            line.push(c);
        }
        if let Err(e) = decode_cef(&line) {
            assert!(!e.reason.is_empty());
            assert!((1..=line.chars().count() + 1).contains(&e.column), "{line:?}: {e:?}");
        }
    }
}

// --- Branches the oracle's tests miss (expectations from the oracle's output) -----------------------

#[test]
fn header_escape_details() {
    // `\\` before a pipe: an escaped backslash, and the pipe ends the field.
    let rec = dec(r"CEF:0|Ven\\|p|v|s|n|5|a=b");
    assert_eq!(header(&rec), [Some("Ven\\"), Some("p"), Some("v"), Some("s"), Some("n"), Some("5"), Some("0"), None]);
    // A backslash before anything else is text.
    let rec = dec(r"CEF:0|a\b|c\|d|e|f|g|h|x=1");
    assert_eq!(header(&rec), [Some("a\\b"), Some("c|d"), Some("e"), Some("f"), Some("g"), Some("h"), Some("0"), None]);
    assert_eq!(rec.ext, pairs(&[("x", "1")]));
    // An escaped pipe does not count: 6 fields, column after the last character.
    let e = err(r"CEF:0|a\|b|c|d|e|f|g");
    assert_eq!(e.reason, "incomplete CEF header: found 6 of 7 required pipe-terminated header fields");
    assert_eq!(e.column, 21);
    assert_eq!(
        e.hint.as_deref(),
        Some("the line is truncated or is not CEF; a CEF header is CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|")
    );
    let e = err(r"CEF:0|Incapsula|a|b|c|d\");
    assert_eq!((e.reason.contains("found 5 of 7"), e.column), (true, 25));
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(err("CEF:0|é|ü|x").column, 12);
    let e = err(&format!("é€{GENERIC}[x]=1"));
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '[x]=1'", 33));
    let rec = dec(&format!("é{GENERIC}msg=é a =b"));
    assert_eq!(rec.warnings, vec!["malformed value for msg at column 40: unescaped '=' kept in the value"]);
    assert_eq!(rec.syslog_prefix.as_deref(), Some("é"));
}

#[test]
fn vendor_is_compared_after_unescaping() {
    let rec = dec(r"CEF:0|Incap\|sula|p|v|s|n|3|requestClientApplication=a b=c");
    assert_eq!(rec.vendor.as_deref(), Some("Incap|sula"));
    assert_eq!(rec.ext, pairs(&[("requestclientapplication", "a"), ("b", "c")]));
    // not Imperva
}

#[test]
fn python_whitespace_in_prefix_and_format_version() {
    // str.rstrip()/str.strip() count U+001C–U+001F and U+3000 as blanks.
    assert_eq!(dec(&format!("  \x1c {GENERIC}a=1")).syslog_prefix, None);
    assert_eq!(dec(&format!("<14>host \x1c{GENERIC}a=1")).syslog_prefix.as_deref(), Some("<14>host"));
    assert_eq!(dec("CEF: 0\x1c\u{3000}|Acme|Box|1.0|100|name|5|a=1").format_version.as_deref(), Some("0"));
    let rec = dec("xCEF:|||||||");
    assert_eq!(header(&rec), [Some(""), Some(""), Some(""), Some(""), Some(""), Some(""), Some(""), Some("x")]);
    assert!(rec.ext.is_empty());
}

#[test]
fn blank_text_before_the_first_key_is_dropped() {
    // Only spaces and tabs are trimmed after the header, but any Python blank before the first
    // key passes the keyless-value check.
    assert_eq!(ext(&generic("\x0c\x1c a=b")), pairs(&[("a", "b")]));
    assert_eq!(ext(&generic("\x0c\x1c")), pairs(&[]));
    let e = err(&generic("\u{3000}a=b"));
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '\\u3000a=b'", 31));
}

#[test]
fn keyless_value_is_quoted_as_python_repr() {
    let reason = |ext: &str| err(&generic(ext)).reason;
    assert_eq!(reason("it's garbage a=b"), "invalid extensions; keyless value present: \"it's garbage\"");
    assert_eq!(reason("say \"it's\" a=b"), "invalid extensions; keyless value present: 'say \"it\\'s\"'");
    assert_eq!(
        reason("é\x00\x1b\u{a0}\u{2028}\u{e000}\u{10ffff}😀\\ a=b"),
        "invalid extensions; keyless value present: 'é\\x00\\x1b\\xa0\\u2028\\ue000\\U0010ffff😀\\\\'"
    );
    assert_eq!(
        reason(&format!("{} a=b", "0123456789".repeat(5))),
        format!("invalid extensions; keyless value present: '{}'", "0123456789".repeat(4))
    );
    let e = err(&generic(" =x"));
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '=x'", 32));
    let e = err("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|\\");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '\\\\'", 46));
    assert_eq!(e.hint.as_deref(), Some(KEYLESS_HINT));
}

#[test]
fn newline_records_are_counted_after_the_first_lf() {
    let e = err(&generic("a=1\nb CEF:0|x c=2"));
    assert_eq!(
        e.reason,
        "message is not valid CEF because it contains unescaped newline characters (2 CEF records in one line)"
    );
    assert_eq!(e.column, 34); // the first LF
    assert_eq!(e.hint.as_deref(), Some("split the input on '\\n' before decoding "));
    let e = err(&format!("ü{GENERIC}a=1\nCEF:0|x|y\nCEF:\n"));
    assert!(e.reason.contains("(3 CEF records in one line)"));
    assert_eq!(e.column, 35);
    // `CEF:` before the first LF is value text.
    let rec = dec(&generic("a=1 CEF:0|x\nb=2"));
    assert_eq!(rec.ext, pairs(&[("a", "1 CEF:0|x\nb=2")]));
    assert_eq!(rec.warnings, vec!["malformed value for a at column 44: unescaped '=' kept in the value"]);
}

#[test]
fn glued_candidates_keep_their_own_warnings() {
    let rec = dec(&imperva(r"requestClientApplication=a b=c=d e=\=f g=\\=h"));
    assert_eq!(rec.ext, pairs(&[("requestclientapplication", r"a b=c=d e==f g=\=h")]));
    assert_eq!(
        rec.warnings,
        vec![
            "malformed value for b at column 77: unescaped '=' kept in the value",
            "malformed value for g at column 90: unescaped '=' kept in the value",
        ]
    );
}

#[test]
fn free_text_rule_details() {
    // The blank after '=' goes from a value that glued candidates extend; only one blank goes.
    assert_eq!(
        ext(&imperva("requestClientApplication= a b=c x=y src=1")),
        pairs(&[("requestclientapplication", "a b=c x=y"), ("src", "1")])
    );
    assert_eq!(ext(&imperva("ccode=  US")), pairs(&[("ccode", " US")]));
    // Unknown keys outside free text are keys; the rule starts at the free-text key.
    assert_eq!(
        ext(&imperva("foo=1 bar=2 requestClientApplication=x y=z")),
        pairs(&[("foo", "1"), ("bar", "2"), ("requestclientapplication", "x y=z")])
    );
    // Numbered slots and LEEF spellings are known keys (CEF keeps the LEEF spelling).
    assert_eq!(
        ext(&imperva("requestClientApplication=a cs12=x flexString1=y")),
        pairs(&[("requestclientapplication", "a"), ("cs12", "x"), ("flexstring1", "y")])
    );
    assert_eq!(
        ext(&imperva("requestClientApplication=a popName=x")),
        pairs(&[("requestclientapplication", "a"), ("popname", "x")])
    );
    // Keys longer than the stack buffer of the known-key test.
    assert_eq!(
        ext(&imperva("postbody=a cs123456789012345678901234567890123=x")),
        pairs(&[("postbody", "a"), ("cs123456789012345678901234567890123", "x")])
    );
    assert_eq!(
        ext(&imperva("postbody=a someveryveryveryveryverylongunknownkeyname=x")),
        pairs(&[("postbody", "a someveryveryveryveryverylongunknownkeyname=x")])
    );
    // Glued text is un-escaped with the value.
    assert_eq!(ext(&imperva("requestClientApplication=é€ b=c")), pairs(&[("requestclientapplication", "é€ b=c")]));
}

#[test]
fn key_characters() {
    assert_eq!(
        ext(&generic("a.b=1 x-y=2 a[0]=3 q,r=4 _k=5 9x=6")),
        pairs(&[("a.b", "1"), ("x-y", "2"), ("a[0]", "3"), ("q,r", "4"), ("_k", "5"), ("9x", "6")])
    );
}

#[test]
fn unescaped_equals_needs_an_even_run_of_backslashes() {
    let rec = dec(&generic(r"a==b c= =d e=\\\=f"));
    assert_eq!(rec.ext, pairs(&[("a", "=b"), ("c", " =d"), ("e", r"\=f")]));
    assert_eq!(
        rec.warnings,
        vec![
            "malformed value for a at column 33: unescaped '=' kept in the value",
            "malformed value for c at column 39: unescaped '=' kept in the value",
        ]
    );
}

#[test]
fn repeats_of_several_keys_and_of_empty_values() {
    let rec = dec(&generic("a= b= a=x b=y c="));
    assert_eq!(rec.ext, pairs(&[("a", "x"), ("b", "y"), ("c", "")]));
    assert_eq!(
        rec.dups,
        vec![
            ("a".to_string().into(), vec!["".to_string().into(), "x".to_string().into()]),
            ("b".to_string().into(), vec!["".to_string().into(), "y".to_string().into()]),
        ]
    );
    let rec = dec(&generic("a= a="));
    assert_eq!(rec.ext, pairs(&[("a", "")]));
    assert_eq!(rec.dups, vec![("a".to_string().into(), vec![String::new().into(), String::new().into()])]);
}

#[test]
fn trailing_backslash_inner_cr_and_leading_tab() {
    assert_eq!(ext(&generic("a=\\")), pairs(&[("a", "\\")]));
    assert_eq!(ext(&generic("\t a=1\rx b=2 \r\n\t ")), pairs(&[("a", "1\rx"), ("b", "2")]));
}

#[test]
fn split_extension_trims_and_rejects_keyless_text() {
    assert_eq!(split_ext("\t a=b \r\n", false).unwrap(), pairs(&[("a", "b")]));
    assert_eq!(split_ext("\x0c", false).unwrap(), pairs(&[]));
    let e = split_ext("garbage a=b", false).unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: 'garbage'", 1));
    let e = split_ext(" x requestClientApplication=a b=c", true).unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: 'x'", 1));
}

#[test]
fn long_lines_stay_linear() {
    // ~1 MB (DESIGN §7's `max_line_bytes`): a warning on every pair and every key repeated; warning
    // columns and repeat folding must not rescan the line per pair.
    let body: Vec<String> = (0..100_000).map(|i| format!("k{}==é{i}", i % 1000)).collect();
    let line = generic(&body.join(" "));
    let rec = dec(&line);
    assert_eq!((rec.ext.len(), rec.dups.len(), rec.warnings.len()), (1000, 1000, 100_000));
    assert_eq!(rec.ext[999], ("k999".to_string().into(), "=é999".to_string().into()));
    assert_eq!(rec.dups[0].1.len(), 100);
    let last = line.rfind("==").unwrap() + 1; // the second '=' of the last pair
    assert_eq!(
        rec.warnings[99_999],
        format!(
            "malformed value for k999 at column {}: unescaped '=' kept in the value",
            line[..last].chars().count() + 1
        )
    );
}
