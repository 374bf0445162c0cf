//! Apply one users.json: groups and companies, then profiles and memberships as the plan
//! says, behind the freshness check and the deletion guard.

use super::{epoch_micros, optional};
use crate::backends::gotrue::GoTrue;
use crate::backends::Auth;
use std::sync::Arc;
use crate::contract::{Timestamp, UsersFile};
use crate::error::SyncError;
use crate::plan::users::{plan_users, DeletionGuard, DesiredUser, ExistingUser, Rejection, UserPlan};
use crate::plan::{freshness, Freshness};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;

pub struct UsersOptions {
    pub guard: DeletionGuard,
    /// The caller allows deletions beyond the guard for this call.
    pub allow_mass_deletion: bool,
    pub dry_run: bool,
}

/// What happened to users, in a users sync and in a run's summary alike.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub users_created: usize,
    pub users_updated: usize,
    pub users_unchanged: usize,
    pub users_deleted: usize,
    pub user_deletions_blocked: usize,
    pub users_rejected: usize,
    /// Users whose Supabase Auth call failed: left as they were, tried again next run.
    pub users_failed: usize,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct UsersOutcome {
    /// applied | stale | planned (dry run)
    pub status: &'static str,
    pub generated_at: String,
    pub last_applied_generated_at: Option<String>,
    pub users_in_file: usize,
    #[serde(flatten)]
    pub counts: UserCounts,
    /// Set when a DBA's one-time allowance let deletions past the guard.
    pub deletion_allowance_used: Option<i64>,
    pub groups: usize,
    pub companies: usize,
    pub rejected: Vec<Rejection>,
    /// Supabase Auth failures, one per user: nothing was changed for them.
    pub auth_failures: Vec<Rejection>,
    pub warnings: Vec<String>,
    pub auth_backend: String,
}

fn existing_users() -> Result<Vec<ExistingUser>, SyncError> {
    Spi::connect(|client| {
        let rows = client.select("SELECT id::text, email, record_hash FROM azure_sync.user_profiles", None, &[])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(ExistingUser {
                id: row.get::<String>(1)?.unwrap_or_default(),
                email: row.get::<String>(2)?.unwrap_or_default(),
                record_hash: row.get::<String>(3)?.unwrap_or_default(),
            });
        }
        Ok(out)
    })
}

fn last_applied() -> Result<Option<Timestamp>, SyncError> {
    let sql = format!("SELECT {} FROM azure_sync.users_file_state", epoch_micros("generated_at"));
    Ok(optional(Spi::get_one::<i64>(&sql))?.flatten().map(Timestamp))
}

/// A DBA's one-time permission to pass the deletion guard; returns its id.
pub fn grant_deletion_allowance(reason: Option<&str>) -> Result<i64, SyncError> {
    let id = Spi::get_one_with_args::<i64>("INSERT INTO azure_sync.deletion_allowances (reason) VALUES ($1) RETURNING id", &[reason.into()])?;
    Ok(id.expect("RETURNING gives a row"))
}

fn unused_allowance() -> Result<Option<i64>, SyncError> {
    Ok(optional(Spi::get_one::<i64>(
        "SELECT id FROM azure_sync.deletion_allowances WHERE used_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE",
    ))?
    .flatten())
}

