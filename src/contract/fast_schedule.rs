//! Reading a schedule file straight from its bytes without building the Jobs as a JSON tree:
//! the jobs are most of the file and the sync only counts them. The header is read into a
//! small JSON object and checked by the same reader as any document, so errors are the same.

use super::reader::Reader;
use super::schedule::{self, ScheduleFile};
use super::ContractError;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A JSON value read without building it whole: arrays only counted, objects kept (the top
/// level) or skipped (Jobs), scalars kept (they are small). Jobs comes back separately.
enum Outline {
    Array(usize),
    Object(Map<String, Value>, Option<Box<Outline>>),
    Scalar(Value),
}

impl Outline {
    /// A value the reader can judge as it would the real one: same type, same fields.
    fn stand_in(self) -> Value {
        match self {
            Outline::Array(_) => Value::Array(vec![]),
            Outline::Object(fields, _) => Value::Object(fields),
            Outline::Scalar(v) => v,
        }
    }
}

/// A value read to the end and thrown away, but read as strictly as a tree would be: every
/// string decoded (escapes and surrogates checked), every number parsed. serde's IgnoredAny
/// skips strings without checking their escapes, which let a file through that is not JSON
/// (found by the fuzzer: a lone `\ud800` inside a job).
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
}

/// `keep_object`: collect an object's fields (except Jobs, outlined in turn) or skip them.
struct OutlineSeed {
    keep_object: bool,
}

impl<'de> de::DeserializeSeed<'de> for OutlineSeed {
    type Value = Outline;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Outline, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OutlineSeed {
    type Value = Outline;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Outline, A::Error> {
        let mut n = 0;
        while seq.next_element::<Checked>()?.is_some() {
            n += 1;
        }
        Ok(Outline::Array(n))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outline, A::Error> {
        let (mut fields, mut jobs) = (Map::new(), None);
        while let Some(key) = map.next_key::<String>()? {
            if !self.keep_object {
                map.next_value::<Checked>()?;
            } else if key == "Jobs" {
                jobs = Some(Box::new(map.next_value_seed(OutlineSeed { keep_object: false })?));
            } else {
                let v = map.next_value::<Value>()?;
                fields.insert(key, v);
            }
        }
        Ok(Outline::Object(fields, jobs))
    }
    fn visit_str<E>(self, s: &str) -> Result<Outline, E> {
        Ok(Outline::Scalar(Value::String(s.to_string())))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Outline, E> {
        Ok(Outline::Scalar(Value::Bool(b)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Outline, E> {
        Ok(Outline::Scalar(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Outline, E> {
        Ok(Outline::Scalar(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Outline, E> {
        Ok(Outline::Scalar(serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)))
    }
    fn visit_unit<E>(self) -> Result<Outline, E> {
        Ok(Outline::Scalar(Value::Null))
    }
}

/// Parse and check a schedule file from its bytes.
pub fn read_schedule_bytes(bytes: &[u8]) -> Result<ScheduleFile, ContractError> {
    let mut de = serde_json::Deserializer::from_slice(super::without_bom(bytes));
    let outline = de::DeserializeSeed::deserialize(OutlineSeed { keep_object: true }, &mut de)
        .and_then(|o| de.end().map(|()| o))
        .map_err(|e| ContractError::at_root(format!("not valid JSON: {e}")))?;
    let (doc, count) = match outline {
        Outline::Object(mut fields, Some(jobs)) => {
            let count = if let Outline::Array(n) = *jobs { n } else { 0 };
            fields.insert("Jobs".into(), jobs.stand_in());
            (Value::Object(fields), count)
        }
        other => (other.stand_in(), 0),
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
        // Found by the fuzzer: text inside a job that is not JSON (a lone surrogate, a number
        // out of range) was skipped unchecked and the file accepted.
        same_as_tree(good.replacen("\"Jobs\": [", "\"Jobs\": [\"\\ud800\", ", 1).as_bytes());
        same_as_tree(good.replacen("\"Jobs\": [", "\"Jobs\": [1e400, ", 1).as_bytes());
        assert!(read_schedule_bytes(good.replacen("\"Jobs\": [", "\"Jobs\": [{\"\\ud800\": 1}, ", 1).as_bytes()).is_err());
        for doc in [&b"[1, 2]"[..], b"\"x\"", b"null", b"42", b"true", b"{\"Jobs\": [1, 2", b"{}"] {
            same_as_tree(doc);
        }
        assert_eq!(read_schedule_bytes(include_bytes!("../../tests/fixtures/sample/1_schedules.json")).unwrap().job_count, 2);
        let with_bom = [&b"\xEF\xBB\xBF"[..], include_bytes!("../../tests/fixtures/sample/1_schedules.json")].concat();
        assert_eq!(read_schedule_bytes(&with_bom).unwrap().job_count, 2, "a .NET byte order mark is accepted");
        assert!(parse_json(&with_bom).is_ok());
    }
}
