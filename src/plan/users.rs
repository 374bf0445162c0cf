//! Which users to create, update and delete for one users.json, and whether the mass-deletion
//! guard lets the deletions through.

use crate::contract::UserEntry;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One company a person works for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Membership {
    pub company_id: i64,
    pub employee_information_id: Option<i64>,
    pub roles: Vec<String>,
}

/// A person as users.json wants them: one per UserId, with every membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredUser {
    pub id: String,
    /// Lowercased, as GoTrue stores it.
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    /// Sorted by company id.
    pub memberships: Vec<Membership>,
    /// Fingerprint of everything above: an unchanged hash means no write and no HTTP call.
    pub record_hash: String,
    /// An existing user whose email differs from the one stored: the one kind of update that
    /// confirms the email again (GoTrue deletes a user's pending magic links when it does).
    pub email_changed: bool,
}

/// A profile as the database has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingUser {
    pub id: String,
    pub email: String,
    pub record_hash: String,
}

/// Deletions beyond both bounds are held back unless a DBA allows them once. The bounds are
/// settings (`delete_max_fraction`, `delete_max_count`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeletionGuard {
    /// Share of current users (0.10 = 10%).
    pub max_fraction: f64,
    pub max_count: usize,
}

/// What lets deletions past the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionPermission {
    /// Nothing: the guard decides.
    Guarded,
    /// The caller allows it for this call (`sync_users(..., allow_mass_deletion => true)`).
    ForThisCall,
    /// A DBA's unused, unexpired one-time allowance: used, and so consumed, only when the
    /// guard would block, and only for at most `max_count` deletions when it says so.
    Allowance { id: i64, max_count: Option<usize> },
}

impl DeletionGuard {
    pub fn blocks(&self, deletions: usize, current_users: usize) -> bool {
        deletions > self.max_count && (deletions as f64) > self.max_fraction * current_users as f64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub user_id: String,
    pub email: Option<String>,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct UserPlan {
    pub create: Vec<DesiredUser>,
    pub update: Vec<DesiredUser>,
    pub unchanged: usize,
    pub delete: Vec<String>,
    /// How many deletions the guard held back (0 when none were).
    pub deletions_blocked: usize,
    /// The allowance that let the deletions through, to be marked used.
    pub allowance_used: Option<i64>,
    /// Users whose current email another user of this export takes (a swap, a cycle, a
    /// chain): Auth must first move them to `temporary_email`, as it refuses an address
    /// another user still holds. Sorted.
    pub move_first: Vec<String>,
    pub rejected: Vec<Rejection>,
    /// Inconsistencies that did not stop a user (e.g. two spellings of one person's name).
    pub warnings: Vec<String>,
}

/// What decides a user's access, as Supabase Auth holds it in `app_metadata` (which only the
/// service role writes; a signed-in user can edit user_metadata, so never there): companies,
/// roles, EmployeeInformationIds, and the marker that says azure_sync manages this user.
pub fn app_metadata(u: &DesiredUser) -> serde_json::Value {
    let roles: serde_json::Map<String, serde_json::Value> = u.memberships.iter().map(|m| (m.company_id.to_string(), serde_json::json!(m.roles))).collect();
    let employee_ids: serde_json::Map<String, serde_json::Value> =
        u.memberships.iter().map(|m| (m.company_id.to_string(), serde_json::json!(m.employee_information_id))).collect();
    serde_json::json!({
        "provider": "email",
        "azure_sync": true,
        "service_company_ids": u.memberships.iter().map(|m| m.company_id).collect::<Vec<_>>(),
        "roles": roles,
        "employee_information_ids": employee_ids,
    })
}

/// Where a user waits while their address passes to another user of the same export: a
/// reserved domain (RFC 2606) that can reach nobody. The same run gives every such user their
/// new address; one that fails there is retried by the next run, as their profile keeps the
/// old address until Auth has the new one.
pub fn temporary_email(user_id: &str) -> String {
    format!("{user_id}@moving.azure-sync.invalid")
}

/// A plausible address: one `@`, something on both sides, a dot in the domain, no spaces.
/// GoTrue validates more strictly; this catches what would certainly fail.
pub fn normalise_email(raw: &str) -> Option<String> {
    let e = raw.trim();
    if e.len() > 254 || e.chars().any(char::is_whitespace) {
        return None;
    }
    let (local, domain) = e.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return None;
    }
    Some(e.to_lowercase())
}

fn record_hash(u: &DesiredUser) -> String {
    #[derive(Serialize)]
    struct Fingerprint<'a> {
        id: &'a str,
        email: &'a str,
        first_name: &'a Option<String>,
        last_name: &'a Option<String>,
        full_name: &'a Option<String>,
        memberships: &'a [Membership],
    }
    let bytes = serde_json::to_vec(&Fingerprint {
        id: &u.id,
        email: &u.email,
        first_name: &u.first_name,
        last_name: &u.last_name,
        full_name: &u.full_name,
        memberships: &u.memberships,
    })
    .expect("plain data serialises");
    crate::digest::sha256_hex(&bytes)
}

