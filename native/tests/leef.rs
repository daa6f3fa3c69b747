//! Integration tests of the LEEF decoder. First every decoder case of the Python oracle's
//! `tests/decode/test_leef.py`, with the same inputs and expectations; then the branches those
//! cases miss, with expectations taken from the oracle's output for the same line (the Python
//! differential test compares the two on generated input as well).

use _native::decode::cef::decode_cef;
use _native::decode::leef::{decode_leef, parse_delimiter};
use _native::decode::{DecodeError, Format, RawRecord};

const IMPERVA: &str = "LEEF:0|Incapsula|SIEMintegration|0|Normal|";

// The sample lines of tests/decode/samples.py (FORMATS §3, §4), copied by a script.
const LEEF_DOC_SPACES: &str = r#"LEEF:0|Incapsula|SIEMintegration|0|SQL Injection| fileId=3412364560000000008 sourceServiceName=test56111115.incaptest.co siteid=1333546 suid=300656 requestClientApplication=Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Firefox/38.0 popName=mia cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=936e64c2-bdd1-4719-9bd0-2d882a72f30d cs4Label=VID cs5=bab1712be85b00ab21d20bf0d7b5db82701f27f53fbac19a4252efc722ac9131fdc60c0da620282b02dfb8051e7a60f9 cs5Label=clappsig dproc=Browser cs6=Firefox cs6Label=clapp calCountryOrRegion=IL cicode=Rehovot cs7=31.8969 cs7Label=latitude cs8=34.8186 cs8Label=longitude Customer=siemtest start=1460303291788 url=test56111115.incaptest.co/ requestMethod=GET qstr=keywords\=3%29%29%29%20AND%203434%3d%28%27%3amvc%3a%27%7c%7c%28SELECT%20CASE%203434%20WHEN%203434%20THEN%201%20ELSE%200%20END%20FROM%20RDB%24DATABASE%29%7c%7c%27%3aqvi%3a%27%29%20AND%20%28%28%283793%3d3793 cn1=200 proto=HTTP cat=REQ_PASSED deviceExternalId=2323800832649 dst=54.195.35.43 dstPort=80 in=406 xff=127.0.0.1 srcPort=443 src=127.0.0.1 protoVer=TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 fileType=12999,50999,50037,50044, filePermission=37,20,1,1, cs9=,High Risk SQL Expressions,,SQL SELECT Expression, cs9Label=Rule name"#;
const LEEF_ACCESS_TABS: &str = "LEEF:0|Incapsula|SIEMintegration|0|Normal|\tfileId=438000490120534212\tsourceServiceName=jsc6wzftsr8pj2zk.company.name\tsiteid=61539044\tsuid=1843222\trequestClientApplication=Expanse indexes the network perimeters of our customers. If you have any questions or concerns, please reach out to: sanitized_email.com\tpopName=atl\tcs2=false\tcs2Label=Javascript Support\tcs3=false\tcs3Label=CO Support\tcs1=NA\tcs1Label=Cap Support\tcs4=a5a4c376-25b5-4c45-9ca5-ee62559c9540\tcs4Label=VID\tdproc=Crawler\tcs6=Expanse\tcs6Label=clapp\tcalCountryOrRegion=US\tcicode=Atlanta\tcs7=33.7485\tcs7Label=latitude\tcs8=-84.3871\tcs8Label=longitude\tCustomer=sanitized_email.com\tstart=1624809714018\turl=jsc6wzftsr8pj2zk.company.name/\trequestMethod=GET\tcn1=200\tproto=HTTP\tcat=REQ_CACHED_FRESH\tdeviceExternalId=269605585508764744\tdst=0.0.0.0\tdstPort=0\tin=4591\txff=172.105.147.48\tsrcPort=42709\tsrc=172.105.147.48\tend=1624809714271";
const LEEF_IPV6_TABS: &str = "LEEF:0|Incapsula|SIEMintegration|0|Normal|\tfileId=1510000220019876543\tsourceServiceName=shop.example.com\tsiteid=12345678\tsuid=1234567\trequestClientApplication=Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15\tpopName=fra\tcalCountryOrRegion=DE\tcicode=Frankfurt am Main\tCustomer=Example Corp\tstart=1718000000123\turl=shop.example.com/api/cart\trequestMethod=POST\tcn1=201\tproto=HTTPS\tcat=REQ_PASSED\tdeviceExternalId=512340987654321098\tdst=2001:db8:10::25\tdstPort=443\tin=512\txff=2001:db8:abcd::17, 198.51.100.23\tsrcPort=52144\tsrc=2001:db8:abcd::17\tprotoVer=TLSv1.3 TLS_AES_256_GCM_SHA384\tend=1718000000187\tadditionalReqHeaders=[{\"Content-Type\":\"application/json\"}]\tadditionalResHeaders=[{\"Content-Type\":\"application/json; charset\\=utf-8\"}]";
const S32_CACHE_HIT: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=438000490120534212 sourceServiceName=jsc6wzftsr8pj2zk.company.name siteid=61539044 suid=1843222 requestClientApplication=Expanse indexes the network perimeters of our customers. If you have any questions or concerns, please reach out to: sanitized_email.com deviceFacility=atl cs2=false cs2Label=Javascript Support cs3=false cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=a5a4c376-25b5-4c45-9ca5-ee62559c9540 cs4Label=VID cs5=27f1a8f2e99bd4a64e1b9b7deaad6c028c0cd935eab7e772d6b541a0817a54f02afdf5ece1cf5aacd2f792b16534eee4 cs5Label=clappsig dproc=Crawler cs6=Expanse cs6Label=clapp ccode=US cicode=Atlanta cs7=33.7485 cs7Label=latitude cs8=-84.3871 cs8Label=longitude Customer=sanitized_email.com start=1624809714018 request=jsc6wzftsr8pj2zk.company.name/ requestMethod=GET cn1=200 app=HTTP act=REQ_CACHED_FRESH deviceExternalId=269605585508764744 sip=0.0.0.0 spt=0 in=4591 xff=172.105.147.48 cpt=42709 src=172.105.147.48 end=1624809714271"#;
const S38_IPV6: &str = r#"CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=1510000220019876543 sourceServiceName=shop.example.com siteid=12345678 suid=1234567 requestClientApplication=Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 deviceFacility=fra cs2=true cs2Label=Javascript Support cs3=true cs3Label=CO Support cs1=NA cs1Label=Cap Support cs4=0f6c3c1e-2b7a-4d6e-9a51-3f2d8c7b9e10 cs4Label=VID cs5=5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592 cs5Label=clappsig dproc=Browser cs6=Safari cs6Label=clapp ccode=DE cicode=Frankfurt am Main cs7=50.1155 cs7Label=latitude cs8=8.6842 cs8Label=longitude Customer=Example Corp start=1718000000123 request=shop.example.com/api/cart requestMethod=POST cn1=201 app=HTTPS act=REQ_PASSED deviceExternalId=512340987654321098 sip=2001:db8:10::25 spt=443 in=512 xff=2001:db8:abcd::17, 198.51.100.23 cpt=52144 src=2001:db8:abcd::17 ver=TLSv1.3 TLS_AES_256_GCM_SHA384 end=1718000000187 additionalReqHeaders=[{"Content-Type":"application/json"},{"X-Request-Id":"a1b2c3"}] additionalResHeaders=[{"Content-Type":"application/json; charset\=utf-8"}]"#;

