//! The users use case, from a run or from sync_users(): read what is stored, plan (the
//! deletion guard and a DBA's allowance included), make Supabase Auth match the plan, then
//! write profiles and memberships. Each step's SQL is apply::users'; each decision plan::users'.

use super::headers::write_headers;
use crate::apply::users as sql;
use crate::backends::gotrue::GoTrue;
use crate::backends::AuthBackend;
use crate::contract::UsersFile;
use crate::error::SyncError;
use crate::outcome::{UserCounts, UsersOutcome, UsersStatus};
use crate::plan::companies::Headers;
use crate::plan::users::{plan_users, temporary_email, DeletionGuard, DeletionPermission, DesiredUser, Rejection, UserPlan};
use crate::clock::Timestamp;
use crate::plan::{freshness, refuse_future, Freshness};
use std::collections::HashSet;
use std::sync::Arc;

pub struct UsersOptions {
    pub guard: DeletionGuard,
    /// The caller allows deletions beyond the guard for this call.
    pub allow_mass_deletion: bool,
    pub dry_run: bool,
    /// The latest GeneratedAt believed (plan::refuse_future).
    pub not_after: Timestamp,
}

/// `progress` hears each step (shown in pg_stat_activity by the caller).
pub fn sync_users(file: &UsersFile, sha256: &str, auth: &AuthBackend, options: &UsersOptions, progress: &mut dyn FnMut(&str)) -> Result<UsersOutcome, SyncError> {
    if let Some(reason) = refuse_future(file.generated_at, options.not_after) {
        return Err(SyncError::Refused(format!("users.json: {reason}")));
    }
    let stored = sql::last_applied()?;
    let mut outcome = UsersOutcome {
        generated_at: file.generated_at.to_iso(),
        last_applied_generated_at: stored.map(|t| t.to_iso()),
        users_in_file: file.entries.iter().map(|e| e.user_id.as_str()).collect::<HashSet<_>>().len(),
        auth_backend: auth.label().to_string(),
        ..Default::default()
    };
    if freshness(file.generated_at, stored) == Freshness::Older {
        outcome.status = UsersStatus::Stale;
        outcome.warnings.push(format!(
            "users.json GeneratedAt {} is older than the last applied {}: nothing changed, nobody deleted",
            outcome.generated_at,
            outcome.last_applied_generated_at.as_deref().unwrap_or("?")
        ));
        return Ok(outcome);
    }
    let existing = sql::existing_users()?;
    // The allowance is looked up (and its row locked) only when the call does not allow it itself.
    let permission = if options.allow_mass_deletion {
        DeletionPermission::ForThisCall
    } else {
        match sql::unused_allowance()? {
            Some((id, max_count)) => DeletionPermission::Allowance { id, max_count },
            None => DeletionPermission::Guarded,
        }
    };
    let mut plan = plan_users(&file.entries, &existing, &options.guard, permission);
    if !options.dry_run {
        if let AuthBackend::GoTrue { api, concurrency } = auth {
            progress(&format!("Supabase Auth: {} to create, {} to update, {} to delete", plan.create.len(), plan.update.len(), plan.delete.len()));
            outcome.auth_failures = sync_auth_users(api, *concurrency, &mut plan);
        }
    }
    outcome.deletion_allowance_used = plan.allowance_used;
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
    if plan.deletions_blocked > 0 {
        pgrx::warning!(
            "azure_sync: {} of {} users are absent from users.json; deleting them exceeds the deletion guard, so nobody was deleted. \
             If this is intended, run SELECT azure_sync.allow_mass_deletion('reason') and sync again.",
            plan.deletions_blocked,
            existing.len()
        );
    }
    if options.dry_run {
        outcome.status = UsersStatus::Planned;
        return Ok(outcome);
    }
    progress("groups and companies");
    let headers = Headers::of_users(file);
    (outcome.groups, outcome.companies) = write_headers(&headers)?;
    if let Some(id) = plan.allowance_used {
        sql::mark_allowance_used(id, plan.delete.len())?;
    }
    progress(&format!("{} created, {} updated, {} deleted: writing profiles", plan.create.len(), plan.update.len(), plan.delete.len()));
    sql::delete_profiles(&plan.delete)?;
    let changed: Vec<&DesiredUser> = plan.create.iter().chain(&plan.update).collect();
    sql::write_profiles(&changed, progress)?;
    sql::record_users_file(file.generated_at, sha256, plan.deletions_blocked)?;
    progress("done");
    outcome.status = UsersStatus::Applied;
    Ok(outcome)
}

/// Make Supabase Auth match the plan: deletions first (they free emails), then creations and
/// updates, `concurrency` calls at once on worker threads. A user whose call fails is taken
/// out of the plan, so the database keeps what it had for them (no orphan either way) and the
/// next run tries again. Returns the failures.
fn sync_auth_users(api: &Arc<GoTrue>, concurrency: usize, plan: &mut UserPlan) -> Vec<Rejection> {
    let mut failures = vec![];
    let deleter = api.clone();
    let ids = std::mem::take(&mut plan.delete);
    let deleted = crate::remote::parallel_map(ids.clone(), concurrency, move |id| deleter.delete(&id));
    for (id, result) in ids.into_iter().zip(deleted) {
        match result {
            Ok(Ok(())) => plan.delete.push(id),
            Ok(Err(e)) => failures.push(Rejection { user_id: id, email: None, reason: e.to_string() }),
            Err(panic) => failures.push(Rejection { user_id: id, email: None, reason: panic }),
        }
    }
    // Users whose address another one takes step aside first (swaps and cycles in one run).
    let mover = api.clone();
    let moving = std::mem::take(&mut plan.move_first);
    let moved = crate::remote::parallel_map(moving.clone(), concurrency, move |id| mover.move_email(&id, &temporary_email(&id)));
    for (id, result) in moving.into_iter().zip(moved) {
        let reason = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(panic) => panic,
        };
        // Not moved: neither they nor whoever wanted their address can change this run.
        plan.update.retain(|u| u.id != id);
        failures.push(Rejection { user_id: id, email: None, reason });
    }
    let writer = api.clone();
    let to_write: Vec<(bool, DesiredUser)> =
        std::mem::take(&mut plan.create).into_iter().map(|u| (true, u)).chain(std::mem::take(&mut plan.update).into_iter().map(|u| (false, u))).collect();
    let written = crate::remote::parallel_map(to_write.clone(), concurrency, move |(is_new, user)| {
        if is_new { writer.create_or_update(&user) } else { writer.update_or_create(&user) }
    });
    for ((is_new, user), result) in to_write.into_iter().zip(written) {
        let failed = |reason: String| Rejection { user_id: user.id.clone(), email: Some(user.email.clone()), reason };
        match result {
            Ok(Ok(_)) if is_new => plan.create.push(user),
            Ok(Ok(_)) => plan.update.push(user),
            Ok(Err(e)) => failures.push(failed(e.to_string())),
            Err(panic) => failures.push(failed(panic)),
        }
    }
    failures
}
