//! The file contract with the upstream exporter: names in the container, and the two JSON
//! formats, parsed into typed records with every problem reported by JSON path.
//! Pure Rust: no pgrx here, so all of it is tested with plain `#[test]`s.

pub mod fast_schedule;
pub mod reader;
pub mod schedule;
pub mod stream_users;
pub mod users;

pub use fast_schedule::read_schedule_bytes;
pub use stream_users::read_users_bytes;
pub use reader::Problem;
pub use schedule::ScheduleFile;
pub use users::{CompanyRecord, GroupRecord, UserEntry, UsersFile};

use reader::Reader;
use serde_json::Value;
use std::fmt;

pub const USERS_BLOB: &str = "users.json";
pub const USERS_SCHEMA: &str = include_str!("schemas/users.schema.json");
pub const SCHEDULE_SCHEMA: &str = include_str!("schemas/schedule.schema.json");

/// What a blob in the container is, judged by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    Users,
    Schedule(i64),
    Ignored,
}

impl BlobKind {
    pub fn of(name: &str) -> BlobKind {
        if name == USERS_BLOB {
            return BlobKind::Users;
        }
        match name.strip_suffix("_schedules.json") {
            // Digits only (no sign, no path): `1_schedules.json`, not `a/1_schedules.json`.
            Some(id) if !id.is_empty() && id.len() <= 18 && id.bytes().all(|c| c.is_ascii_digit()) => {
                BlobKind::Schedule(id.parse().expect("at most 18 digits fit in i64"))
            }
            _ => BlobKind::Ignored,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BlobKind::Users => "users",
            BlobKind::Schedule(_) => "schedule",
            BlobKind::Ignored => "ignored",
        }
    }
}

/// Which of the two formats a document claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Users,
    Schedule,
}

impl DocKind {
    pub fn from_name(s: &str) -> Option<DocKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "users" | "users.json" => Some(DocKind::Users),
            "schedule" | "schedules" | "schedules.json" => Some(DocKind::Schedule),
            _ => None,
        }
    }
}

/// A document that breaks the contract: every problem found (up to a cap), each with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    pub problems: Vec<Problem>,
    pub truncated: bool,
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        if n != 1 {
            write!(f, "{n}{} problems: ", if self.truncated { "+" } else { "" })?;
        }
        for (i, p) in self.problems.iter().take(5).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        if n > 5 {
            write!(f, "; … ({} more)", n - 5)?;
        }
        Ok(())
    }
}

impl std::error::Error for ContractError {}

impl ContractError {
    pub(crate) fn at_root(message: String) -> ContractError {
        ContractError { problems: vec![Problem { path: "$".into(), message }], truncated: false }
    }
}

pub(crate) fn finish<T>(r: Reader, value: Option<T>) -> Result<T, ContractError> {
    match value {
        Some(v) if r.problems.is_empty() => Ok(v),
        _ => {
            let mut problems = r.problems;
            if problems.is_empty() {
                problems.push(Problem { path: "$".into(), message: "document could not be read".into() });
            }
            Err(ContractError { problems, truncated: r.truncated })
        }
    }
}

/// The UTF-8 byte order mark, which .NET writes at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The document without a leading byte order mark: what is parsed, hashed and stored (JSON
/// readers, PostgreSQL's jsonb among them, refuse one).
pub fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// Raw bytes to JSON; a syntax error says where (line and column) without quoting the input.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ContractError> {
    serde_json::from_slice(without_bom(bytes)).map_err(|e| ContractError::at_root(format!("not valid JSON: {e}")))
}

pub fn read_users(doc: &Value) -> Result<UsersFile, ContractError> {
    let mut r = Reader::default();
    let v = users::read(&mut r, doc);
    finish(r, v)
}

pub fn read_schedule(doc: &Value) -> Result<ScheduleFile, ContractError> {
    let mut r = Reader::default();
    let v = schedule::read(&mut r, doc);
    finish(r, v)
}

/// Every problem of a document as `path: message` lines; empty when it is valid.
pub fn validate(kind: DocKind, doc: &Value) -> Vec<String> {
    let result = match kind {
        DocKind::Users => read_users(doc).err(),
        DocKind::Schedule => read_schedule(doc).err(),
    };
    result.map(|e| e.problems.iter().map(|p| p.to_string()).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
