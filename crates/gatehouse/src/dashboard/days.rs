//! Local calendar days in the operating system's time zone.
//!
//! A day starts at local midnight and ends at the next one, so it is 23 or
//! 25 hours long when the clocks change. Reports bucket requests by these
//! boundaries, computed here with jiff rather than by SQLite's `localtime`,
//! which follows the TZ variable of whichever process runs the query.

use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A problem with the days a report was asked for.
#[derive(Debug, thiserror::Error)]
pub enum DayError {
    #[error("\"{text}\" is not a date; write it as YYYY-MM-DD, e.g. 2026-11-02")]
    NotADate { text: String },
    #[error("the range ends ({last}) before it starts ({first}); pick a last day on or after the first")]
    Reversed { first: Date, last: Date },
    #[error("the range {first} … {last} is longer than {max} days; pick a shorter one")]
    TooLong { first: Date, last: Date, max: i64 },
    #[error("local midnight of {date} does not exist in the time zone: {source}")]
    Zone { date: Date, source: jiff::Error },
}

/// The longest range a report covers, in days (about 10 years).
const MAX_DAYS: i64 = 3700;

/// One local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Day {
    pub(crate) date: Date,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
}

/// Local midnight starting `date`, as Unix milliseconds.
pub(crate) fn midnight_ms(zone: &TimeZone, date: Date) -> Result<i64, DayError> {
    // `to_zoned` picks the first instant of the day when midnight falls in a gap.
    let start = date.to_zoned(zone.clone()).map_err(|source| DayError::Zone { date, source })?;
    Ok(start.timestamp().as_millisecond())
}

/// Today's date in `zone`.
pub(crate) fn today(zone: &TimeZone) -> Date {
    jiff::Timestamp::now().to_zoned(zone.clone()).date()
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse(text: &str) -> Result<Date, DayError> {
    text.trim().parse().map_err(|_| DayError::NotADate { text: text.to_string() })
}

/// Every day from `first` to `last`, both included.
pub(crate) fn between(zone: &TimeZone, first: Date, last: Date) -> Result<Vec<Day>, DayError> {
    if last < first {
        return Err(DayError::Reversed { first, last });
    }
    let span = first.until(last).map_err(|source| DayError::Zone { date: last, source })?.get_days() as i64;
    if span >= MAX_DAYS {
        return Err(DayError::TooLong { first, last, max: MAX_DAYS });
    }
    let mut days = Vec::with_capacity(span as usize + 1);
    let mut date = first;
    let mut start_ms = midnight_ms(zone, date)?;
    loop {
        let next = date.tomorrow().map_err(|source| DayError::Zone { date, source })?;
        let end_ms = midnight_ms(zone, next)?;
        days.push(Day { date, start_ms, end_ms });
        if date == last {
            return Ok(days);
        }
        (date, start_ms) = (next, end_ms);
    }
}

/// The index of the day holding `ts_ms`, if any (`days` is sorted and contiguous).
pub(crate) fn index_of(days: &[Day], ts_ms: i64) -> Option<usize> {
    let index = days.partition_point(|day| day.end_ms <= ts_ms);
    days.get(index).filter(|day| day.start_ms <= ts_ms).map(|_| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    #[test]
    fn days_follow_the_zone_and_its_clock_changes() {
        let paris = zone("Europe/Paris");
        let days = between(&paris, parse("2026-10-24").unwrap(), parse("2026-10-26").unwrap()).unwrap();
        assert_eq!(days.len(), 3);
        // 2026-10-25 is 25 hours long in Paris (summer time ends).
        let hours: Vec<i64> = days.iter().map(|d| (d.end_ms - d.start_ms) / 3_600_000).collect();
        assert_eq!(hours, [24, 25, 24]);
        // Midnight in Paris on the 24th is 22:00 UTC on the 23rd (UTC+2).
        assert_eq!(days[0].start_ms, jiff::Timestamp::from_second(1_792_792_800).unwrap().as_millisecond());
        assert_eq!(index_of(&days, days[1].start_ms), Some(1));
        assert_eq!(index_of(&days, days[1].end_ms - 1), Some(1));
        assert_eq!(index_of(&days, days[0].start_ms - 1), None);
        assert_eq!(index_of(&days, days[2].end_ms), None);
    }

    #[test]
    fn bad_ranges_are_refused_with_what_to_do() {
        let utc = TimeZone::UTC;
        let reversed = between(&utc, parse("2026-11-02").unwrap(), parse("2026-11-01").unwrap()).unwrap_err();
        assert!(reversed.to_string().contains("before it starts"), "{reversed}");
        let error = parse("02/11/2026").unwrap_err();
        assert!(error.to_string().contains("YYYY-MM-DD"), "{error}");
        assert!(between(&utc, parse("2000-01-01").unwrap(), parse("2026-01-01").unwrap()).is_err());
    }
}
