//! Clock helpers: RFC 1123 dates for `x-ms-date`, and Unix time.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for a Unix time.
pub fn http_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let iso = crate::contract::Timestamp(unix * 1_000_000).to_iso();
    let (y, m, d) = (&iso[0..4], iso[5..7].parse::<usize>().unwrap_or(1), &iso[8..10]);
    let weekday = DAYS[unix.div_euclid(86400).rem_euclid(7) as usize];
    format!("{weekday}, {d} {} {y} {} GMT", MONTHS[m - 1], &iso[11..19])
}

/// RFC 1123 back to Unix time (List Blobs' `Last-Modified`).
pub fn parse_http_date(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 {
        return None;
    }
    let m = MONTHS.iter().position(|x| *x == parts[2])? + 1;
    let iso = format!("{}-{m:02}-{:0>2}T{}Z", parts[3], parts[1], parts[4]);
    crate::contract::Timestamp::parse(&iso).map(|t| t.0 / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
