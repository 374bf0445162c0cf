//! One sync_jobs row per run, and the lock that keeps runs from overlapping.

use crate::clock::Timestamp;
use crate::error::SyncError;
use crate::outcome::{status_name, RunSummary};
use pgrx::prelude::*;
use pgrx::JsonB;

/// Key of the transaction-level advisory lock that keeps runs from overlapping ("azure_sy").
/// Transaction-level: released by commit or rollback, so a crashed run never leaves it held.
const RUN_LOCK_KEY: i64 = 0x617a_7572_655f_7379;

/// Take the run lock if nobody else holds it (this transaction may already hold it).
pub fn try_run_lock() -> Result<bool, SyncError> {
    Ok(Spi::get_one_with_args::<bool>("SELECT pg_try_advisory_xact_lock($1)", &[RUN_LOCK_KEY.into()])? == Some(true))
}

/// Wait for the run lock (a cancel or statement_timeout ends the wait, as any lock wait).
pub fn wait_for_run_lock() -> Result<(), SyncError> {
    Spi::run_with_args("SELECT pg_advisory_xact_lock($1)", &[RUN_LOCK_KEY.into()])?;
    Ok(())
}

/// Store the run's row; returns its id.
pub fn record(summary: &RunSummary, started_at: Timestamp) -> Result<i64, SyncError> {
    let (mut errors, mut whole) = (serde_json::to_value(&summary.errors).expect("plain data"), serde_json::to_value(summary).expect("plain data"));
    // Whatever hostile input the summary reports, its row can be written.
    crate::redact::scrub_json(&mut errors);
    crate::redact::scrub_json(&mut whole);
    let id = Spi::get_one_with_args::<i64>(
        "INSERT INTO azure_sync.sync_jobs (started_at, finished_at, status, trigger, dry_run, blobs_listed, blobs_unchanged,
             blobs_downloaded, blobs_failed, schedules_applied, users_created, users_updated, users_unchanged, users_deleted,
             user_deletions_blocked, errors, summary)
         VALUES ($1::timestamptz, clock_timestamp(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING id",
        &[
            started_at.to_iso().into(),
            status_name(summary.status).into(),
            summary.trigger.as_str().into(),
            summary.dry_run.into(),
            (summary.blobs_listed as i32).into(),
            (summary.blobs_unchanged as i32).into(),
            (summary.blobs_downloaded as i32).into(),
            (summary.blobs_failed as i32).into(),
            (summary.schedules_applied as i32).into(),
            (summary.user_counts.users_created as i32).into(),
            (summary.user_counts.users_updated as i32).into(),
            (summary.user_counts.users_unchanged as i32).into(),
            (summary.user_counts.users_deleted as i32).into(),
            (summary.user_counts.user_deletions_blocked as i32).into(),
            JsonB(errors).into(),
            JsonB(whole).into(),
        ],
    )?;
    Ok(id.expect("RETURNING gives a row"))
}