/// The record, owned (so tests may decode temporaries).
fn dec(line: &str) -> RawRecord<'static> {
    decode_leef(line).unwrap_or_else(|e| panic!("{line:?} failed: {e}")).into_owned()
}

fn err(line: &str) -> DecodeError {
    match decode_leef(line) {
        Ok(rec) => panic!("{line:?} decoded: {rec:?}"),
        Err(e) => e,
    }
}

fn ext<'r>(rec: &'r RawRecord<'_>) -> Vec<(&'r str, &'r str)> {
    rec.ext.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect()
}

fn get<'a>(rec: &'a RawRecord, key: &str) -> &'a str {
    rec.get(key).unwrap_or_else(|| panic!("no {key} in {:?}", rec.ext))
}

/// The whole record: ext in order, dups, warnings, and [vendor, product, version, name,
/// format_version, syslog_prefix, severity].
fn check(
    rec: &RawRecord,
    want_ext: &[(&str, &str)],
    want_dups: &[(&str, &[&str])],
    want_warnings: &[&str],
    head: [Option<&str>; 7],
) {
    assert_eq!(rec.format, Some(Format::Leef));
    assert_eq!(ext(rec), want_ext);
    let dups: Vec<(&str, Vec<&str>)> =
        rec.dups.iter().map(|(k, v)| (k.as_ref(), v.iter().map(|v| v.as_ref()).collect())).collect();
    let want: Vec<(&str, Vec<&str>)> = want_dups.iter().map(|(k, v)| (*k, v.to_vec())).collect();
    assert_eq!(dups, want);
    assert_eq!(rec.warnings, want_warnings);
    let got = [
        rec.vendor.as_deref(),
        rec.product.as_deref(),
        rec.version.as_deref(),
        rec.name.as_deref(),
        rec.format_version.as_deref(),
        rec.syslog_prefix.as_deref(),
        rec.severity.as_deref(),
    ];
    assert_eq!(got, head);
    assert_eq!(rec.signature, None);
}

