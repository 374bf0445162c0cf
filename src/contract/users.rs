//! `users.json`: every user of every company, nested group → company → user.

use super::reader::{first_nul, Path, Reader, NUL_REFUSED};
use crate::clock::Timestamp;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct UsersFile {
    pub generated_at: Timestamp,
    pub groups: Vec<GroupRecord>,
    pub companies: Vec<CompanyRecord>,
    /// One entry per appearance: a person in two companies appears twice.
    pub entries: Vec<UserEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompanyRecord {
    pub id: i64,
    pub group_id: i64,
    pub name: String,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserEntry {
    /// Canonical lowercase UUID.
    pub user_id: String,
    /// As sent; validity is judged per user by the planner (one bad address must not stop
    /// everyone else's sync).
    pub email: Option<String>,
    pub employee_information_id: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub roles: Vec<String>,
    pub company_id: i64,
    /// Where the entry stands in the document, for messages.
    pub path: String,
    /// Why this user cannot be synced although the file can (text PostgreSQL cannot hold):
    /// the user is reported and left as stored, the rest proceed. Their other fields are empty.
    pub refused: Option<String>,
}

pub(super) fn read(r: &mut Reader, doc: &Value) -> Option<UsersFile> {
    let root = Path::Root;
    let obj = r.object(doc, &root)?;
    let generated_at = r.timestamp(obj, &root, "GeneratedAt");
    let groups_json = r.array(obj, &root, "ServiceCompanyGroups");
    let mut file = UsersFile { generated_at: generated_at.unwrap_or(Timestamp(0)), groups: vec![], companies: vec![], entries: vec![] };
    let groups_path = root.key("ServiceCompanyGroups");
    for (gi, g) in groups_json.into_iter().flatten().enumerate() {
        let gp = groups_path.index(gi);
        read_group(r, g, &gp, &mut file);
    }
    (generated_at.is_some() && groups_json.is_some() && r.problems.is_empty()).then_some(file)
}

pub(super) fn read_group(r: &mut Reader, g: &Value, gp: &Path, file: &mut UsersFile) {
    let Some(gobj) = r.object(g, gp) else { return };
    let id = r.integer(gobj, gp, "ServiceCompanyGroupId");
    let name = r.text(gobj, gp, "ServiceCompanyGroupName");
    let is_active = r.boolean(gobj, gp, "IsActive");
    let companies = r.array(gobj, gp, "ServiceCompanies");
    if let (Some(id), Some(name), Some(is_active)) = (id, name, is_active) {
        file.groups.push(GroupRecord { id, name: name.to_string(), is_active });
    }
    let cs_path = gp.key("ServiceCompanies");
    for (ci, c) in companies.into_iter().flatten().enumerate() {
        read_company(r, c, &cs_path.index(ci), id, file);
    }
}

pub(super) fn read_company(r: &mut Reader, c: &Value, cp: &Path, group_id: Option<i64>, file: &mut UsersFile) {
    let Some(cobj) = r.object(c, cp) else { return };
    let id = r.integer(cobj, cp, "ServiceCompanyId");
    let name = r.text(cobj, cp, "Name");
    let is_active = r.boolean(cobj, cp, "IsActive");
    if let (Some(stated), Some(enclosing)) = (r.optional_integer(cobj, cp, "ServiceCompanyGroupId").flatten(), group_id) {
        if stated != enclosing {
            r.fail(&cp.key("ServiceCompanyGroupId"), format!("{stated} disagrees with the enclosing group {enclosing}"));
        }
    }
    let users = r.array(cobj, cp, "Users");
    if let (Some(id), Some(group_id), Some(name), Some(is_active)) = (id, group_id, name, is_active) {
        file.companies.push(CompanyRecord { id, group_id, name: name.to_string(), is_active });
    }
    let us_path = cp.key("Users");
    for (ui, u) in users.into_iter().flatten().enumerate() {
        if let Some(entry) = read_user(r, u, &us_path.index(ui), id) {
            file.entries.push(entry);
        }
    }
}

/// The user's own text that PostgreSQL cannot hold, as `path contains a NUL...`.
fn refusal(uobj: &serde_json::Map<String, Value>, up: &Path) -> Option<String> {
    ["Email", "FirstName", "LastName", "FullName", "Roles"]
        .iter()
        .find_map(|key| uobj.get(*key).and_then(|v| first_nul(v, &up.key(key))))
        .map(|at| format!("{at} {NUL_REFUSED}"))
}

pub(super) fn read_user(r: &mut Reader, u: &Value, up: &Path, company_id: Option<i64>) -> Option<UserEntry> {
    let uobj = r.object(u, up)?;
    let user_id = r.uuid(uobj, up, "UserId");
    if let Some(reason) = refusal(uobj, up) {
        return Some(UserEntry {
            user_id: user_id?,
            email: None,
            employee_information_id: None,
            first_name: None,
            last_name: None,
            full_name: None,
            roles: vec![],
            company_id: company_id?,
            path: up.to_string(),
            refused: Some(reason),
        });
    }
    let email = r.optional_text(uobj, up, "Email");
    let eid = r.optional_integer(uobj, up, "EmployeeInformationId");
    let first = r.optional_text(uobj, up, "FirstName");
    let last = r.optional_text(uobj, up, "LastName");
    let full = r.optional_text(uobj, up, "FullName");
    let roles = match uobj.get("Roles") {
        None | Some(Value::Null) => Some(vec![]),
        Some(Value::Array(items)) => {
            let rp = up.key("Roles");
            let mut roles = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) => roles.push(s.to_string()),
                    None => r.fail(&rp.index(i), "expected a role name string"),
                }
            }
            Some(roles)
        }
        Some(_) => {
            r.fail(&up.key("Roles"), "expected an array of role names");
            None
        }
    };
    if let (Some(stated), Some(enclosing)) = (r.optional_integer(uobj, up, "ServiceCompanyId").flatten(), company_id) {
        if stated != enclosing {
            r.fail(&up.key("ServiceCompanyId"), format!("{stated} disagrees with the enclosing company {enclosing}"));
        }
    }
    Some(UserEntry {
        user_id: user_id?,
        email: email?.map(str::to_string),
        employee_information_id: eid?,
        first_name: first?.map(str::to_string),
        last_name: last?.map(str::to_string),
        full_name: full?.map(str::to_string),
        roles: roles?,
        company_id: company_id?,
        path: up.to_string(),
        refused: None,
    })
}
