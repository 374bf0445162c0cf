//! A small typed reader over `serde_json::Value` that records every problem with its JSON path.
//!
//! serde's derive stops at the first error and does not say where it was; a DBA fixing an
//! upstream export needs every problem, each with a path such as
//! `ServiceCompanyGroups[3].ServiceCompanies[0].Users[7].UserId`.

use serde_json::{Map, Value};
use std::fmt;

/// One step of a JSON path. Paths are linked lists on the stack, rendered only on error, so
/// reading 20,000 users allocates no path strings when the document is valid.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A problem found in a document: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Stop collecting after this many problems: a document that is wrong everywhere would
/// otherwise produce an error message as large as itself.
pub const MAX_PROBLEMS: usize = 50;

/// Longest text accepted in a name-like field. Upstream names are short; a multi-megabyte
/// string is a broken export, not a name.
pub const MAX_TEXT_CHARS: usize = 1024;

#[derive(Default)]
pub struct Reader {
    pub problems: Vec<Problem>,
    pub truncated: bool,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Reader {
    pub fn fail(&mut self, path: &Path, message: impl Into<String>) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.truncated = true;
            return;
        }
        self.problems.push(Problem { path: path.to_string(), message: message.into() });
    }

    fn expected(&mut self, path: &Path, what: &str, got: &Value) {
        self.fail(path, format!("expected {what}, got {}", type_name(got)));
    }

    pub fn object<'v>(&mut self, v: &'v Value, path: &Path) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.expected(path, "an object", other);
                None
            }
        }
    }

    /// A field that must be present (null counts as present only where `nullable` says so).
    fn field<'v>(&mut self, obj: &'v Map<String, Value>, path: &Path, key: &str) -> Option<&'v Value> {
        match obj.get(key) {
            Some(v) => Some(v),
            None => {
                self.fail(&path.key(key), "required field is missing");
                None
            }
        }
    }

    pub fn array<'v>(&mut self, obj: &'v Map<String, Value>, path: &Path, key: &str) -> Option<&'v Vec<Value>> {
        match self.field(obj, path, key)? {
            Value::Array(a) => Some(a),
            other => {
                self.expected(&path.key(key), "an array", other);
                None
            }
        }
    }

    pub fn integer(&mut self, obj: &Map<String, Value>, path: &Path, key: &str) -> Option<i64> {
        let v = self.field(obj, path, key)?;
        self.integer_value(v, &path.key(key))
    }

    pub fn integer_value(&mut self, v: &Value, path: &Path) -> Option<i64> {
        match v.as_i64() {
            Some(i) => Some(i),
            None => {
                self.expected(path, "an integer", v);
                None
            }
        }
    }

    /// An integer that may be absent or null.
    pub fn optional_integer(&mut self, obj: &Map<String, Value>, path: &Path, key: &str) -> Option<Option<i64>> {
        match obj.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(v) => self.integer_value(v, &path.key(key)).map(Some),
        }
    }

    pub fn boolean(&mut self, obj: &Map<String, Value>, path: &Path, key: &str) -> Option<bool> {
        match self.field(obj, path, key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.expected(&path.key(key), "a boolean", other);
                None
            }
        }
    }

    fn text_value<'v>(&mut self, v: &'v Value, path: &Path, max_chars: usize) -> Option<&'v str> {
        match v {
            Value::String(s) => {
                // Byte length bounds char count from above: only count chars when it matters.
                if s.len() > max_chars && s.chars().count() > max_chars {
                    self.fail(
                        path,
                        format!("expected a string of at most {max_chars} characters, got {} characters", s.chars().count()),
                    );
                    return None;
                }
                Some(s.as_str())
            }
            other => {
                self.expected(path, "a string", other);
                None
            }
        }
    }

    pub fn text<'v>(&mut self, obj: &'v Map<String, Value>, path: &Path, key: &str) -> Option<&'v str> {
        let v = self.field(obj, path, key)?;
        self.text_value(v, &path.key(key), MAX_TEXT_CHARS)
    }

    /// A string that may be absent or null. `Some(None)` is a valid absence; `None` a problem.
    pub fn optional_text<'v>(&mut self, obj: &'v Map<String, Value>, path: &Path, key: &str) -> Option<Option<&'v str>> {
        match obj.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(v) => self.text_value(v, &path.key(key), MAX_TEXT_CHARS).map(Some),
        }
    }

    pub fn uuid(&mut self, obj: &Map<String, Value>, path: &Path, key: &str) -> Option<String> {
        let v = self.field(obj, path, key)?;
        let p = path.key(key);
        match v.as_str().and_then(parse_uuid) {
            Some(u) => Some(u),
            None => {
                let got = if v.is_string() { "a string that is not a non-nil UUID".to_string() } else { type_name(v).to_string() };
                self.fail(&p, format!("expected a UUID string, got {got}"));
                None
            }
        }
    }

    pub fn timestamp(&mut self, obj: &Map<String, Value>, path: &Path, key: &str) -> Option<Timestamp> {
        let v = self.field(obj, path, key)?;
        let p = path.key(key);
        match v.as_str().and_then(Timestamp::parse) {
            Some(t) => Some(t),
            None => {
                self.fail(&p, format!("expected an RFC 3339 timestamp with offset such as \"2025-12-10T21:00:53Z\", got {}", describe(v)));
                None
            }
        }
    }

    pub fn date(&mut self, obj: &Map<String, Value>, path: &Path, key: &str) -> Option<Date> {
        let v = self.field(obj, path, key)?;
        let p = path.key(key);
        match v.as_str().and_then(Date::parse) {
            Some(d) => Some(d),
            None => {
                self.fail(&p, format!("expected a date \"YYYY-MM-DD\", got {}", describe(v)));
                None
            }
        }
    }
}