struct Merged {
    first: usize,
    entries: Vec<usize>,
}

/// Fold the appearances of each UserId into one person. The first appearance decides email
/// and names; a later one that disagrees is reported as a warning.
fn merge(entries: &[UserEntry], warnings: &mut Vec<String>) -> Vec<(DesiredUserDraft, Option<String>)> {
    let mut order: Vec<String> = vec![];
    let mut by_id: HashMap<&str, Merged> = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        by_id
            .entry(e.user_id.as_str())
            .and_modify(|m| m.entries.push(i))
            .or_insert_with(|| {
                order.push(e.user_id.clone());
                Merged { first: i, entries: vec![i] }
            });
    }
    let mut out = Vec::with_capacity(order.len());
    for id in &order {
        let m = &by_id[id.as_str()];
        let head = &entries[m.first];
        let mut companies: BTreeMap<i64, Membership> = BTreeMap::new();
        for &i in &m.entries {
            let e = &entries[i];
            if i != m.first && (e.email != head.email || e.first_name != head.first_name || e.last_name != head.last_name || e.full_name != head.full_name) {
                warnings.push(format!("{}: user {} differs from its first appearance at {}; the first is used", e.path, e.user_id, head.path));
            }
            let ms = companies.entry(e.company_id).or_insert_with(|| Membership { company_id: e.company_id, employee_information_id: None, roles: vec![] });
            ms.employee_information_id = ms.employee_information_id.or(e.employee_information_id);
            for r in &e.roles {
                if !ms.roles.contains(r) {
                    ms.roles.push(r.clone());
                }
            }
        }
        for ms in companies.values_mut() {
            ms.roles.sort();
        }
        out.push((
            DesiredUserDraft {
                refused: m.entries.iter().find_map(|&i| entries[i].refused.clone()),
                id: head.user_id.clone(),
                first_name: head.first_name.clone(),
                last_name: head.last_name.clone(),
                full_name: head.full_name.clone(),
                memberships: companies.into_values().collect(),
            },
            head.email.clone(),
        ));
    }
    out
}

struct DesiredUserDraft {
    /// Any appearance refused (text PostgreSQL cannot hold): the user is left as stored.
    refused: Option<String>,
    id: String,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    memberships: Vec<Membership>,
}

