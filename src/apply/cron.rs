//! The calls into pg_cron, which is optional: without it the extension works and schedule()
//! says exactly what is missing. Only the API that pg_cron 1.4 to 1.6 share is used.

use crate::config::ConfigError;
use crate::error::SyncError;
use pgrx::prelude::*;

pub const JOB_NAME: &str = "azure-sync-15min";
pub const JOB_COMMAND: &str = "SELECT azure_sync.run(trigger => 'cron')";
/// Drift repair between Supabase Auth and the profiles.
pub const RECONCILE_JOB_NAME: &str = "azure-sync-reconcile";
pub const RECONCILE_JOB_COMMAND: &str = "SELECT azure_sync.reconcile_auth(dry_run => false)";
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
        missing.push("pg_cron is not installed on this server (Debian: apt-get install postgresql-15-cron)".to_string());
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
pub fn schedule(name: &str, cron: &str, command: &str) -> Result<i64, SyncError> {
    let missing = missing_pieces()?;
    if !missing.is_empty() {
        return Err(ConfigError::Missing(format!("pg_cron is not available here: {}", missing.join("; "))).into());
    }
    let id = Spi::get_one_with_args::<i64>("SELECT cron.schedule($1, $2, $3)", &[name.into(), cron.into(), command.into()])?;
    Ok(id.expect("cron.schedule returns the job id"))
}

/// Remove a job; false when there was none.
pub fn unschedule(name: &str) -> Result<bool, SyncError> {
    if !missing_pieces()?.is_empty() {
        return Ok(false);
    }
    let exists = Spi::get_one_with_args::<bool>("SELECT EXISTS (SELECT 1 FROM cron.job WHERE jobname = $1)", &[name.into()])?.unwrap_or(false);
    if exists {
        Spi::run_with_args("SELECT cron.unschedule($1::name)", &[name.into()])?;
    }
    Ok(exists)
}
