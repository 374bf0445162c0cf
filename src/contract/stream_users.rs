//! Reading users.json straight from its bytes, one group at a time, without building the
//! whole document as a JSON tree: at 200,000 users the tree is ~8x the file. Each group is
//! read as a small tree (its companies and their users) and judged by the same functions as
//! the tree reader, with the same paths and the same problems in the same order; duplicate
//! keys resolve as in a tree (the last wins). `read_users(&Value)` stays for documents that
//! arrive as jsonb.

use super::reader::{Path, Reader, MAX_PROBLEMS};
use super::users::{read_company, read_group, read_user, UsersFile};
use super::ContractError;
use crate::clock::Timestamp;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

const GROUPS: &str = "ServiceCompanyGroups";
const COMPANIES: &str = "ServiceCompanies";
const USERS: &str = "Users";

/// An object read with one of its fields set aside (`nested`): the field's value is replaced
/// by `[]` when it is an array (the array's items come back in `items`), or kept as it is.
struct Split {
    header: Value,
    items: Vec<Value>,
}

struct SplitSeed {
    nested: &'static str,
}

impl<'de> DeserializeSeed<'de> for SplitSeed {
    type Value = Split;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Split, D::Error> {
        d.deserialize_any(self)
    }
}

/// Any JSON value as a tree (what a non-object stands for).
fn tree<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Value::deserialize(d)
}

