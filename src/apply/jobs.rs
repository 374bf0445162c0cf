//! The sync's own records: one sync_jobs row per run, and blob_state per blob.

use crate::error::SyncError;
use crate::run::summary::RunSummary;
use pgrx::prelude::*;
use pgrx::JsonB;

/// The blob was applied (or was a no-op to apply): its ETag is now the one to compare with.
pub fn mark_applied(blob: &str, kind: &str, etag: &str, sha256: &str, size: usize) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.blob_state AS b (blob_name, kind, applied_etag, content_sha256, size_bytes, applied_at, consecutive_failures)
         VALUES ($1, $2, $3, $4, $5, now(), 0)
         ON CONFLICT (blob_name) DO UPDATE SET kind = EXCLUDED.kind, applied_etag = EXCLUDED.applied_etag,
             content_sha256 = EXCLUDED.content_sha256, size_bytes = EXCLUDED.size_bytes, applied_at = now(),
             consecutive_failures = 0, last_error = NULL",
        &[blob.into(), kind.into(), etag.into(), sha256.into(), (size as i64).into()],
    )?;
    Ok(())
}

/// The blob failed: its last applied ETag stays, so the next run tries it again.
pub fn mark_failed(blob: &str, kind: &str, reason: &str) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.blob_state AS b (blob_name, kind, last_error, last_failed_at, consecutive_failures)
         VALUES ($1, $2, $3, now(), 1)
         ON CONFLICT (blob_name) DO UPDATE SET last_error = EXCLUDED.last_error, last_failed_at = now(),
             consecutive_failures = b.consecutive_failures + 1",
        &[blob.into(), kind.into(), reason.into()],
    )?;
    Ok(())
}

/// Store the run's row; returns its id.
pub fn record(summary: &RunSummary, started_at: &str) -> Result<i64, SyncError> {
    let errors = serde_json::to_value(&summary.errors).expect("plain data");
    let whole = serde_json::to_value(summary).expect("plain data");
    let id = Spi::get_one_with_args::<i64>(
        "INSERT INTO azure_sync.sync_jobs (started_at, finished_at, status, trigger, dry_run, blobs_listed, blobs_unchanged,
             blobs_downloaded, blobs_failed, schedules_applied, users_created, users_updated, users_unchanged, users_deleted,
             user_deletions_blocked, errors, summary)
         VALUES ($1::timestamptz, clock_timestamp(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING id",
        &[
            started_at.into(),
            summary.status.as_str().into(),
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
