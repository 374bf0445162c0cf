//! Drift repair (`reconcile_auth`): page through Supabase Auth's users, find where they and
//! the profiles disagree (plan::reconcile), and, unless it is a dry run, make Auth match the
//! profiles: create the missing, update the mismatched, delete orphans of ours behind the
//! deletion guard.

use crate::apply::users::profiles;
use crate::backends::gotrue::GoTrue;
use crate::backends::AuthBackend;
use crate::config::{Config, ConfigError};
use crate::error::SyncError;
use crate::plan::reconcile::{find_drift, Mismatch};
use crate::plan::users::DesiredUser;
use serde::Serialize;
use std::sync::Arc;

/// Users a list page holds: GoTrue takes any per_page.
const LIST_PAGE: u32 = 1000;

#[derive(Debug, Default, Serialize)]
pub struct ReconcileOutcome {
    pub dry_run: bool,
    pub auth_users: usize,
    pub profiles: usize,
    /// Profiles with no auth user (ids).
    pub missing_auth_users: Vec<String>,
    pub mismatched: Vec<Mismatch>,
    /// Auth users of ours with no profile (ids).
    pub orphans: Vec<String>,
    pub orphans_held_back: usize,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Repairs that failed: (user id, reason). The next reconcile tries again.
    pub failures: Vec<(String, String)>,
}

pub fn reconcile_auth(config: &Config, dry_run: bool) -> Result<ReconcileOutcome, SyncError> {
    let AuthBackend::GoTrue { api, concurrency } = AuthBackend::from_config(config)? else {
        return Err(ConfigError::Missing("reconcile_auth compares Supabase Auth with the profiles: configure(auth_url => ...)".into()).into());
    };
    let profiles = profiles()?;
    let lister = api.clone();
    let auth_users = crate::remote::off_main_thread(move |_| lister.list_all(LIST_PAGE)).map_err(SyncError::Worker)??;
    let drift = find_drift(&profiles, &auth_users, &config.guard());
    let mut outcome = ReconcileOutcome {
        dry_run,
        auth_users: auth_users.len(),
        profiles: profiles.len(),
        missing_auth_users: drift.missing.iter().map(|u| u.id.clone()).collect(),
        mismatched: drift.mismatched.iter().map(|(_, m)| m.clone()).collect(),
        orphans: drift.orphans.clone(),
        orphans_held_back: drift.orphans_held_back,
        ..Default::default()
    };
    if drift.orphans_held_back > 0 {
        pgrx::warning!(
            "azure_sync: {} auth users of ours have no profile; deleting them exceeds the deletion guard, so none was deleted",
            drift.orphans_held_back
        );
    }
    if dry_run {
        return Ok(outcome);
    }
    let results = repair(&api, concurrency, drift.missing, drift.mismatched.into_iter().map(|(u, _)| u).collect(), drift.orphans);
    for (repair, result) in results {
        match (&repair, result) {
            (Repair::Create(_), Ok(())) => outcome.created += 1,
            (Repair::Update(_), Ok(())) => outcome.updated += 1,
            (Repair::Delete(_), Ok(())) => outcome.deleted += 1,
            (_, Err(reason)) => outcome.failures.push((repair.user_id().to_string(), crate::redact::scrub(&reason))),
        }
    }
    Ok(outcome)
}

/// One repair.
#[derive(Debug, Clone)]
enum Repair {
    Create(DesiredUser),
    Update(DesiredUser),
    Delete(String),
}

impl Repair {
    fn user_id(&self) -> &str {
        match self {
            Repair::Create(u) | Repair::Update(u) => &u.id,
            Repair::Delete(id) => id,
        }
    }
}

/// The repairs, on worker threads: (the repair, how it went).
fn repair(api: &Arc<GoTrue>, concurrency: usize, missing: Vec<DesiredUser>, mismatched: Vec<DesiredUser>, orphans: Vec<String>) -> Vec<(Repair, Result<(), String>)> {
    let work: Vec<Repair> =
        missing.into_iter().map(Repair::Create).chain(mismatched.into_iter().map(Repair::Update)).chain(orphans.into_iter().map(Repair::Delete)).collect();
    let worker = api.clone();
    let results = crate::remote::parallel_map(work.clone(), concurrency, move |repair| match repair {
        // A user GoTrue lost is created again; one created meanwhile is updated.
        Repair::Create(user) => worker.create_or_update(&user).map(|_| ()).map_err(|e| e.to_string()),
        Repair::Update(user) => worker.update(&user, user.email_changed).map_err(|e| e.to_string()),
        Repair::Delete(id) => worker.delete(&id).map_err(|e| e.to_string()),
    });
    work.into_iter().zip(results).map(|(repair, r)| (repair, r.and_then(|inner| inner))).collect()
}