// ------------------------------------------------------------------ test_leef.py, case by case

#[test]
fn imperva_doc_example_space_separated() {
    let rec = dec(LEEF_DOC_SPACES);
    assert_eq!(rec.format, Some(Format::Leef));
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.version.as_deref(), rec.name.as_deref()),
        (Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("SQL Injection"))
    );
    assert_eq!(rec.format_version.as_deref(), Some("0"));
    assert!(rec.severity.is_none() && rec.signature.is_none()); // LEEF carries no rule-type id
                                                                // LEEF names → CEF names (FORMATS §4.2)
    assert_eq!(get(&rec, "devicefacility"), "mia");
    assert_eq!(get(&rec, "ccode"), "IL");
    assert_eq!(get(&rec, "request"), "test56111115.incaptest.co/");
    assert_eq!(get(&rec, "app"), "HTTP");
    assert_eq!(get(&rec, "act"), "REQ_PASSED");
    assert_eq!(get(&rec, "sip"), "54.195.35.43");
    assert_eq!(get(&rec, "spt"), "80");
    assert_eq!(get(&rec, "cpt"), "443");
    assert_eq!(get(&rec, "ver"), "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    for leef_name in ["popname", "calcountryorregion", "url", "proto", "cat", "dst", "dstport", "srcport", "protover"] {
        assert!(rec.get(leef_name).is_none(), "{leef_name}");
    }
    assert_eq!(
        get(&rec, "requestclientapplication"),
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Firefox/38.0"
    );
    assert!(get(&rec, "qstr").starts_with("keywords=3%29%29%29%20AND%203434")); // \= un-escaped
    assert_eq!(get(&rec, "cs9"), ",High Risk SQL Expressions,,SQL SELECT Expression,");
    assert_eq!(get(&rec, "cs9label"), "Rule name");
    assert_eq!(get(&rec, "filetype"), "12999,50999,50037,50044,");
    assert!(rec.warnings.is_empty() && rec.dups.is_empty());
}

