//! `@timestamp` and where it came from (`imperva.waf.timestamp_source`): `start`, else the
//! record's `date` + `time` (W3C), else the file header's `startTime`, else the ingest time
//! (DESIGN §1). A `date`/`time` pair that is not a real UTC time is invalid and skipped
//! (intended difference 3 of [`super`]); a header `startTime` that is not a plausible time is
//! skipped (intended difference 2).

use crate::document::Value;
use crate::ecs::w3c_timestamp;
use crate::fields::{EVENT_START, IMPERVA_WAF_TIMESTAMP_SOURCE, TIMESTAMP};

use super::table::Seen;
use super::{Counters, Draft, FileContext};

/// A date and a time that are valid on their own, to tell which of a bad pair is bad.
const SOME_DATE: &str = "2000-01-01";
const SOME_TIME: &str = "00:00:00";

pub(crate) fn timestamp(seen: &Seen<'_>, ctx: &FileContext, draft: &mut Draft, counters: &mut Counters) {
    let (ms, source) = match draft.row.get(EVENT_START) {
        Some(Value::Date(ms)) => (ms, "start"),
        _ => match date_time(seen, draft, counters) {
            Some(ms) => (ms, "date_time"),
            None => match ctx.start_time_ms() {
                Some(ms) => (ms, "file_start_time"),
                None => (ctx.ingest_ms(), "ingest_time"),
            },
        },
    };
    draft.row.set_date(TIMESTAMP, ms);
    draft.row.set_str(IMPERVA_WAF_TIMESTAMP_SOURCE, source);
}

/// The record's `date` + `time`, when both are non-empty and form a real time; a bad one is kept
/// under `imperva.waf.invalid` with its warning.
fn date_time(seen: &Seen<'_>, draft: &mut Draft, counters: &mut Counters) -> Option<i64> {
    let date = seen.date.filter(|d| !d.is_empty())?;
    let time = seen.time.filter(|t| !t.is_empty())?;
    match w3c_timestamp(date, time) {
        Ok(ms) => Some(ms),
        Err(_) => {
            if let Err(bad) = w3c_timestamp(date, SOME_TIME) {
                draft.reject("date", date, bad.message(), counters);
            }
            if let Err(bad) = w3c_timestamp(SOME_DATE, time) {
                draft.reject("time", time, bad.message(), counters);
            }
            None
        }
    }
}