pub fn plan_users(entries: &[UserEntry], existing: &[ExistingUser], guard: &DeletionGuard, permission: DeletionPermission) -> UserPlan {
    let mut plan = UserPlan::default();
    let drafts = merge(entries, &mut plan.warnings);
    let present: HashSet<&str> = drafts.iter().map(|(d, _)| d.id.as_str()).collect();

    // Deletions first: whether they go through decides which emails stay taken.
    let absent: Vec<&ExistingUser> = existing.iter().filter(|u| !present.contains(u.id.as_str())).collect();
    let mut deleting = !absent.is_empty();
    if deleting && drafts.is_empty() {
        // An export with nobody in it is a broken export, not a company that fired everyone.
        plan.warnings.push("users.json lists no users at all: nobody is deleted".into());
        plan.deletions_blocked = absent.len();
        deleting = false;
    } else if deleting && guard.blocks(absent.len(), existing.len()) {
        match permission {
            DeletionPermission::Guarded => {
                plan.deletions_blocked = absent.len();
                deleting = false;
            }
            DeletionPermission::ForThisCall => {}
            DeletionPermission::Allowance { id, max_count: Some(max) } if absent.len() > max => {
                plan.warnings.push(format!(
                    "allowance {id} allows at most {max} deletions and this export would delete {}: nobody deleted, the allowance kept",
                    absent.len()
                ));
                plan.deletions_blocked = absent.len();
                deleting = false;
            }
            DeletionPermission::Allowance { id, .. } => plan.allowance_used = Some(id),
        }
    }
    if deleting {
        plan.delete = absent.iter().map(|u| u.id.clone()).collect();
    }

    // Emails held by profiles that stay as they are (absent users kept by the guard).
    let mut taken: HashMap<String, &str> = HashMap::new();
    if !deleting {
        for u in &absent {
            taken.insert(u.email.clone(), u.id.as_str());
        }
    }

    // Normalise emails and find the ones two UserIds claim.
    let mut normalised: Vec<Result<String, String>> = Vec::with_capacity(drafts.len());
    let mut claims: HashMap<String, Vec<&str>> = HashMap::new();
    for (d, email) in &drafts {
        let n = match email.as_deref().map(str::trim) {
            _ if d.refused.is_some() => Err(String::new()),
            None | Some("") => Err("no email address: cannot sign in by magic link".to_string()),
            Some(raw) => normalise_email(raw).ok_or_else(|| format!("{raw:?} is not a valid email address")),
        };
        if let Ok(e) = &n {
            claims.entry(e.clone()).or_default().push(d.id.as_str());
        }
        normalised.push(n);
    }

    let existing_by_id: HashMap<&str, &ExistingUser> = existing.iter().map(|u| (u.id.as_str(), u)).collect();
    for ((draft, raw_email), email) in drafts.iter().zip(normalised) {
        let reject = |reason: String| Rejection { user_id: draft.id.clone(), email: raw_email.clone(), reason };
        if let Some(reason) = &draft.refused {
            // Present (so never deleted for it), but neither created nor changed.
            plan.rejected.push(reject(reason.clone()));
            continue;
        }
        let email = match email {
            Ok(e) => e,
            Err(reason) => {
                plan.rejected.push(reject(reason));
                continue;
            }
        };
        let owners = &claims[&email];
        if owners.len() > 1 {
            let others: Vec<&str> = owners.iter().copied().filter(|o| *o != draft.id).collect();
            plan.rejected.push(reject(format!("email {email} is also used by user {}", others.join(", "))));
            continue;
        }
        if let Some(holder) = taken.get(&email) {
            plan.rejected.push(reject(format!(
                "email {email} still belongs to user {holder}, who is absent from users.json but not deleted (deletion guard)"
            )));
            continue;
        }
        let mut user = DesiredUser {
            id: draft.id.clone(),
            email,
            first_name: draft.first_name.clone(),
            last_name: draft.last_name.clone(),
            full_name: draft.full_name.clone(),
            memberships: draft.memberships.clone(),
            record_hash: String::new(),
            email_changed: false,
        };
        user.record_hash = record_hash(&user);
        match existing_by_id.get(user.id.as_str()) {
            None => plan.create.push(user),
            Some(old) if old.record_hash == user.record_hash => plan.unchanged += 1,
            Some(old) => {
                user.email_changed = old.email != user.email;
                plan.update.push(user)
            }
        }
    }
    let moving: HashSet<&str> = plan.update.iter().filter(|u| u.email_changed).map(|u| u.id.as_str()).collect();
    let holder_of: HashMap<&str, &str> = existing.iter().map(|u| (u.email.as_str(), u.id.as_str())).collect();
    let mut move_first: Vec<String> = plan
        .update
        .iter()
        .filter(|u| u.email_changed)
        .filter_map(|u| holder_of.get(u.email.as_str()).copied().filter(|holder| *holder != u.id && moving.contains(holder)))
        .map(str::to_string)
        .collect();
    move_first.sort();
    move_first.dedup();
    plan.move_first = move_first;
    plan
}

#[cfg(test)]
mod tests;
