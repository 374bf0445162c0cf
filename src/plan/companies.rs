//! Which group and company rows a file may write. users.json and every schedule header both
//! describe groups and companies; each row keeps the GeneratedAt of the file that last wrote
//! it, so an older file never overwrites a newer one (never regress), and a file that says
//! nothing new writes nothing.

use super::{freshness, Freshness};
use crate::clock::Timestamp;
use crate::contract::{ScheduleFile, UsersFile};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Serialised, a row is what the SQL that writes it reads (jsonb_to_recordset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompanyRow {
    pub id: i64,
    pub group_id: i64,
    pub name: String,
    pub is_active: bool,
    pub time_zone_id: Option<String>,
    pub feature_toggles: Map<String, Value>,
}

/// A row as stored, with the GeneratedAt of the file that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    pub row: T,
    pub generated_at: Timestamp,
}

/// What a file says of a group: a schedule header does not say whether it is active.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupHeader {
    pub id: i64,
    pub name: String,
    pub is_active: Option<bool>,
}

/// What a file says of a company: users.json says nothing of its time zone or toggles.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyHeader {
    pub id: i64,
    pub group_id: i64,
    pub name: String,
    pub is_active: bool,
    pub details: Option<(Option<String>, Map<String, Value>)>,
}

/// Everything one file says of groups and companies, stamped with its GeneratedAt.
#[derive(Debug, Clone, PartialEq)]
pub struct Headers {
    pub generated_at: Timestamp,
    pub groups: Vec<GroupHeader>,
    pub companies: Vec<CompanyHeader>,
}

impl Headers {
    pub fn of_schedule(file: &ScheduleFile) -> Headers {
        Headers {
            generated_at: file.generated_at,
            groups: vec![GroupHeader { id: file.group_id, name: file.group_name.clone(), is_active: None }],
            companies: vec![CompanyHeader {
                id: file.service_company_id,
                group_id: file.group_id,
                name: file.name.clone(),
                is_active: file.is_active,
                details: Some((file.time_zone_id.clone(), file.feature_toggles.clone())),
            }],
        }
    }

    pub fn of_users(file: &UsersFile) -> Headers {
        Headers {
            generated_at: file.generated_at,
            groups: file.groups.iter().map(|g| GroupHeader { id: g.id, name: g.name.clone(), is_active: Some(g.is_active) }).collect(),
            companies: file
                .companies
                .iter()
                .map(|c| CompanyHeader { id: c.id, group_id: c.group_id, name: c.name.clone(), is_active: c.is_active, details: None })
                .collect(),
        }
    }

    pub fn group_ids(&self) -> Vec<i64> {
        self.groups.iter().map(|g| g.id).collect()
    }

    pub fn company_ids(&self) -> Vec<i64> {
        self.companies.iter().map(|c| c.id).collect()
    }
}

/// The rows to write: the first mention of each id, completed from what is stored where the
/// file is silent, unless what is stored is newer or already the same.
fn rows_to_write<H, R: PartialEq>(
    incoming: &[H],
    id: impl Fn(&H) -> i64,
    generated_at: Timestamp,
    stored: &HashMap<i64, Stored<R>>,
    complete: impl Fn(&H, Option<&R>) -> R,
) -> Vec<R> {
    let mut seen = HashSet::new();
    incoming
        .iter()
        .filter(|h| seen.insert(id(h)))
        .filter_map(|h| {
            let old = stored.get(&id(h));
            if old.is_some_and(|o| freshness(generated_at, Some(o.generated_at)) == Freshness::Older) {
                return None;
            }
            let row = complete(h, old.map(|o| &o.row));
            (old.map(|o| &o.row) != Some(&row)).then_some(row)
        })
        .collect()
}

pub fn groups_to_write(headers: &Headers, stored: &HashMap<i64, Stored<GroupRow>>) -> Vec<GroupRow> {
    rows_to_write(&headers.groups, |g| g.id, headers.generated_at, stored, |g, old| GroupRow {
        id: g.id,
        name: g.name.clone(),
        // A new group is active until a file says otherwise.
        is_active: g.is_active.or(old.map(|o| o.is_active)).unwrap_or(true),
    })
}

pub fn companies_to_write(headers: &Headers, stored: &HashMap<i64, Stored<CompanyRow>>) -> Vec<CompanyRow> {
    rows_to_write(&headers.companies, |c| c.id, headers.generated_at, stored, |c, old| {
        let (time_zone_id, feature_toggles) = match (&c.details, old) {
            (Some(details), _) => details.clone(),
            (None, Some(o)) => (o.time_zone_id.clone(), o.feature_toggles.clone()),
            (None, None) => (None, Map::new()),
        };
        CompanyRow { id: c.id, group_id: c.group_id, name: c.name.clone(), is_active: c.is_active, time_zone_id, feature_toggles }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn headers(at: &str, name: &str, is_active: Option<bool>) -> Headers {
        Headers {
            generated_at: t(at),
            groups: vec![GroupHeader { id: 1, name: name.into(), is_active }, GroupHeader { id: 1, name: "second mention".into(), is_active }],
            companies: vec![CompanyHeader { id: 7, group_id: 1, name: name.into(), is_active: true, details: None }],
        }
    }

    #[test]
    fn new_rows_are_written_once_per_id() {
        let rows = groups_to_write(&headers("2025-12-10T00:00:00Z", "North", None), &HashMap::new());
        assert_eq!(rows, vec![GroupRow { id: 1, name: "North".into(), is_active: true }]);
        let companies = companies_to_write(&headers("2025-12-10T00:00:00Z", "North", None), &HashMap::new());
        assert_eq!((companies[0].time_zone_id.clone(), companies[0].feature_toggles.len()), (None, 0));
    }

    #[test]
    fn an_older_file_never_overwrites_and_a_same_one_writes_nothing() {
        let stored: HashMap<_, _> = [(1, Stored { row: GroupRow { id: 1, name: "North".into(), is_active: false }, generated_at: t("2025-12-10T12:00:00Z") })].into();
        assert!(groups_to_write(&headers("2025-12-10T11:59:59Z", "Renamed", Some(true)), &stored).is_empty(), "older");
        assert!(groups_to_write(&headers("2025-12-10T13:00:00Z", "North", None), &stored).is_empty(), "nothing new (is_active kept from the row)");
        let newer = groups_to_write(&headers("2025-12-10T12:00:00Z", "Renamed", None), &stored);
        assert_eq!(newer, vec![GroupRow { id: 1, name: "Renamed".into(), is_active: false }]);
    }

    #[test]
    fn users_json_keeps_a_companys_time_zone_and_toggles() {
        let toggles: Map<String, Value> = [("HideDiscounts".to_string(), Value::Bool(true))].into_iter().collect();
        let row = CompanyRow { id: 7, group_id: 1, name: "Old".into(), is_active: true, time_zone_id: Some("Eastern Standard Time".into()), feature_toggles: toggles.clone() };
        let stored: HashMap<_, _> = [(7, Stored { row, generated_at: t("2025-12-10T00:00:00Z") })].into();
        let rows = companies_to_write(&headers("2025-12-11T00:00:00Z", "New", None), &stored);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].name.as_str(), rows[0].time_zone_id.as_deref(), &rows[0].feature_toggles), ("New", Some("Eastern Standard Time"), &toggles));
    }
}