/// A short description of a bad value for messages: never the whole value (it may be huge).
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() <= 40 => format!("{s:?}"),
        Value::String(s) => format!("a string of {} bytes", s.len()),
        other => type_name(other).to_string(),
    }
}

/// Lowercased canonical form of a UUID string (8-4-4-4-12 hex digits); the nil UUID is refused
/// because GoTrue refuses it as a user id.
pub fn parse_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return None;
        }
    }
    let lower = s.to_ascii_lowercase();
    if lower == "00000000-0000-0000-0000-000000000000" {
        return None;
    }
    Some(lower)
}

/// A calendar date, kept as its ISO text (which sorts and compares correctly).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub String);

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days since 1970-01-01 (proleptic Gregorian), after Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn parse_ymd(s: &str) -> Option<(i64, i64, i64)> {
    if s.len() != 10 || &s[4..5] != "-" || &s[7..8] != "-" {
        return None;
    }
    let (y, m, d) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        parse_ymd(s)?;
        Some(Date(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An instant, in microseconds since the Unix epoch (PostgreSQL's precision: .NET's seven
/// fractional digits are truncated to six, the same way on both sides of every comparison).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn parse(s: &str) -> Option<Timestamp> {
        if s.len() < 20 || !s.is_char_boundary(10) {
            return None;
        }
        let (y, mo, d) = parse_ymd(&s[..10])?;
        let rest = &s[10..];
        let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t')).or_else(|| rest.strip_prefix(' '))?;
        if rest.len() < 9 || &rest[2..3] != ":" || &rest[5..6] != ":" {
            return None;
        }
        let (h, mi, sec) = (digits(&rest[0..2])?, digits(&rest[3..5])?, digits(&rest[6..8])?);
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut rest = &rest[8..];
        let mut micros = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            let mut six = frac[..n.min(6)].to_string();
            while six.len() < 6 {
                six.push('0');
            }
            micros = digits(&six)?;
            rest = &frac[n..];
        }
        let offset_secs = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":" => {
                let (oh, om) = (digits(&rest[1..3])?, digits(&rest[4..6])?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let v = oh * 3600 + om * 60;
                if rest.starts_with('-') {
                    -v
                } else {
                    v
                }
            }
            _ => return None,
        };
        let secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_secs;
        Some(Timestamp(secs * 1_000_000 + micros))
    }

    /// ISO 8601 in UTC with microseconds, which PostgreSQL reads as timestamptz.
    pub fn to_iso(self) -> String {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86400);
        let sod = secs.rem_euclid(86400);
        // civil_from_days (Hinnant)
        let z = days + 719468;
        let era = if z >= 0 { z } else { z - 146096 } / 146097;
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            sod / 3600,
            (sod % 3600) / 60,
            sod % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_javascript_accessors() {
        let root = Path::Root;
        let a = root.key("ServiceCompanyGroups");
        let b = a.index(3);
        let c = b.key("ServiceCompanies");
        let d = c.index(0);
        let e = d.key("UserId");
        assert_eq!(e.to_string(), "ServiceCompanyGroups[3].ServiceCompanies[0].UserId");
        assert_eq!(Path::Root.to_string(), "$");
    }

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
    fn dates_are_real_calendar_days() {
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2025-02-29").is_none());
        assert!(Date::parse("2025-1-01").is_none());
        assert!(Date::parse("2025-12-10") < Date::parse("2025-12-11"));
    }

    #[test]
    fn uuids_are_canonicalised_and_nil_refused() {
        assert_eq!(parse_uuid("C278B273-7D6B-4394-9911-7FE85FB50181").unwrap(), "c278b273-7d6b-4394-9911-7fe85fb50181");
        assert!(parse_uuid("00000000-0000-0000-0000-000000000000").is_none());
        assert!(parse_uuid("c278b273-7d6b-4394-9911-7fe85fb5018").is_none());
        assert!(parse_uuid("c278b273x7d6b-4394-9911-7fe85fb50181").is_none());
    }
}
