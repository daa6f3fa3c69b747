//! Times: ISO text with milliseconds, plausible epoch milliseconds, W3C date and time.

use _native::ecs::{iso_ms, to_date, w3c_timestamp, PLAUSIBLE_MS};

use crate::support::message;

#[test]
fn iso_ms_writes_utc_with_milliseconds() {
    for (ms, want) in [
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (1_453_290_121_336, "2016-01-20T11:42:01.336Z"),
        (946_684_800_000, "2000-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_709_164_800_123, "2024-02-29T00:00:00.123Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (253_402_300_800_000, "10000-01-01T00:00:00.000Z"),
        (-30_610_224_000_000, "1000-01-01T00:00:00.000Z"),
        // Intended difference 7: Python (glibc strftime) wrote "1-01-01T00:00:00.000Z".
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        (-62_135_596_800_001, "0000-12-31T23:59:59.999Z"),
    ] {
        assert_eq!(iso_ms(ms), want, "{ms}");
    }
    let _ = iso_ms(i64::MIN);
    let _ = iso_ms(i64::MAX);
}

#[test]
fn dates_are_plausible_epoch_milliseconds() {
    assert_eq!(PLAUSIBLE_MS, 946_684_800_000..4_102_444_800_000);
    assert_eq!(to_date("946684800000"), Ok(946_684_800_000));
    assert_eq!(to_date(" 4102444799999 "), Ok(4_102_444_799_999));
    assert_eq!(to_date("0001453290121336"), Ok(1_453_290_121_336));
    let implausible = " is not a plausible epoch-milliseconds time (expected between 2000 and 2100)";
    // Intended difference 2: seconds are no longer multiplied up; the range is checked.
    for input in ["946684799999", "4102444800000", "0", "1453290121", "1453290121336000", "99999999999999999999999"] {
        assert_eq!(message(to_date(input)), format!("'{input}'{implausible}"));
    }
    // Intended difference 1: "١٤٥٣٢٩٠١٢١٣٣٦".isdigit() is true in Python.
    assert_eq!(message(to_date("١٤٥٣٢٩٠١٢١٣٣٦")), "'١٤٥٣٢٩٠١٢١٣٣٦' is not epoch milliseconds");
}

#[test]
fn w3c_date_and_time_must_be_a_real_utc_time() {
    let at = |d, t| w3c_timestamp(d, t).map(iso_ms);
    assert_eq!(at("2017-06-28", "07:26:35").as_deref(), Ok("2017-06-28T07:26:35.000Z"));
    assert_eq!(at("2024-02-29", "23:59:59.5").as_deref(), Ok("2024-02-29T23:59:59.500Z"));
    assert_eq!(at("2000-02-29", "00:00:00.12").as_deref(), Ok("2000-02-29T00:00:00.120Z"));
    assert_eq!(at("1970-01-01", "00:00:00.001").as_deref(), Ok("1970-01-01T00:00:00.001Z"));
    assert_eq!(at("0001-01-01", "00:00:00").as_deref(), Ok("0001-01-01T00:00:00.000Z"));
    assert_eq!(at("9999-12-31", "23:59:59.999").as_deref(), Ok("9999-12-31T23:59:59.999Z"));
    assert_eq!(w3c_timestamp("2016-01-20", "11:42:01.336"), Ok(1_453_290_121_336));
    // Intended difference 4: version 1 built "{date}T{time}Z" from any text.
    let bad_date = " is not a calendar date (expected YYYY-MM-DD, year 0001 to 9999)";
    let bad_time = " is not a time of day (expected HH:MM:SS or HH:MM:SS.mmm, UTC)";
    for date in [
        "hello",
        "2024-02-30",
        "2023-02-29",
        "1900-02-29",
        "2024-04-31",
        "2024-13-01",
        "2024-00-10",
        "2024-01-00",
        "-0001-01-01",
        "0000-01-01",
        "10000-01-01",
        "2024-1-01",
        "2024/01/01",
        " 2024-01-01",
        "٢٠٢٤-01-01",
        "",
    ] {
        assert_eq!(message(w3c_timestamp(date, "00:00:00")), format!("'{date}'{bad_date}"), "{date:?}");
    }
    for time in [
        "world",
        "25:61:61",
        "24:00:00",
        "23:60:00",
        "23:59:60",
        "1:02:03",
        "12:00",
        "12:00:00.",
        "12:00:00.1234",
        "12:00:00Z",
        "12:00:00 ",
        "12-00-00",
        "",
    ] {
        assert_eq!(message(w3c_timestamp("2024-01-01", time)), format!("'{time}'{bad_time}"), "{time:?}");
    }
    // The date is judged first.
    assert_eq!(message(w3c_timestamp("hello", "world")), format!("'hello'{bad_date}"));
}