pub fn apply_users(file: &UsersFile, sha256: &str, auth: &Auth, options: &UsersOptions) -> Result<UsersOutcome, SyncError> {
    let stored = last_applied()?;
    let mut outcome = UsersOutcome {
        generated_at: file.generated_at.to_iso(),
        last_applied_generated_at: stored.map(Timestamp::to_iso),
        users_in_file: file.entries.iter().map(|e| e.user_id.as_str()).collect::<HashSet<_>>().len(),
        auth_backend: auth.label().to_string(),
        ..Default::default()
    };
    if freshness(file.generated_at, stored) == Freshness::Older {
        outcome.status = "stale";
        outcome.warnings.push(format!(
            "users.json GeneratedAt {} is older than the last applied {}: nothing changed, nobody deleted",
            outcome.generated_at,
            outcome.last_applied_generated_at.as_deref().unwrap_or("?")
        ));
        return Ok(outcome);
    }
    let existing = existing_users()?;
    let mut plan = plan_users(&file.entries, &existing, &options.guard, options.allow_mass_deletion);
    if plan.deletions_blocked > 0 && !file.entries.is_empty() && !options.allow_mass_deletion {
        if let Some(allowance) = unused_allowance()? {
            plan = plan_users(&file.entries, &existing, &options.guard, true);
            outcome.deletion_allowance_used = Some(allowance);
            if !options.dry_run {
                Spi::run_with_args(
                    "UPDATE azure_sync.deletion_allowances SET used_at = now(), users_deleted = $2 WHERE id = $1",
                    &[allowance.into(), (plan.delete.len() as i32).into()],
                )?;
            }
        }
    }
    if !options.dry_run {
        if let Auth::GoTrue { api, concurrency } = auth {
            crate::run::progress::report(&format!(
                "azure_sync: users.json: Supabase Auth: {} to create, {} to update, {} to delete",
                plan.create.len(),
                plan.update.len(),
                plan.delete.len()
            ));
            outcome.auth_failures = sync_auth_users(api, *concurrency, &mut plan);
        }
    }
    fill_counts(&mut outcome, &plan);
    if plan.deletions_blocked > 0 {
        pgrx::warning!(
            "azure_sync: {} of {} users are absent from users.json; deleting them exceeds the deletion guard, so nobody was deleted. \
             If this is intended, run SELECT azure_sync.allow_mass_deletion('reason') and sync again.",
            plan.deletions_blocked,
            existing.len()
        );
    }
    if options.dry_run {
        outcome.status = "planned";
        return Ok(outcome);
    }
    outcome.status = "applied";
    let generated_at = file.generated_at.to_iso();
    let step = |what: &str| crate::run::progress::report(&format!("azure_sync: users.json: {what}"));
    step("groups and companies");
    upsert_groups_and_companies(file, &generated_at)?;
    step(&format!("{} created, {} updated, {} deleted: writing profiles", plan.create.len(), plan.update.len(), plan.delete.len()));
    if !plan.delete.is_empty() {
        Spi::run_with_args("DELETE FROM azure_sync.user_profiles WHERE id = ANY($1::uuid[])", &[plan.delete.clone().into()])?;
    }
    let changed: Vec<&DesiredUser> = plan.create.iter().chain(&plan.update).collect();
    write_profiles(&changed)?;
    crate::run::progress::report("azure_sync: users.json: done");
    Spi::run_with_args(
        "INSERT INTO azure_sync.users_file_state (singleton, generated_at, content_sha256, applied_at)
         VALUES (true, $1::timestamptz, $2, now())
         ON CONFLICT (singleton) DO UPDATE SET generated_at = EXCLUDED.generated_at,
             content_sha256 = EXCLUDED.content_sha256, applied_at = now()",
        &[generated_at.as_str().into(), sha256.into()],
    )?;
    Ok(outcome)
}

fn fill_counts(outcome: &mut UsersOutcome, plan: &UserPlan) {
    outcome.counts = UserCounts {
        users_created: plan.create.len(),
        users_updated: plan.update.len(),
        users_unchanged: plan.unchanged,
        users_deleted: plan.delete.len(),
        user_deletions_blocked: plan.deletions_blocked,
        users_rejected: plan.rejected.len(),
        users_failed: outcome.auth_failures.len(),
    };
    outcome.rejected = plan.rejected.clone();
    outcome.warnings = plan.warnings.clone();
}

/// Make Supabase Auth match the plan: deletions first (they free emails), then creations and
/// updates, `concurrency` calls at once on worker threads. A user whose call fails is taken
/// out of the plan, so the database keeps what it had for them (no orphan either way) and the
/// next run tries again. Returns the failures.
fn sync_auth_users(api: &Arc<GoTrue>, concurrency: usize, plan: &mut UserPlan) -> Vec<Rejection> {
    let mut failures = vec![];
    let deleter = api.clone();
    let deleted = crate::remote::parallel_map(std::mem::take(&mut plan.delete), concurrency, move |id| {
        let result = deleter.delete(&id);
        (id, result)
    });
    for (id, result) in deleted {
        match result {
            Ok(()) => plan.delete.push(id),
            Err(e) => failures.push(Rejection { user_id: id, email: None, reason: e.to_string() }),
        }
    }
    let writer = api.clone();
    let to_write: Vec<(bool, DesiredUser)> =
        std::mem::take(&mut plan.create).into_iter().map(|u| (true, u)).chain(std::mem::take(&mut plan.update).into_iter().map(|u| (false, u))).collect();
    let written = crate::remote::parallel_map(to_write, concurrency, move |(is_new, user)| {
        let result = if is_new { writer.create_or_update(&user) } else { writer.update_or_create(&user) };
        (is_new, user, result)
    });
    for (is_new, user, result) in written {
        match result {
            Ok(_) if is_new => plan.create.push(user),
            Ok(_) => plan.update.push(user),
            Err(e) => failures.push(Rejection { user_id: user.id.clone(), email: Some(user.email.clone()), reason: e.to_string() }),
        }
    }
    failures
}

