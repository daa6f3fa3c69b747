//! Integration tests of the W3C decoder. First every decoder case of the Python oracle's
//! `tests/decode/test_w3c.py`, with the same inputs and expectations; then the branches those
//! cases miss, with expectations taken from the oracle's output for the same lines.

use _native::decode::w3c::{tokenize, W3cDecoder};
use _native::decode::{DecodeError, Format, RawRecord};

// The constructed W3C file of FORMATS §5.4 (tests/decode/samples.py), copied by a script.
const W3C_FILE: &str = "accountID:1234567\nformat:W3C\nstartTime:1718000000000\nendTime:1718000300000\n|==|\n#Software: Incapsula LOGS API\n#Version: 1.1\n#Date: 10/Jun/2024 06:13:20\n#Fields: date time cs-vid cs-clapp cs-browsertype cs-js-support cs-co-support c-ip s-caip cs-clappsig s-capsupport s-suid cs(User-Agent) cs-sessionid s-siteid cs-countrycode s-tag cs-cicode s-computername cs-lat cs-long s-accountname cs-uri cs-postbody cs-version sc-action s-externalid cs(Referrer) s-ip s-port cs-method cs-uri-query sc-status s-xff cs-bytes cs-start cs-rule cs-severity cs-attacktype cs-attackid s-ruleName\n\"2024-06-10\" \"06:13:20\" \"0d9c1f6e-2b7a-4c55-9d0e-5a3e8c1b2f47\" \"Safari\" \"Browser\" \"true\" \"true\" \"2001:db8:abcd::17\" \"\" \"\" \"NA\" \"1234567\" \"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15\" \"1510000220019876543\" \"12345678\" \"DE\" \"example-corp\" \"Frankfurt am Main\" \"shop.example.com\" \"50.1155\" \"8.6842\" \"Example Corp\" \"shop.example.com/api/cart\" \"\" \"HTTPS\" \"REQ_PASSED\" \"512340987654321098\" \"\" \"203.0.113.10\" \"443\" \"POST\" \"\" \"201\" \"2001:db8:abcd::17, 198.51.100.23\" \"512\" \"1718000000123\" \"\" \"\" \"\" \"\" \"\"\n\"2024-06-10\" \"06:13:21\" \"0d9c1f6e-2b7a-4c55-9d0e-5a3e8c1b2f47\" \"Firefox\" \"Browser\" \"true\" \"true\" \"12.12.12.12\" \"\" \"\" \"NA\" \"1234567\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0\" \"1510000220019876544\" \"12345678\" \"IL\" \"example-corp\" \"Rehovot\" \"shop.example.com\" \"31.8969\" \"34.8186\" \"Example Corp\" \"shop.example.com/products\" \"\" \"HTTPS\" \"REQ_BLOCKED_SESSION\" \"512340987654321099\" \"\" \"203.0.113.10\" \"443\" \"GET\" \"id=1%27%20OR%201%3D1\" \"403\" \"12.12.12.12\" \"0\" \"1718000001456\" \"SQL Injection\" \"0\" \"30037,\" \"2,\" \"High Risk SQL Expressions,\"";

fn hdr(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn rec<'a>(d: &mut W3cDecoder, line: &'a str) -> RawRecord<'a> {
    match d.decode(line) {
        Ok(Some(rec)) => rec,
        other => panic!("{line:?} gave {other:?}"),
    }
}

fn ext<'r>(rec: &'r RawRecord) -> Vec<(&'r str, &'r str)> {
    rec.ext.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect()
}

fn get<'a>(rec: &'a RawRecord, key: &str) -> &'a str {
    rec.get(key).unwrap_or_else(|| panic!("no {key} in {:?}", rec.ext))
}

