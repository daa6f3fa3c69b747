//! Times: Imperva's epoch milliseconds, W3C `date` + `time`, and the one output form
//! (`2016-01-20T11:42:01.336Z`, DESIGN §1). Proleptic Gregorian calendar, UTC, no leap seconds;
//! days ↔ civil dates by Howard Hinnant's algorithms (no calendar crate needed).

use std::ops::Range;

use super::convert::{invalid_repr, Invalid};
use crate::pytext;

const MS_PER_DAY: i64 = 86_400_000;

/// Epoch-millisecond times a `start`/`end` value may hold: from 2000-01-01T00:00:00Z
/// (inclusive) to 2100-01-01T00:00:00Z (exclusive). Anything else is a unit or data error
/// (seconds, microseconds, a counter), not a time Imperva logged.
pub const PLAUSIBLE_MS: Range<i64> = 946_684_800_000..4_102_444_800_000;

/// A `date` field: epoch milliseconds as Imperva writes them (`start`, `end`), checked against
/// [`PLAUSIBLE_MS`]. Only ASCII digits; surrounding whitespace ignored.
pub fn to_date(value: &str) -> Result<i64, Invalid> {
    let v = pytext::strip(value);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_repr(value, " is not epoch milliseconds"));
    }
    // ASCII digits only: up to 18 of them are read without overflow checks (`str::parse` checked
    // every digit); a longer run is beyond any plausible time.
    let ms = (v.len() <= 18).then(|| v.bytes().fold(0_i64, |n, c| n * 10 + i64::from(c - b'0')));
    match ms {
        Some(ms) if PLAUSIBLE_MS.contains(&ms) => Ok(ms),
        _ => Err(invalid_repr(value, " is not a plausible epoch-milliseconds time (expected between 2000 and 2100)")),
    }
}

/// Epoch milliseconds → `2016-01-20T11:42:01.336Z`. Years 0–9999 are written with four digits;
/// others (never a plausible time) with as many as they need and a `-` before the year 0.
pub fn iso_ms(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    push_iso_ms(&mut out, ms);
    String::from_utf8(out).expect("ASCII")
}

/// [`iso_ms`] appended to `out` (ASCII; the JSON writer puts it straight into a document).
pub fn push_iso_ms(out: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        push_digits(out, year, 4);
    } else {
        out.extend_from_slice(format!("{year:05}").as_bytes());
    }
    out.push(b'-');
    push_digits(out, month, 2);
    out.push(b'-');
    push_digits(out, day, 2);
    out.push(b'T');
    push_digits(out, in_day / 3_600_000, 2);
    out.push(b':');
    push_digits(out, in_day / 60_000 % 60, 2);
    out.push(b':');
    push_digits(out, in_day / 1000 % 60, 2);
    out.push(b'.');
    push_digits(out, in_day % 1000, 3);
    out.push(b'Z');
}

/// `n` (0 ≤ n < 10^width) zero-padded to `width` digits.
fn push_digits(out: &mut Vec<u8>, n: i64, width: u32) {
    let mut scale = 10_i64.pow(width - 1);
    while scale > 0 {
        out.push(b'0' + (n / scale % 10) as u8);
        scale /= 10;
    }
}

/// A W3C event's `date` (`2017-06-28`) and `time` (`07:26:35`, optionally `.5`/`.12`/`.123`)
/// columns, UTC, → epoch milliseconds. The date must exist (year 0001–9999 in four digits,
/// month 01–12, day within the month, leap years honoured) and the time be `HH:MM:SS` within
/// 00:00:00–23:59:59.
pub fn w3c_timestamp(date: &str, time: &str) -> Result<i64, Invalid> {
    let Some((year, month, day)) = parse_date(date.as_bytes()) else {
        return Err(invalid_repr(date, " is not a calendar date (expected YYYY-MM-DD, year 0001 to 9999)"));
    };
    let Some(ms_of_day) = parse_time(time.as_bytes()) else {
        return Err(invalid_repr(time, " is not a time of day (expected HH:MM:SS or HH:MM:SS.mmm, UTC)"));
    };
    Ok(days_from_civil(year, month, day) * MS_PER_DAY + ms_of_day)
}

/// `YYYY-MM-DD` of a real date, year ≥ 1.
fn parse_date(b: &[u8]) -> Option<(i64, i64, i64)> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// `HH:MM:SS[.f{1,3}]` → milliseconds into the day.
fn parse_time(b: &[u8]) -> Option<i64> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let ms = match &b[8..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=3).contains(&frac.len()) => digits(frac)? * 10_i64.pow(3 - frac.len() as u32),
        _ => return None,
    };
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// The value of a run of ASCII digits (at most 4 here), or `None` if any byte is not one.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0_i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 → (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Digit runs of every length read as `str::parse` reads them (the first form).
    #[test]
    fn dates_read_as_parse_reads_them() {
        for len in 1..=22 {
            for fill in ['0', '1', '4', '9'] {
                let run: String = std::iter::repeat_n(fill, len).collect();
                for text in [run.clone(), format!("1{run}"), format!(" 1{run} ")] {
                    let v = text.trim();
                    let want = v.parse::<i64>().ok().filter(|ms| PLAUSIBLE_MS.contains(ms));
                    assert_eq!(to_date(&text).ok(), want, "{text:?}");
                }
            }
        }
        assert_eq!(to_date("1700000000000"), Ok(1_700_000_000_000));
    }
}