/// One statement per table, whatever the number of rows: jsonb_to_recordset carries them.
fn upsert_groups_and_companies(file: &UsersFile, generated_at: &str) -> Result<(), SyncError> {
    let mut seen = HashSet::new();
    let groups: Vec<_> =
        file.groups.iter().filter(|g| seen.insert(g.id)).map(|g| json!({"id": g.id, "name": g.name, "is_active": g.is_active})).collect();
    let mut seen = HashSet::new();
    let companies: Vec<_> = file
        .companies
        .iter()
        .filter(|c| seen.insert(c.id))
        .map(|c| json!({"id": c.id, "group_id": c.group_id, "name": c.name, "is_active": c.is_active}))
        .collect();
    Spi::run_with_args(
        "INSERT INTO azure_sync.service_company_groups AS g (id, name, is_active, source_generated_at)
         SELECT x.id, x.name, x.is_active, $2::timestamptz FROM jsonb_to_recordset($1) AS x(id bigint, name text, is_active boolean)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, is_active = EXCLUDED.is_active,
             source_generated_at = EXCLUDED.source_generated_at, updated_at = now()
         WHERE g.source_generated_at <= EXCLUDED.source_generated_at
           AND (g.name, g.is_active) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.is_active)",
        &[JsonB(serde_json::Value::Array(groups)).into(), generated_at.into()],
    )?;
    Spi::run_with_args(
        "INSERT INTO azure_sync.companies AS c (id, group_id, name, is_active, source_generated_at)
         SELECT x.id, x.group_id, x.name, x.is_active, $2::timestamptz
         FROM jsonb_to_recordset($1) AS x(id bigint, group_id bigint, name text, is_active boolean)
         ON CONFLICT (id) DO UPDATE SET group_id = EXCLUDED.group_id, name = EXCLUDED.name, is_active = EXCLUDED.is_active,
             source_generated_at = EXCLUDED.source_generated_at, updated_at = now()
         WHERE c.source_generated_at <= EXCLUDED.source_generated_at
           AND (c.group_id, c.name, c.is_active) IS DISTINCT FROM (EXCLUDED.group_id, EXCLUDED.name, EXCLUDED.is_active)",
        &[JsonB(serde_json::Value::Array(companies)).into(), generated_at.into()],
    )?;
    Ok(())
}

/// Users written per statement: jsonb_to_recordset keeps what it builds for every row until
/// its statement ends, so batches bound the backend's memory however many users change.
const PROFILE_BATCH: usize = 1000;

/// Created and changed users: their profile, and their memberships replaced whole.
fn write_profiles(users: &[&DesiredUser]) -> Result<(), SyncError> {
    for (i, batch) in users.chunks(PROFILE_BATCH).enumerate() {
        pgrx::check_for_interrupts!();
        crate::run::progress::report(&format!("azure_sync: users.json: writing profiles {}/{}", i * PROFILE_BATCH + batch.len(), users.len()));
        super::with_scratch_memory(|| write_profile_batch(batch))?;
    }
    Ok(())
}

fn write_profile_batch(users: &[&DesiredUser]) -> Result<(), SyncError> {
    let profiles: Vec<_> = users
        .iter()
        .map(|u| {
            json!({"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                   "full_name": u.full_name, "record_hash": u.record_hash})
        })
        .collect();
    let memberships: Vec<_> = users
        .iter()
        .flat_map(|u| {
            u.memberships.iter().map(move |m| {
                json!({"user_id": u.id, "company_id": m.company_id, "employee_information_id": m.employee_information_id, "roles": m.roles})
            })
        })
        .collect();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    Spi::run_with_args(
        "INSERT INTO azure_sync.user_profiles AS p (id, email, first_name, last_name, full_name, record_hash)
         SELECT x.id, x.email, x.first_name, x.last_name, x.full_name, x.record_hash
         FROM jsonb_to_recordset($1) AS x(id uuid, email text, first_name text, last_name text, full_name text, record_hash text)
         ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
             full_name = EXCLUDED.full_name, record_hash = EXCLUDED.record_hash, updated_at = now()",
        &[JsonB(serde_json::Value::Array(profiles)).into()],
    )?;
    Spi::run_with_args("DELETE FROM azure_sync.company_memberships WHERE user_id = ANY($1::uuid[])", &[ids.into()])?;
    Spi::run_with_args(
        "INSERT INTO azure_sync.company_memberships (user_id, company_id, employee_information_id, roles)
         SELECT x.user_id, x.company_id, x.employee_information_id, x.roles
         FROM jsonb_to_recordset($1) AS x(user_id uuid, company_id bigint, employee_information_id bigint, roles text[])",
        &[JsonB(serde_json::Value::Array(memberships)).into()],
    )?;
    Ok(())
}
