//! The calls into pg_cron, which is optional: without it the extension works and schedule()
//! says exactly what is missing. Only the API that pg_cron 1.4 to 1.6 share is used.

use crate::config::ConfigError;
use crate::error::SyncError;
use pgrx::prelude::*;

/// The role that operates azure_sync (finalize.sql creates it): the jobs' statements run as
/// that role, whoever's connection pg_cron opens for them. (A macro, so that the commands
/// below are built from it at compile time.)
macro_rules! admin_role {
    () => {
        "azure_sync_admin"
    };
}
pub const ADMIN_ROLE: &str = admin_role!();
pub const JOB_NAME: &str = "azure-sync-15min";
pub const JOB_COMMAND: &str = concat!("SET ROLE ", admin_role!(), "; SELECT azure_sync.run(trigger => 'cron')");
/// Drift repair between Supabase Auth and the profiles.
pub const RECONCILE_JOB_NAME: &str = "azure-sync-reconcile";
pub const RECONCILE_JOB_COMMAND: &str = concat!("SET ROLE ", admin_role!(), "; SELECT azure_sync.reconcile_auth(dry_run => false)");
/// Every job of ours, for unschedule() and for pruning their run history.
pub const JOB_NAMES: &[&str] = &[JOB_NAME, RECONCILE_JOB_NAME];

fn setting(name: &str) -> Result<String, SyncError> {
    Ok(Spi::get_one_with_args::<String>("SELECT coalesce(current_setting($1, true), '')", &[name.into()])?.unwrap_or_default())
}

/// What stands between this database and a pg_cron job, in the order to fix it.
fn missing_pieces() -> Result<Vec<String>, SyncError> {
    let database = Spi::get_one::<String>("SELECT current_database()::text")?.unwrap_or_default();
    let installed = Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron')")?.unwrap_or(false);
    if installed {
        return Ok(vec![]);
    }
    let mut missing = vec![];
    let available = Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron')")?.unwrap_or(false);
    if !available {
        let major = Spi::get_one::<String>("SELECT current_setting('server_version_num')::int / 10000 || ''")?.unwrap_or_default();
        missing.push(format!("pg_cron is not installed on this server (Debian: apt-get install postgresql-{major}-cron)"));
    }
    if !setting("shared_preload_libraries")?.split(',').any(|l| l.trim().trim_matches('"') == "pg_cron") {
        missing.push("add pg_cron to shared_preload_libraries in postgresql.conf and restart the server".to_string());
    }
    let cron_db = setting("cron.database_name")?;
    if cron_db != database {
        missing.push(format!("set cron.database_name = '{database}' in postgresql.conf (now: {})", if cron_db.is_empty() { "unset" } else { &cron_db }));
    }
    missing.push(format!("then run CREATE EXTENSION pg_cron in database {database}"));
    Ok(missing)
}

/// Create or replace a job; returns pg_cron's job id.
///
/// pg_cron records the current user as the job's user, which in schedule() (SECURITY DEFINER)
/// is the extension's owner. The job is handed to the DBA who logged in (session_user), as
/// pg_cron's own jobs are: pg_cron needs a role that can log in, and the owner may be a
/// superuser whose jobs pg_cron refuses (cron.enable_superuser_jobs) or who cannot log in at
/// all (Supabase's supabase_admin). The command's `SET ROLE` then runs it as azure_sync_admin.
pub fn schedule(name: &str, cron: &str, command: &str) -> Result<i64, SyncError> {
    let missing = missing_pieces()?;
    if !missing.is_empty() {
        return Err(ConfigError::Missing(format!("pg_cron is not available here: {}", missing.join("; "))).into());
    }
    let (login, may_set_role) = Spi::get_two_with_args::<String, bool>(
        "SELECT session_user::text, pg_has_role(session_user, $1, 'MEMBER')",
        &[ADMIN_ROLE.into()],
    )?;
    let login = login.unwrap_or_default();
    if may_set_role != Some(true) {
        return Err(ConfigError::Missing(format!(
            "the pg_cron job would run as {login}, who is not a member of {ADMIN_ROLE}: GRANT {ADMIN_ROLE} TO \"{login}\" first"
        ))
        .into());
    }
    // A job of ours under another user (an earlier schedule() by someone else) is replaced,
    // not kept beside the new one.
    unschedule(name)?;
    let id = Spi::get_one_with_args::<i64>("SELECT cron.schedule($1, $2, $3)", &[name.into(), cron.into(), command.into()])?;
    let id = id.expect("cron.schedule returns the job id");
    Spi::run_with_args(
        // pg_cron lets only a superuser give a job to another role; an owner who is not one
        // keeps it (and must be a member of azure_sync_admin to SET ROLE).
        "SELECT cron.alter_job(job_id => $1, username => session_user::text)
         WHERE session_user <> current_user AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)",
        &[id.into()],
    )?;
    Ok(id)
}

/// Remove a job of that name, whoever's it is; false when there was none. (By id: pg_cron's
/// unschedule by name finds only the current user's jobs.)
pub fn unschedule(name: &str) -> Result<bool, SyncError> {
    if !missing_pieces()?.is_empty() {
        return Ok(false);
    }
    let removed = Spi::get_one_with_args::<i64>(
        "SELECT count(cron.unschedule(jobid)) FROM cron.job WHERE jobname = $1",
        &[name.into()],
    )?
    .unwrap_or(0);
    Ok(removed > 0)
}