fn directives(d: &W3cDecoder) -> Vec<(&str, &str)> {
    d.directives().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// ext in order, name, severity and format_version; W3C records are always vendor Incapsula,
/// with no dups and no warnings.
fn check(rec: &RawRecord, want: &[(&str, &str)], name: Option<&str>, severity: Option<&str>, version: Option<&str>) {
    assert_eq!(ext(rec), want);
    assert_eq!(
        (rec.name.as_deref(), rec.severity.as_deref(), rec.format_version.as_deref()),
        (name, severity, version)
    );
    assert_eq!((rec.format, rec.vendor.as_deref()), (Some(Format::W3c), Some("Incapsula")));
    assert!(rec.dups.is_empty() && rec.warnings.is_empty());
    assert!(rec.product.is_none() && rec.version.is_none() && rec.signature.is_none() && rec.syslog_prefix.is_none());
}

fn tok_err(line: &str) -> DecodeError {
    tokenize(line).expect_err(line)
}

// ------------------------------------------------------------------- test_w3c.py, case by case

/// The container header (names lower-cased, as the Python test does) and the body lines.
fn file() -> (Vec<(String, String)>, Vec<&'static str>) {
    let (head, body) = W3C_FILE.split_once("|==|\n").expect("separator");
    let header = head
        .lines()
        .map(|line| {
            let (k, v) = line.split_once(':').expect("name:value");
            (k.to_lowercase(), v.to_owned())
        })
        .collect();
    (header, body.split('\n').collect())
}

#[test]
fn sample_file() {
    let (header, lines) = file();
    let mut dec = W3cDecoder::new(&header);
    let out: Vec<Option<RawRecord>> = lines.iter().map(|line| dec.decode(line).expect("decodes")).collect();
    assert!(out[..4].iter().all(Option::is_none)); // directives
    assert_eq!(
        directives(&dec),
        [("Software", "Incapsula LOGS API"), ("Version", "1.1"), ("Date", "10/Jun/2024 06:13:20")]
    );
    assert_eq!(dec.columns().len(), 41);
    let (first, second) = (out[4].as_ref().expect("event"), out[5].as_ref().expect("event"));

    assert_eq!(first.format, Some(Format::W3c));
    assert_eq!(first.vendor.as_deref(), Some("Incapsula"));
    assert_eq!(first.name.as_deref(), Some("Normal")); // empty cs-rule: access event
    assert_eq!(first.severity, None);
    assert_eq!(first.format_version.as_deref(), Some("1.1"));
    assert_eq!((get(first, "date"), get(first, "time")), ("2024-06-10", "06:13:20"));
    assert_eq!(get(first, "cs4"), "0d9c1f6e-2b7a-4c55-9d0e-5a3e8c1b2f47");
    assert_eq!(get(first, "src"), "2001:db8:abcd::17");
    assert!(get(first, "requestclientapplication").starts_with("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"));
    assert_eq!(get(first, "fileid"), "1510000220019876543");
    assert_eq!(get(first, "customer"), "Example Corp");
    assert_eq!(get(first, "cicode"), "Frankfurt am Main");
    assert_eq!(get(first, "request"), "shop.example.com/api/cart");
    assert_eq!(
        (get(first, "app"), get(first, "act"), get(first, "requestmethod"), get(first, "cn1")),
        ("HTTPS", "REQ_PASSED", "POST", "201")
    );
    assert_eq!((get(first, "sip"), get(first, "spt")), ("203.0.113.10", "443"));
    assert_eq!(get(first, "xff"), "2001:db8:abcd::17, 198.51.100.23");
    assert_eq!(get(first, "start"), "1718000000123");
    for empty in ["caip", "cs5", "postbody", "ref", "qstr", "filetype", "cs9"] {
        assert!(first.get(empty).is_none(), "{empty}"); // "" is empty
    }

    assert_eq!((second.name.as_deref(), second.severity.as_deref()), (Some("SQL Injection"), Some("0")));
    assert_eq!(get(second, "qstr"), "id=1%27%20OR%201%3D1");
    assert_eq!((get(second, "filetype"), get(second, "filepermission")), ("30037,", "2,"));
    assert_eq!(get(second, "cs9"), "High Risk SQL Expressions,");
    assert!(second.get("cs-rule").is_none() && second.get("cs-severity").is_none());
}

fn decoder(fields: &str) -> W3cDecoder {
    let mut dec = W3cDecoder::new(&[]);
    assert!(dec.decode(&format!("#Fields: {fields}")).expect("directive").is_none());
    dec
}

#[test]
fn quoted_empty_dash_and_unquoted_values() {
    let mut dec = decoder("date time c-ip cs(User-Agent) cs-uri-query x-extra");
    let r = rec(&mut dec, r#"2024-06-10 "06:13:20" - "Mozilla/5.0 (X11)" "" plain"#);
    assert_eq!(
        ext(&r),
        [
            ("date", "2024-06-10"),
            ("time", "06:13:20"),
            ("requestclientapplication", "Mozilla/5.0 (X11)"),
            ("x-extra", "plain"), // unknown column: its own lower-case name
        ]
    );
}

#[test]
fn quotes_inside_values() {
    let mut dec = decoder("cs(User-Agent) cs-uri s-ip");
    let r = rec(&mut dec, r#""a ""quoted"" b" "x \"y\" z" """""#);
    assert_eq!(ext(&r), [("requestclientapplication", r#"a "quoted" b"#), ("request", r#"x "y" z"#), ("sip", "\"")]);
}

#[test]
fn tokenize_cases() {
    assert_eq!(tokenize(r#""a b" "" - c "d""e""#).unwrap(), ["a b", "", "", "c", "d\"e"]);
    assert_eq!(tokenize(r#""""x""""#).unwrap(), ["\"x\""]);
    assert_eq!(tokenize("  a   b ").unwrap(), ["a", "b"]);
    assert_eq!(tokenize(r#"x"y "z""#).unwrap(), ["x\"y", "z"]);
    let e = tok_err(r#""a" "b"#);
    assert!(e.reason.contains("unterminated"), "{e}");
    assert_eq!(e.column, 5);
}

#[test]
fn wrong_column_count_names_expected_and_found() {
    let mut dec = decoder("date time c-ip");
    let e = dec.decode(r#""2024-06-10" "06:13:20""#).unwrap_err();
    assert!(e.reason.contains("has 2 values, expected 3"), "{e}");
    let e = dec.decode(r#""a" "b" "c" "d""#).unwrap_err();
    assert!(e.reason.contains("has 4 values, expected 3"), "{e}");
    assert!(dec.decode(r#""a" "b" "c""#).unwrap().is_some()); // the decoder goes on after a bad line
}

#[test]
fn data_line_before_fields() {
    let mut dec = W3cDecoder::new(&[]);
    assert!(dec.decode("#Software: Incapsula LOGS API").unwrap().is_none());
    let e = dec.decode(r#""2024-06-10" "06:13:20""#).unwrap_err();
    assert!(e.reason.contains("before any #Fields"), "{e}");
    assert_eq!(e.column, 1);
    assert!(e.hint.as_deref().is_some_and(|h| !h.is_empty()));
}

#[test]
fn field_list_from_a_header_line() {
    for name in ["fields", "W3C fields", "w3cFields", "Field-List"] {
        let mut dec = W3cDecoder::new(&hdr(&[(name, "date, time c-ip")]));
        let r = rec(&mut dec, r#""2024-06-10" "06:13:20" "1.2.3.4""#);
        assert_eq!(ext(&r), [("date", "2024-06-10"), ("time", "06:13:20"), ("src", "1.2.3.4")], "{name}");
    }
}

#[test]
fn later_fields_directive_replaces_earlier() {
    let mut dec = W3cDecoder::new(&hdr(&[("fields", "date time")]));
    assert!(dec.decode("#Fields: c-ip sc-status").unwrap().is_none());
    let r = rec(&mut dec, r#""1.2.3.4" "200""#);
    assert_eq!(ext(&r), [("src", "1.2.3.4"), ("cn1", "200")]);
}

#[test]
fn line_end_and_new_columns() {
    let mut dec = decoder("c-ip c-port cs-end cs-protver s-sitetag cs-ruleInfo");
    let r = rec(&mut dec, "\"1.2.3.4\" \"5\" \"6\" \"TLSv1.3\" \"tag\" \"[]\"\r\n");
    assert_eq!(
        ext(&r),
        [("src", "1.2.3.4"), ("cpt", "5"), ("end", "6"), ("ver", "TLSv1.3"), ("sitetag", "tag"), ("cs11", "[]")]
    );
}

// -------------------------------------------------- branches test_w3c.py misses (oracle output)

/// What the Python reader does for dead-letter replay: restore columns and directives.
#[test]
fn set_fields_and_directives_by_hand() {
    let mut d = W3cDecoder::new(&[]);
    d.set_fields(vec!["c-ip".into(), "cs-severity".into()]);
    d.set_directive("Version", "1.1");
    d.set_directive("Date", "x");
    d.set_directive("Version", "1.2");
    assert_eq!(d.columns(), ["c-ip", "cs-severity"]);
    assert_eq!(directives(&d), [("Version", "1.2"), ("Date", "x")]);
    assert_eq!(d.directive("Version"), Some("1.2"));
    assert_eq!(d.directive("version"), None);
    check(&rec(&mut d, r#""1.2.3.4" "3""#), &[("src", "1.2.3.4")], Some("Normal"), Some("3"), Some("1.2"));
}

#[test]
fn tokenize_escapes_and_errors() {
    assert_eq!(tokenize(r#"\"" x"#).unwrap(), [r#"\"""#, "x"]);
    let e = tok_err(r#""a\""#);
    assert_eq!((e.reason.as_str(), e.column), ("unterminated quoted value (opened at column 1)", 1));
    let e = tok_err(r#"a\" "b"#);
    assert_eq!((e.reason.as_str(), e.column), ("unterminated quoted value (opened at column 5)", 5));
    let e = tok_err("é \"é\" \"é");
    assert_eq!(e.column, 7);
    assert_eq!(tokenize("").unwrap(), [] as [&str; 0]);
}

/// A line that fits the `" "` split keeps `\"` as two characters; the scanner would not.
#[test]
fn fast_path_keeps_backslash_before_separator() {
    let mut d = W3cDecoder::new(&hdr(&[]));
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert!(d.decode("#Fields: c-ip cs-uri").unwrap().is_none());
    assert_eq!(d.columns(), ["c-ip", "cs-uri"] as [&str; 2]);
    assert_eq!(directives(&d), []);
    check(&rec(&mut d, "\"a\\\" \"b\""), &[("src", "a\\"), ("request", "b")], Some("Normal"), None, None);
    check(&rec(&mut d, "\"a\\\" \"b\" "), &[("src", "a\" "), ("request", "b\"")], Some("Normal"), None, None);
    check(&rec(&mut d, "\"a\\\"\" \"b\""), &[("src", "a\""), ("request", "b")], Some("Normal"), None, None);
}

/// Two columns with one key: the first non-empty position, the last non-empty value; cs-rule twice: the last.
#[test]
fn repeated_keys_merge_like_a_dict() {
    let mut d = W3cDecoder::new(&hdr(&[]));
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert!(d.decode("#Fields: cs-uri request CS-URI cs-rule cs-rule c-ip").unwrap().is_none());
    assert_eq!(d.columns(), ["cs-uri", "request", "CS-URI", "cs-rule", "cs-rule", "c-ip"] as [&str; 6]);
    assert_eq!(directives(&d), []);
    check(
        &rec(&mut d, "\"\" \"r1\" \"r2\" \"A\" \"\" \"1.2.3.4\""),
        &[("request", "r2"), ("src", "1.2.3.4")],
        Some("A"),
        None,
        None,
    );
    check(&rec(&mut d, "\"u\" \"\" \"\" \"\" \"B\" \"\""), &[("request", "u")], Some("B"), None, None);
    check(&rec(&mut d, "\"\" \"\" \"\" \"\" \"\" \"\""), &[], Some("Normal"), None, None);
}

/// Unknown columns keep Python's lower case of their name (final sigma, dotted I).
#[test]
fn column_names_lower_case_like_python() {
    let mut d = W3cDecoder::new(&hdr(&[]));
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert!(d.decode("#Fields: ΟΔΟΣ İD X-Extra").unwrap().is_none());
    assert_eq!(d.columns(), ["ΟΔΟΣ", "İD", "X-Extra"] as [&str; 3]);
    assert_eq!(directives(&d), []);
    check(
        &rec(&mut d, "\"a\" \"b\" \"c\""),
        &[("οδος", "a"), ("i̇d", "b"), ("x-extra", "c")],
        Some("Normal"),
        None,
        None,
    );
}

/// A directive seen again keeps its place; names and values are trimmed of Python blanks.
#[test]
fn directives_replace_in_place() {
    let mut d = W3cDecoder::new(&hdr(&[]));
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert!(d.decode("#Software: one").unwrap().is_none());
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert_eq!(directives(&d), [("Software", "one")]);
    assert!(d.decode("#Version: 1.0").unwrap().is_none());
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert_eq!(directives(&d), [("Software", "one"), ("Version", "1.0")]);
    assert!(d.decode("#\u{1c}Software\u{1c}: two \u{1c}").unwrap().is_none());
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert_eq!(directives(&d), [("Software", "two"), ("Version", "1.0")]);
    assert!(d.decode("#").unwrap().is_none());
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert_eq!(directives(&d), [("Software", "two"), ("Version", "1.0"), ("", "")]);
    assert!(d.decode("#Date").unwrap().is_none());
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert_eq!(directives(&d), [("Software", "two"), ("Version", "1.0"), ("", ""), ("Date", "")]);
    assert!(d.decode("# Fields :c-ip").unwrap().is_none());
    assert_eq!(d.columns(), ["c-ip"] as [&str; 1]);
    assert_eq!(directives(&d), [("Software", "two"), ("Version", "1.0"), ("", ""), ("Date", "")]);
    check(&rec(&mut d, "\"1.2.3.4\""), &[("src", "1.2.3.4")], Some("Normal"), None, Some("1.0"));
    assert!(d.decode("#version: 9").unwrap().is_none());
    assert_eq!(d.columns(), ["c-ip"] as [&str; 1]);
    assert_eq!(directives(&d), [("Software", "two"), ("Version", "1.0"), ("", ""), ("Date", ""), ("version", "9")]);
    check(&rec(&mut d, "\"5.6.7.8\"\r\n\r"), &[("src", "5.6.7.8")], Some("Normal"), None, Some("1.0"));
}

/// `#FIELDS` is a field list in any case; blanks around the name are trimmed; an empty list means none.
#[test]
fn fields_directive_spellings() {
    let mut d = W3cDecoder::new(&hdr(&[("fields", "c-ip")]));
    assert_eq!(d.columns(), ["c-ip"] as [&str; 1]);
    check(&rec(&mut d, "\"1\""), &[("src", "1")], Some("Normal"), None, None);
    assert!(d.decode("#FIELDS:\tsc-status\u{3000}cs-uri ").unwrap().is_none());
    assert_eq!(d.columns(), ["sc-status", "cs-uri"] as [&str; 2]);
    assert_eq!(directives(&d), []);
    check(&rec(&mut d, "\"200\" \"/\""), &[("cn1", "200"), ("request", "/")], Some("Normal"), None, None);
    assert!(d.decode("#Fields:").unwrap().is_none());
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert_eq!(directives(&d), []);
    let e = d.decode("\"x\"").unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("W3C data line before any #Fields directive", 1));
    assert_eq!(e.hint.as_deref(), Some("the file must declare its columns with '#Fields:' before the first event"));
}

/// Header names containing `field` in any case set the list; the last one wins; commas separate too.
#[test]
fn header_field_lists() {
    let mut d =
        W3cDecoder::new(&hdr(&[("x", "c-ip"), ("W3C-FIELDS", "c-ip,,sc-status"), ("MyFieldList", ",cs-uri , c-ip,")]));
    assert_eq!(d.columns(), ["cs-uri", "c-ip"] as [&str; 2]);
    check(&rec(&mut d, "\"/\" \"1.2.3.4\""), &[("request", "/"), ("src", "1.2.3.4")], Some("Normal"), None, None);
}

/// Unquoted tokens, `-`, quotes after text, an empty line, a lone quote, and columns in code points.
#[test]
fn tokenizer_edges() {
    let mut d = W3cDecoder::new(&hdr(&[]));
    assert_eq!(d.columns(), [] as [&str; 0]);
    assert!(d.decode("#Fields: a b c").unwrap().is_none());
    assert_eq!(d.columns(), ["a", "b", "c"] as [&str; 3]);
    assert_eq!(directives(&d), []);
    check(&rec(&mut d, "x\"y -  \"z\""), &[("a", "x\"y"), ("c", "z")], Some("Normal"), None, None);
    let e = d.decode("").unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("W3C line has 0 values, expected 3 (one per #Fields column)", 1));
    assert_eq!(e.hint.as_deref(), Some("the line is truncated, or a value holds a quote that is not doubled"));
    let e = d.decode("\"").unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("unterminated quoted value (opened at column 1)", 1));
    assert_eq!(
        e.hint.as_deref(),
        Some("every quoted W3C value must end with a quote; a quote inside a value is written \"\"")
    );
    let e = d.decode("é \"é\" \"é").unwrap_err();
    assert_eq!((e.reason.as_str(), e.column), ("unterminated quoted value (opened at column 7)", 7));
    assert_eq!(
        e.hint.as_deref(),
        Some("every quoted W3C value must end with a quote; a quote inside a value is written \"\"")
    );
    check(&rec(&mut d, "\"a\"b \"c\""), &[("a", "a"), ("b", "b"), ("c", "c")], Some("Normal"), None, None);
    check(&rec(&mut d, "\"\" \"-\" -"), &[("b", "-")], Some("Normal"), None, None);
    check(&rec(&mut d, "- - -"), &[], Some("Normal"), None, None);
}

/// Hostile files stay linear (Python's dicts are): many columns sharing keys, many directives.
/// A quadratic implementation would not finish this test in any reasonable time; nothing here
/// is timed.
#[test]
fn many_columns_and_directives_stay_linear() {
    let n = 100_000;
    let mut d = W3cDecoder::new(&[]);
    assert!(d.decode(&format!("#Fields: {}", ["c-ip", "x"].repeat(n).join(" "))).unwrap().is_none());
    let line = [r#""1" """#, r#""" "2""#].repeat(n / 2).join(" ");
    let r = d.decode(&line).map_err(|e| e.reason).expect("decodes").expect("an event");
    check(&r, &[("src", "1"), ("x", "2")], Some("Normal"), None, None);
    for i in 0..n {
        assert!(d.decode(&format!("#D{i}: v")).unwrap().is_none());
    }
    assert!(d.decode("#D7: w").unwrap().is_none());
    assert_eq!(d.directives().len(), n);
    assert_eq!(d.directive("D7"), Some("w"));
    assert_eq!(d.directives()[7], ("D7".to_owned(), "w".to_owned()));
}
