//! Time, in one place: RFC 3339 instants from the contract, calendar dates, HTTP dates for
//! Azure, SAS expiries, and how instants cross into PostgreSQL. Parsing and calendar math are
//! the `time` crate's (a hand-rolled parser once panicked on one non-ASCII character).
//! Pure Rust: worker threads and plain `#[test]`s use all of it.

use time::format_description::well_known::Rfc3339;
use time::macros::{datetime, format_description};
use time::{OffsetDateTime, PrimitiveDateTime};

/// An instant, in microseconds since the Unix epoch: PostgreSQL's precision. .NET's seven
/// fractional digits are truncated to six, the same way on both sides of every comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

const MICROS_PER_SECOND: i64 = 1_000_000;

/// PostgreSQL counts timestamps from 2000-01-01 00:00 UTC.
const POSTGRES_EPOCH: OffsetDateTime = datetime!(2000-01-01 0:00 UTC);

impl Timestamp {
    /// RFC 3339 with an offset (`2025-12-10T21:00:53Z`, `...53.1234567-05:00`); None for
    /// anything else, whatever bytes it holds.
    pub fn parse(s: &str) -> Option<Timestamp> {
        OffsetDateTime::parse(s, &Rfc3339).ok().map(Timestamp::from_datetime)
    }

    fn from_datetime(t: OffsetDateTime) -> Timestamp {
        Timestamp((t.unix_timestamp_nanos() / 1_000) as i64)
    }

    fn datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000).ok()
    }

    pub fn now() -> Timestamp {
        Timestamp::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(MICROS_PER_SECOND)
    }

    /// Microseconds since PostgreSQL's epoch: what a `timestamptz` datum holds.
    pub fn postgres_micros(self) -> i64 {
        self.0 - POSTGRES_EPOCH.unix_timestamp() * MICROS_PER_SECOND
    }

    /// ISO 8601 in UTC with microseconds (`2025-12-10T21:00:53.000000Z`), which PostgreSQL
    /// reads as timestamptz.
    pub fn to_iso(self) -> String {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
        self.datetime().and_then(|t| t.format(format).ok()).unwrap_or_else(|| format!("(out of range: {} µs)", self.0))
    }
}

/// A calendar day `YYYY-MM-DD`, kept as the text it came as (it names storage paths).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(String);

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let format = format_description!("[year padding:zero repr:full]-[month]-[day]");
        (s.len() == 10 && time::Date::parse(s, format).is_ok()).then(|| Date(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A SAS token's `se`: a date, or a date and time in UTC with or without seconds, as Azure
/// accepts them.
pub fn parse_sas_expiry(se: &str) -> Option<Timestamp> {
    if let Some(t) = Timestamp::parse(se) {
        return Some(t);
    }
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]Z");
    if let Ok(t) = PrimitiveDateTime::parse(se, minutes) {
        return Some(Timestamp::from_datetime(t.assume_utc()));
    }
    let day = format_description!("[year]-[month]-[day]");
    time::Date::parse(se, day).ok().map(|d| Timestamp::from_datetime(d.midnight().assume_utc()))
}

const HTTP_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 7231's IMF-fixdate, for `x-ms-date`).
pub fn http_date(t: Timestamp) -> String {
    t.datetime().and_then(|d| d.format(HTTP_DATE).ok()).unwrap_or_default()
}

/// An IMF-fixdate back to an instant (List Blobs' `Last-Modified`).
pub fn parse_http_date(s: &str) -> Option<Timestamp> {
    PrimitiveDateTime::parse(s.trim(), HTTP_DATE).ok().map(|t| Timestamp::from_datetime(t.assume_utc()))
}

/// A timestamptz column as Unix microseconds, in SQL: how instants come back through SPI
/// (they go in as `to_iso()` text).
pub fn sql_unix_micros(column: &str) -> String {
    format!("(extract(epoch FROM {column}) * 1000000)::bigint")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_offsets_and_fractions() {
        let z = Timestamp::parse("2025-12-10T21:00:53Z").unwrap();
        let off = Timestamp::parse("2025-12-10T16:00:53-05:00").unwrap();
        assert_eq!(z, off);
        let frac = Timestamp::parse("2025-12-10T21:00:53.1234567Z").unwrap();
        assert_eq!(frac.0 - z.0, 123456);
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z").unwrap().0, 0);
        assert_eq!(z.to_iso(), "2025-12-10T21:00:53.000000Z");
        assert_eq!(Timestamp::parse("2024-02-29T23:59:59.5+00:00").unwrap().to_iso(), "2024-02-29T23:59:59.500000Z");
        for bad in ["2025-12-10T21:00:53", "2025-13-10T21:00:53Z", "2025-02-30T00:00:00Z", "yesterday", "2025-12-10T25:00:00Z", "2025-12-10T21:00:53.Z"] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn any_bytes_are_refused_without_a_panic() {
        // The reproduction: one multi-byte character where a digit belongs.
        for bad in ["2026-11-29T1é:00:53Z", "2026-11-29Té1:00:53Z", "éééééééééééééééééééé", "2026-11-29T10:00:53+0é:00", "\u{0}"] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
            assert!(Date::parse(bad).is_none(), "{bad}");
            assert!(parse_http_date(bad).is_none(), "{bad}");
            assert!(parse_sas_expiry(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dates_are_real_calendar_days() {
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2025-02-29").is_none());
        assert!(Date::parse("2025-1-01").is_none());
        assert!(Date::parse("2025-12-10") < Date::parse("2025-12-11"));
    }

    #[test]
    fn http_dates_round_trip() {
        let t = Timestamp(784_111_777 * MICROS_PER_SECOND);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(http_date(Timestamp(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn sas_expiries_in_every_form_azure_accepts() {
        let midnight = Timestamp::parse("2030-01-01T00:00:00Z");
        assert_eq!(parse_sas_expiry("2030-01-01"), midnight);
        assert_eq!(parse_sas_expiry("2030-01-01T00:00Z"), midnight);
        assert_eq!(parse_sas_expiry("2030-01-01T00:00:00Z"), midnight);
        assert_eq!(parse_sas_expiry("next year"), None);
    }

    #[test]
    fn postgres_counts_from_2000() {
        assert_eq!(Timestamp::parse("2000-01-01T00:00:00Z").unwrap().postgres_micros(), 0);
        assert_eq!(Timestamp::parse("2000-01-01T00:00:01Z").unwrap().postgres_micros(), 1_000_000);
    }
}
