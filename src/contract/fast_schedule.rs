//! Reading a schedule file straight from its bytes without building the Jobs as a JSON tree:
//! the jobs are most of the file and the sync only counts them. The header is read into a
//! small JSON object and checked by the same reader as any document, so errors are the same.

use super::reader::Reader;
use super::schedule::{self, ScheduleFile};
use super::ContractError;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// What the Jobs field turned out to be: counted when an array, else a stand-in of its type
/// so that the reader reports it as it would the real value.
enum Jobs {
    Counted(usize),
    Other(Value),
}

impl<'de> de::Deserialize<'de> for Jobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct JobsVisitor;
        impl<'de> Visitor<'de> for JobsVisitor {
            type Value = Jobs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Jobs, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Jobs::Counted(n))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Jobs, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Jobs::Other(Value::Object(Map::new())))
            }
            fn visit_str<E>(self, _: &str) -> Result<Jobs, E> {
                Ok(Jobs::Other(Value::String(String::new())))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Jobs, E> {
                Ok(Jobs::Other(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Jobs, E> {
                Ok(Jobs::Other(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Jobs, E> {
                Ok(Jobs::Other(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Jobs, E> {
                Ok(Jobs::Other(serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)))
            }
            fn visit_unit<E>(self) -> Result<Jobs, E> {
                Ok(Jobs::Other(Value::Null))
            }
        }
        d.deserialize_any(JobsVisitor)
    }
}

/// The document's top level: every field but Jobs as JSON, Jobs counted. A top level that is
/// not an object is kept whole, for the reader to report.
enum Top {
    Object(Map<String, Value>, Option<Jobs>),
    NotObject(Value),
}

impl<'de> de::Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = Top;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
                let (mut fields, mut jobs) = (Map::new(), None);
                while let Some(key) = map.next_key::<String>()? {
                    if key == "Jobs" {
                        jobs = Some(map.next_value::<Jobs>()?);
                    } else {
                        let v = map.next_value::<Value>()?;
                        fields.insert(key, v);
                    }
                }
                Ok(Top::Object(fields, jobs))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Top::NotObject(Value::Array(vec![])))
            }
            fn visit_str<E>(self, _: &str) -> Result<Top, E> {
                Ok(Top::NotObject(Value::String(String::new())))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Top, E> {
                Ok(Top::NotObject(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Top, E> {
                Ok(Top::NotObject(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Top, E> {
                Ok(Top::NotObject(n.into()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Top, E> {
                Ok(Top::NotObject(0.into()))
            }
            fn visit_unit<E>(self) -> Result<Top, E> {
                Ok(Top::NotObject(Value::Null))
            }
        }
        d.deserialize_any(TopVisitor)
    }
}

/// Parse and check a schedule file from its bytes.
pub fn read_schedule_bytes(bytes: &[u8]) -> Result<ScheduleFile, ContractError> {
    let top: Top = serde_json::from_slice(bytes).map_err(|e| ContractError::at_root(format!("not valid JSON: {e}")))?;
    let (doc, count) = match top {
        Top::NotObject(v) => (v, 0),
        Top::Object(mut fields, jobs) => {
            let count = match jobs {
                None => 0,
                Some(Jobs::Counted(n)) => {
                    fields.insert("Jobs".into(), Value::Array(vec![]));
                    n
                }
                Some(Jobs::Other(v)) => {
                    fields.insert("Jobs".into(), v);
                    0
                }
            };
            (Value::Object(fields), count)
        }
    };
    let mut r = Reader::default();
    let file = schedule::read(&mut r, &doc).map(|f| ScheduleFile { job_count: count, ..f });
    super::finish(r, file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{parse_json, read_schedule};

    /// Both ways of reading agree, on good documents and on every kind of bad one.
    fn same_as_tree(bytes: &[u8]) {
        let tree = parse_json(bytes).and_then(|v| read_schedule(&v));
        assert_eq!(read_schedule_bytes(bytes), tree, "{}", String::from_utf8_lossy(bytes));
    }

    #[test]
    fn agrees_with_the_tree_reader() {
        same_as_tree(include_bytes!("../../tests/fixtures/sample/1_schedules.json"));
        same_as_tree(include_bytes!("../../tests/fixtures/sample/2_schedules.json"));
        let good = String::from_utf8(include_bytes!("../../tests/fixtures/sample/1_schedules.json").to_vec()).unwrap();
        for (from, to) in [
            ("\"Jobs\": [", "\"Jobs\": {\"a\": [1], \"b\": 2}, \"X\": ["),
            ("\"Jobs\": [", "\"Jobs\": \"none\", \"X\": ["),
            ("\"Jobs\": [", "\"Jobs\": 3, \"X\": ["),
            ("\"Jobs\": [", "\"Jobs\": null, \"X\": ["),
            ("\"Jobs\": [", "\"NotJobs\": ["),
            ("\"ServiceCompanyId\": 1,", "\"ServiceCompanyId\": \"1\","),
            ("\"GeneratedAt\": \"2025-12-10T21:00:53Z\"", "\"GeneratedAt\": \"soon\""),
        ] {
            same_as_tree(good.replacen(from, to, 1).as_bytes());
        }
        for doc in [&b"[1, 2]"[..], b"\"x\"", b"null", b"42", b"true", b"{\"Jobs\": [1, 2", b"{}"] {
            same_as_tree(doc);
        }
        assert_eq!(read_schedule_bytes(include_bytes!("../../tests/fixtures/sample/1_schedules.json")).unwrap().job_count, 2);
    }
}