/// The constructed LEEF lines of §4.3 were mapped from CEF lines: same keys, same values.
#[test]
fn tab_samples_give_the_cef_key_space() {
    for (leef, cef, missing) in
        [(LEEF_ACCESS_TABS, S32_CACHE_HIT, Some(["cs5", "cs5label"])), (LEEF_IPV6_TABS, S38_IPV6, None)]
    {
        let lrec = dec(leef);
        let crec = decode_cef(cef).expect("the CEF sample decodes");
        assert!(lrec.warnings.is_empty());
        let mut lext = ext(&lrec);
        if missing.is_none() {
            // §4.3's IPv6 line was built with one request header fewer than §3.8's.
            let at = lext.iter().position(|(k, _)| *k == "additionalreqheaders").expect("additionalreqheaders");
            assert_eq!(lext.remove(at).1, r#"[{"Content-Type":"application/json"}]"#);
        }
        for (k, v) in &lext {
            assert_eq!(crec.get(k), Some(*v), "{k}");
        }
        if let Some(missing) = missing {
            let extra: Vec<&str> = crec.ext.iter().map(|(k, _)| k.as_ref()).filter(|k| lrec.get(k).is_none()).collect();
            assert_eq!(extra, missing);
        }
        assert_eq!(lrec.name.as_deref(), Some("Normal"));
        assert_eq!(crec.name.as_deref(), Some("Normal"));
    }
}

#[test]
fn space_and_tab_forms_decode_alike() {
    let tabbed = dec(LEEF_IPV6_TABS);
    let spaced = dec(&LEEF_IPV6_TABS.replace('\t', " "));
    assert_eq!(spaced.ext, tabbed.ext);
    assert!(get(&tabbed, "requestclientapplication").starts_with("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"));
    assert_eq!(get(&tabbed, "xff"), "2001:db8:abcd::17, 198.51.100.23");
    assert_eq!(get(&tabbed, "additionalresheaders"), r#"[{"Content-Type":"application/json; charset=utf-8"}]"#);
}

#[test]
fn tab_form_values_keep_tabs_and_free_text() {
    let rec = dec(&format!("{IMPERVA}\trequestClientApplication=A\tB x\tfoo=bar\tsrc=1.1.1.1\tcs9=x\ty\tver=v\t\r\n"));
    assert_eq!(get(&rec, "requestclientapplication"), "A\tB x\tfoo=bar"); // free-text rule, TAB not before key=
    assert_eq!(get(&rec, "cs9"), "x\ty");
    assert_eq!(get(&rec, "src"), "1.1.1.1");
    assert_eq!(get(&rec, "ver"), "v"); // trailing TAB and line end dropped
}

#[test]
fn aliases_and_duplicates() {
    let rec = dec(&format!("{IMPERVA}\tpopName=mia\tdeviceFacility=fra\tcat=REQ_BLOCKED"));
    assert_eq!(get(&rec, "devicefacility"), "mia");
    assert_eq!(rec.dups, [("devicefacility".into(), vec!["mia".into(), "fra".into()])]);
    assert_eq!(get(&rec, "act"), "REQ_BLOCKED");
}

#[test]
fn leef_1_0_other_vendor_keeps_its_keys() {
    let line = "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tusrName=joe.black";
    let rec = dec(line);
    assert_eq!(
        (rec.vendor.as_deref(), rec.product.as_deref(), rec.version.as_deref(), rec.name.as_deref()),
        (Some("Microsoft"), Some("MSExchange"), Some("4.0 SP1"), Some("15345"))
    );
    assert_eq!(rec.format_version.as_deref(), Some("1.0"));
    assert_eq!(
        ext(&rec),
        [
            ("src", "192.0.2.0"),
            ("dst", "172.50.123.1"),
            ("sev", "5"),
            ("cat", "anomaly"), // QRadar's category, not Imperva's action: no alias
            ("srcport", "81"),
            ("usrname", "joe.black"),
        ]
    );
}

#[test]
fn parse_delimiter_accepts() {
    for (spec, delim) in [
        ("^", '^'),
        ("x5E", '^'),
        ("x5e", '^'),
        ("0x5E", '^'),
        ("0x09", '\t'),
        ("x09", '\t'),
        ("|", '|'),
        (" ", ' '),
        ("", '\t'),
    ] {
        assert_eq!(parse_delimiter(spec), Some(delim as u32), "{spec:?}");
    }
}

#[test]
fn parse_delimiter_rejects() {
    assert_eq!(parse_delimiter("xyz"), None);
    assert_eq!(parse_delimiter("0xZZ"), None);
    assert_eq!(parse_delimiter("a=b"), None);
}

#[test]
fn leef_2_0_custom_delimiter() {
    for (spec, sep) in
        [("^", "^"), ("x5E", "^"), ("0x5E", "^"), ("0x09", "\t"), ("x09", "\t"), ("", "\t"), ("x7C", "|")]
    {
        let line =
            format!("LEEF:2.0|Lancope|StealthWatch|1.0|41|{spec}|src=10.0.1.8{sep}dst=10.0.0.5{sep}msg=a b{sep}sev=5");
        let rec = dec(&line);
        assert_eq!(rec.format_version.as_deref(), Some("2.0"));
        assert_eq!(rec.name.as_deref(), Some("41"));
        assert_eq!(ext(&rec), [("src", "10.0.1.8"), ("dst", "10.0.0.5"), ("msg", "a b"), ("sev", "5")], "{spec:?}");
    }
}

#[test]
fn leef_2_0_without_delimiter_field() {
    let rec = dec("LEEF:2.0|V|P|1|E|src=1.1.1.1\tmsg=a|b");
    assert_eq!(ext(&rec), [("src", "1.1.1.1"), ("msg", "a|b")]);
}

#[test]
fn leef_2_0_caret_inside_value_not_before_key() {
    let rec = dec("LEEF:2.0|V|P|1|E|^|a=x^y^b=z");
    assert_eq!(ext(&rec), [("a", "x^y"), ("b", "z")]);
}

#[test]
fn syslog_prefix() {
    let rec = dec(&format!("<13>Jun 10 06:13:20 host {IMPERVA}\tfileId=1"));
    assert_eq!(rec.syslog_prefix.as_deref(), Some("<13>Jun 10 06:13:20 host"));
    assert_eq!(ext(&rec), [("fileid", "1")]);
}

#[test]
fn header_only() {
    assert!(dec(IMPERVA).ext.is_empty());
    assert!(dec(&format!("{IMPERVA}\t")).ext.is_empty());
}

#[test]
fn errors() {
    let e = err("CEF:0|a|b|c|d|e|f|");
    assert!(e.reason.contains("does not contain a LEEF header"), "{e}");
    let e = err("LEEF:1.0|a|b");
    assert!(e.reason.contains("found 2 of 5"), "{e}");
    assert_eq!(e.column, "LEEF:1.0|a|b".len() + 1);
    let e = err("LEEF:2.0|V|P|1|E|xyz|a=b");
    assert!(e.reason.contains("delimiter field 'xyz'"), "{e}");
    let e = err("LEEF:1.0|V|P|1|E|just text");
    assert!(e.reason.contains("keyless value"), "{e}");
}

#[test]
fn unescaped_equals_flagged() {
    let rec = dec("LEEF:1.0|V|P|1|E|a=x=y\tb=2");
    assert_eq!(ext(&rec), [("a", "x=y"), ("b", "2")]);
    assert_eq!(rec.warnings.len(), 1);
    assert!(rec.warnings[0].contains("malformed value for a"), "{:?}", rec.warnings);
}

// ------------------------------------------------- branches test_leef.py misses (oracle output)

#[test]
fn parse_delimiter_is_pythons_int() {
    for (spec, want) in [
        ("x 5", Some(0x5)),
        ("x-0", Some(0x0)),
        ("x٥", Some(0x5)),
        ("x+A", Some(0xa)),
        ("xD800", Some(0xd800)), // a lone surrogate in Python: a code point, not a char
        ("x-1", None),
        ("x_5", None),
        ("x12345", None),
        ("x", Some('x' as u32)),
        ("0x", None),
        (" ^ ", None),
        (" x09 ", Some(0x9)),
        ("\t", Some(0x9)),
        ("  ", Some(0x9)),
        ("0x0x5", Some(0x5)),
        ("x0_1", Some(0x1)),
        ("X_", None),
        ("İ", Some(0x130)),
    ] {
        assert_eq!(parse_delimiter(spec), want, "{spec:?}");
    }
}

/// Python's int(…, 16) accepts blanks, a sign and Unicode digits in the delimiter field.
#[test]
fn leef_2_0_lenient_hex_delimiters() {
    check(
        &dec("LEEF:2.0|V|P|1|E|x 5E|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|X+5e|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|x٥e|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E| x09 |a=1\tb=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// chr(0xD800) is a lone surrogate: never in the line, so the attributes are cut at spaces.
#[test]
fn leef_2_0_surrogate_delimiter_falls_back_to_spaces() {
    check(
        &dec("LEEF:2.0|V|P|1|E|xD800|a=1 b=2\t"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// A delimiter that can start a key (here `_` and `=`) still cuts only where a key follows.
#[test]
fn leef_2_0_delimiter_is_a_key_character() {
    check(
        &dec("LEEF:2.0|V|P|1|E|_|a=1_b=2__c=3"),
        &[("a", "1"), ("b", "2"), ("_c", "3")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|=|a=b=c=d"),
        &[("a", "b"), ("c", "d")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|x3D|=a=b"),
        &[("a", "b")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// `|` as delimiter field, and a delimiter outside ASCII.
#[test]
fn leef_2_0_pipe_and_multibyte_delimiters() {
    let e = err("LEEF:2.0|V|P|1|E|||a=1|b=2");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: '|a=1|b=2'", 19));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|é|a=1éb=2é"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2.0|V|P|1|E|x2603|a=1☃b=x☃y☃"),
        &[("a", "1"), ("b", "x☃y")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
}

/// The version is stripped before the `2` test and in the record.
#[test]
fn leef_2_0_version_is_trimmed() {
    check(
        &dec("LEEF: 2.0 |V|P|1|E|^|a=1^b=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:2|V|P|1|E|src=1"),
        &[("src", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2"), None, None],
    );
}

/// A second delimiter before the first key is a keyless value (empty in the message).
#[test]
fn leef_2_0_keyless_head_after_delimiter() {
    let e = err("LEEF:2.0|a|b|c|d|^|^^a=b");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: ''", 21));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
}

/// Messages quote with repr() and count columns in code points.
#[test]
fn leef_errors_quote_and_count_code_points() {
    let e = err("LEEF:2.0|V|P|1|E|it's|a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("LEEF 2.0 delimiter field \"it's\" is neither one character nor xHH", 18)
    );
    assert_eq!(e.hint.as_deref(), Some("LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|"));
    let e = err("LEEF:2.0|é|P|1|E|abcdefghijklmnopqrstuvwxyz|a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("LEEF 2.0 delimiter field 'abcdefghijklmnopqrst' is neither one character nor xHH", 18)
    );
    assert_eq!(e.hint.as_deref(), Some("LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|"));
    let e = err("LEEF:2.0|V|P|1|E|\u{0}\u{200b}|a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("LEEF 2.0 delimiter field '\\x00\\u200b' is neither one character nor xHH", 18)
    );
    assert_eq!(e.hint.as_deref(), Some("LEEF 2.0 headers end with |<delimiter>| such as |^| or |x09|"));
    let e = err("LEEF:1.0|é|b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("incomplete LEEF header: found 2 of 5 required pipe-terminated header fields", 13)
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("the line is truncated; a LEEF header is LEEF:Version|Vendor|Product|Version|EventID|")
    );
    let e = err("LEEF");
    assert_eq!((e.reason.as_str(), e.column), ("line does not contain a LEEF header (no 'LEEF:' marker)", 1));
    assert_eq!(e.hint.as_deref(), Some("the line is not LEEF; check the file's format (--format)"));
    let e = err("<13>é LEEF:1.0|V|P|1|E|éé text a=b");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: 'éé text'", 24));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
    let e = err("LEEF:1.0|V|P|1|E|éééééééééééééééééééééééééééééééééééééééééééééééééé a=b");
    assert_eq!(
        (e.reason.as_str(), e.column),
        ("invalid extensions; keyless value present: 'éééééééééééééééééééééééééééééééééééééééé'", 18)
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
}

/// Unescaped '=' warnings name the key as written and the column of the '='.
#[test]
fn leef_warning_columns_count_code_points() {
    check(
        &dec("LEEF:1.0|Vé|P|1|E|Key=x=y\tb=\\\\=z\tc=\\=ok"),
        &[("key", "x=y"), ("b", "\\=z"), ("c", "=ok")],
        &[],
        &[
            "malformed value for Key at column 24: unescaped '=' kept in the value",
            "malformed value for b at column 31: unescaped '=' kept in the value",
        ],
        [Some("Vé"), Some("P"), Some("1"), Some("E"), Some("1.0"), None, None],
    );
    check(
        &dec("LEEF:0|Incapsula|P|0|N| ver= TLSv1.2 a=b requestClientApplication=UA x=y==z src=1"),
        &[("ver", "TLSv1.2"), ("a", "b"), ("requestclientapplication", "UA x=y==z"), ("src", "1")],
        &[],
        &["malformed value for x at column 73: unescaped '=' kept in the value"],
        [Some("Incapsula"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
}

/// Imperva lines glue unknown keys into free-text values, with the delimiter between; other vendors do not.
#[test]
fn leef_imperva_free_text_glue() {
    check(&dec("LEEF:0|Incapsula|SIEMintegration|0|Normal| requestClientApplication=Mozilla foo=bar baz=1 src=1.2.3.4 postbody=a=1&b=2 x=y"), &[("requestclientapplication", "Mozilla foo=bar baz=1"), ("src", "1.2.3.4"), ("postbody", "a=1&b=2 x=y")], &[], &["malformed value for postbody at column 113: unescaped '=' kept in the value"], [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None]);
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tcs9=a\tq=1\tpopName=mia\tfoo=2"),
        &[("cs9", "a\tq=1"), ("devicefacility", "mia"), ("foo", "2")],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|Other|P|0|N| requestClientApplication=Mozilla foo=bar"),
        &[("requestclientapplication", "Mozilla"), ("foo", "bar")],
        &[],
        &[],
        [Some("Other"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
}

/// Where '= ' occurs on an Imperva line, every value loses one leading blank.
#[test]
fn leef_imperva_blank_after_equals() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tver= TLSv1.3\tcs9=  two\tsrc=1"),
        &[("ver", "TLSv1.3"), ("cs9", " two"), ("src", "1")],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:1.0|V|P|1|E|ver= TLSv1.3\tsrc=1"),
        &[("ver", " TLSv1.3"), ("src", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("1.0"), None, None],
    );
}

/// `\=` `\\` `\n` `\r` are un-escaped; other backslashes stay.
#[test]
fn leef_unescape_and_backslashes() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tqstr=a\\=b\\\\c\\nd\\re\\qf\\\tsrc=1\\"),
        &[("qstr", "a=b\\c\nd\re\\qf\\"), ("src", "1\\")],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
}

/// Repeated keys: first position, first non-empty value, all values in dups by first appearance.
#[test]
fn leef_repeated_keys() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\tcs9=\tsrc=1\tcs9=x\tsrc=2\tcs9=y"),
        &[("cs9", "x"), ("src", "1")],
        &[("cs9", &["", "x", "y"]), ("src", &["1", "2"])],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:1.0|V|P|1|E|b=1\ta=\ta=\tb=2"),
        &[("b", "1"), ("a", "")],
        &[("b", &["1", "2"]), ("a", &["", ""])],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("1.0"), None, None],
    );
}

/// The last value loses blanks and delimiters; line ends go first.
#[test]
fn leef_trailing_delimiters_and_line_ends() {
    check(
        &dec("LEEF:2.0|V|P|1|E|^|a=1^b=2^^ \t"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("1"), Some("E"), Some("2.0"), None, None],
    );
    check(
        &dec("LEEF:0|V|P|0|N|a=1\tb=2 \t\r\n\r"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
    let e = err("LEEF:0|V|P|0|N| a=1 b=2  \t\r\n");
    assert_eq!((e.reason.as_str(), e.column), ("invalid extensions; keyless value present: ' a=1 b=2  \\t'", 16));
    assert_eq!(
        e.hint.as_deref(),
        Some("extension attributes are key=value pairs separated by spaces (LEEF: by its delimiter)")
    );
}

/// Blanks (Python's, including \x1c) before the first key are allowed.
#[test]
fn leef_blanks_before_first_key() {
    check(
        &dec("LEEF:0|V|P|0|N|   a=1"),
        &[("a", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|V|P|0|N|\t \ta=1\tb=2"),
        &[("a", "1"), ("b", "2")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|V|P|0|N|\u{1c} a=1"),
        &[("a", "1")],
        &[],
        &[],
        [Some("V"), Some("P"), Some("0"), Some("N"), Some("0"), None, None],
    );
}

/// Python raises IndexError on TAB-separated blanks (see the module docs); here: no attributes.
#[test]
fn leef_blank_attributes_only() {
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\t\t"),
        &[],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
    check(
        &dec("LEEF:0|Incapsula|SIEMintegration|0|Normal|\t \t"),
        &[],
        &[],
        &[],
        [Some("Incapsula"), Some("SIEMintegration"), Some("0"), Some("Normal"), Some("0"), None, None],
    );
}

/// Hostile lines stay linear (Python's dict and regex are): a hundred thousand keys, each
/// repeated in another case, and a key-character delimiter over one long run. A quadratic
/// implementation would not finish this test in any reasonable time; nothing here is timed.
#[test]
fn leef_many_keys_and_long_runs_stay_linear() {
    let n = 100_000;
    let firsts: Vec<String> = (0..n).map(|i| format!("k{i}=v{i}")).collect();
    let seconds: Vec<String> = (0..n).map(|i| format!("K{i}=w{i}")).collect();
    let rec = dec(&format!("LEEF:1.0|V|P|1|E|{}\t{}", firsts.join("\t"), seconds.join("\t")));
    assert_eq!(rec.ext.len(), n);
    assert_eq!(rec.dups.len(), n);
    assert_eq!(rec.dups[1], ("k1".into(), vec!["v1".into(), "w1".into()]));
    assert_eq!(rec.ext[n - 1], ("k99999".into(), "v99999".into()));

    let rec = dec(&format!("LEEF:2.0|V|P|1|E|a|k={}b", "a".repeat(400_000)));
    assert_eq!(rec.ext.len(), 1);
    assert_eq!(get(&rec, "k").len(), 400_001);
    assert!(rec.warnings.is_empty());
}

/// One warning per value on a line of many unescaped '=' (columns are counted as Python counts
/// them, without going back to the start of the line for each).
#[test]
fn leef_many_warnings_stay_linear() {
    let n = 50_000;
    let pairs: Vec<String> = (0..n).map(|i| format!("k{i}=a=b")).collect();
    let line = format!("LEEF:1.0|V|P|1|E|x=y\t{}", pairs.join("\t"));
    let rec = dec(&line);
    assert_eq!(rec.warnings.len(), n);
    let last_eq = line.rfind("a=b").expect("a=b") + 2;
    assert_eq!(
        rec.warnings[n - 1],
        format!("malformed value for k{} at column {last_eq}: unescaped '=' kept in the value", n - 1)
    );
    let rec = dec(&format!("LEEF:1.0|Vé|P|1|E|k=a=b\t{}", "é".repeat(10)));
    assert_eq!(rec.warnings, ["malformed value for k at column 22: unescaped '=' kept in the value"]);
}