macro_rules! scalars_as_tree {
    ($ret:ty, $wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<$ret, E> {
            Ok($wrap(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ret, E> {
            Ok($wrap(Value::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ret, E> {
            Ok($wrap(Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ret, E> {
            Ok($wrap(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<$ret, E> {
            Ok($wrap(Value::String(v.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<$ret, E> {
            Ok($wrap(Value::Null))
        }
    };
}

impl<'de> Visitor<'de> for SplitSeed {
    type Value = Split;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Split, A::Error> {
        let (mut fields, mut items) = (Map::new(), vec![]);
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            if key == self.nested {
                // The last of duplicate keys wins, as in a tree.
                items.clear();
                match value {
                    Value::Array(all) => {
                        items = all;
                        fields.insert(key, Value::Array(vec![]));
                    }
                    other => {
                        fields.insert(key, other);
                    }
                }
            } else {
                fields.insert(key, value);
            }
        }
        Ok(Split { header: Value::Object(fields), items })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Split, A::Error> {
        Ok(Split { header: tree(de::value::SeqAccessDeserializer::new(seq))?, items: vec![] })
    }
    scalars_as_tree!(Split, |v| Split { header: v, items: vec![] });
}

/// The root object: every field but ServiceCompanyGroups kept; the groups read one by one
/// into `file`, their problems into `problems` (the root's own problems come first, as in a
/// tree, and are checked once the root is complete).
struct RootSeed<'a> {
    problems: &'a mut Reader,
    file: &'a mut UsersFile,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == GROUPS {
                // A repeated key replaces what came before it, as in a tree.
                *self.problems = Reader::default();
                self.file.groups.clear();
                self.file.companies.clear();
                self.file.entries.clear();
                let kept = map.next_value_seed(GroupsSeed { r: &mut *self.problems, file: &mut *self.file })?;
                fields.insert(key, kept);
            } else {
                fields.insert(key, map.next_value()?);
            }
        }
        Ok(Value::Object(fields))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        tree(de::value::SeqAccessDeserializer::new(seq))
    }
    scalars_as_tree!(Value, |v| v);
}

/// ServiceCompanyGroups: each group read as a small tree and judged at once; what stands in
/// the root for the array is `[]` (or the value itself when it is no array).
struct GroupsSeed<'a> {
    r: &'a mut Reader,
    file: &'a mut UsersFile,
}

impl<'de> DeserializeSeed<'de> for GroupsSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GroupsSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let root = Path::Root;
        let groups_path = root.key(GROUPS);
        let mut gi = 0;
        while let Some(group) = seq.next_element_seed(SplitSeed { nested: COMPANIES })? {
            let gp = groups_path.index(gi);
            read_group(self.r, &group.header, &gp, self.file);
            let group_id = group.header.get("ServiceCompanyGroupId").and_then(Value::as_i64);
            let companies_path = gp.key(COMPANIES);
            for (ci, company) in group.items.iter().enumerate() {
                let cp = companies_path.index(ci);
                // The company's users judged one by one, with the company's own header.
                let (header, users) = match company {
                    Value::Object(fields) => {
                        let mut header = fields.clone();
                        let users = match header.get_mut(USERS) {
                            Some(Value::Array(all)) => std::mem::take(all),
                            _ => vec![],
                        };
                        (Value::Object(header), users)
                    }
                    other => (other.clone(), vec![]),
                };
                read_company(self.r, &header, &cp, group_id, self.file);
                if header.is_object() {
                    let company_id = header.get("ServiceCompanyId").and_then(Value::as_i64);
                    let users_path = cp.key(USERS);
                    for (ui, u) in users.iter().enumerate() {
                        if let Some(entry) = read_user(self.r, u, &users_path.index(ui), company_id) {
                            self.file.entries.push(entry);
                        }
                    }
                }
            }
            gi += 1;
        }
        Ok(Value::Array(vec![]))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        tree(de::value::MapAccessDeserializer::new(map))
    }
    scalars_as_tree!(Value, |v| v);
}

/// Parse and check a users.json from its bytes, holding one group as a tree at a time.
pub fn read_users_bytes(bytes: &[u8]) -> Result<UsersFile, ContractError> {
    let mut groups_problems = Reader::default();
    let mut file = UsersFile { generated_at: Timestamp(0), groups: vec![], companies: vec![], entries: vec![] };
    let mut de = serde_json::Deserializer::from_slice(super::without_bom(bytes));
    let root_value = RootSeed { problems: &mut groups_problems, file: &mut file }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| ContractError::at_root(format!("not valid JSON: {e}")))?;
    // The root's own checks first, as the tree reader makes them; then the groups' problems.
    let mut r = Reader::default();
    let root = Path::Root;
    let Some(obj) = r.object(&root_value, &root) else { return super::finish(r, None) };
    let generated_at = r.timestamp(obj, &root, "GeneratedAt");
    let groups = r.array(obj, &root, GROUPS).is_some();
    if groups {
        for p in groups_problems.problems {
            if r.problems.len() >= MAX_PROBLEMS {
                r.truncated = true;
                break;
            }
            r.problems.push(p);
        }
        r.truncated |= groups_problems.truncated;
    } else {
        // No array of groups: a tree reader reads none.
        file.groups.clear();
        file.companies.clear();
        file.entries.clear();
    }
    file.generated_at = generated_at.unwrap_or(Timestamp(0));
    let ok = generated_at.is_some() && groups && r.problems.is_empty();
    super::finish(r, ok.then_some(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{parse_json, read_users};

    fn same_as_tree(bytes: &[u8]) {
        let tree = parse_json(bytes).and_then(|v| read_users(&v));
        assert_eq!(read_users_bytes(bytes), tree, "{}", String::from_utf8_lossy(bytes));
    }

    #[test]
    fn agrees_with_the_tree_reader() {
        let good = include_str!("../../tests/fixtures/sample/users.json");
        same_as_tree(good.as_bytes());
        for (from, to) in [
            ("\"GeneratedAt\": \"2025-12-10T21:00:00Z\"", "\"GeneratedAt\": 5"),
            ("\"ServiceCompanyGroupId\": 1,", "\"ServiceCompanyGroupId\": \"1\","),
            ("\"Users\": [", "\"Users\": 7, \"X\": ["),
            ("\"Users\": [", "\"Users\": [1], \"Users\": ["),
            ("\"ServiceCompanies\": [", "\"ServiceCompanies\": {}, \"Y\": ["),
            ("\"ServiceCompanyGroups\": [", "\"ServiceCompanyGroups\": [], \"ServiceCompanyGroups\": ["),
            ("\"ServiceCompanyGroups\": [", "\"ServiceCompanyGroups\": \"none\", \"Z\": ["),
            ("\"UserId\": \"c278b273-7d6b-4394-9911-7fe85fb50181\"", "\"UserId\": 3"),
            ("\"Email\": \"sam.green@example.com\"", "\"Email\": \"sam\\u0000@example.com\""),
        ] {
            same_as_tree(good.replacen(from, to, 1).as_bytes());
        }
        let late_ids = good.replacen("\"ServiceCompanyId\": 1,", "", 1).replacen("\"Users\": [", "\"ServiceCompanyId\": 1, \"Users\": [", 1);
        same_as_tree(late_ids.as_bytes());
        for doc in [&b"[1, 2]"[..], b"\"x\"", b"null", b"42", b"{}", b"{\"GeneratedAt\": \"2025-12-10T21:00:00Z\"", b"\xEF\xBB\xBF{}"] {
            same_as_tree(doc);
        }
        let bad_users: String = (0..80).map(|i| format!("{{\"UserId\": {i}}},")).collect();
        same_as_tree(good.replacen("\"Users\": [", &format!("\"Users\": [{bad_users}"), 1).as_bytes());
    }
}
