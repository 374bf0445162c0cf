//! A small typed reader over `serde_json::Value` that records every problem with its JSON path.
//!
//! serde's derive stops at the first error and does not say where it was; a DBA fixing an
//! upstream export needs every problem, each with a path such as
//! `ServiceCompanyGroups[3].ServiceCompanies[0].Users[7].UserId`.

use crate::clock::{Date, Timestamp};
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

/// PostgreSQL's text cannot hold NUL: such text is refused where it enters, by its path,
/// never truncated.
pub const NUL_REFUSED: &str = "contains a NUL character (\\u0000), which PostgreSQL text cannot hold";

/// The path of the first string (key or value) inside `v` that holds a NUL.
pub fn first_nul(v: &Value, path: &Path) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(path.to_string()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| first_nul(item, &path.index(i))),
        Value::Object(fields) => fields.iter().find_map(|(k, item)| {
            if k.contains('\0') {
                return Some(format!("{path} (a key)"));
            }
            first_nul(item, &path.key(k))
        }),
        _ => None,
    }
}

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
            Value::String(s) if s.contains('\0') => {
                self.fail(path, NUL_REFUSED);
                None
            }
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
    fn uuids_are_canonicalised_and_nil_refused() {
        assert_eq!(parse_uuid("C278B273-7D6B-4394-9911-7FE85FB50181").unwrap(), "c278b273-7d6b-4394-9911-7fe85fb50181");
        assert!(parse_uuid("00000000-0000-0000-0000-000000000000").is_none());
        assert!(parse_uuid("c278b273-7d6b-4394-9911-7fe85fb5018").is_none());
        assert!(parse_uuid("c278b273x7d6b-4394-9911-7fe85fb50181").is_none());
    }
}
