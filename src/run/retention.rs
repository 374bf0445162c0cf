//! Retention at the end of a run: snapshots of days older than `retain_days` go with their
//! documents (a company's newest never does), and run history older than `history_days`.
//! With Storage, objects go through its API in batches, and a row whose object could not be
//! deleted stays, so the next run tries again.

use crate::apply::retention::{expired_snapshots, prune_history, remove_snapshots, ExpiredSnapshot};
use crate::backends::storage_api::DELETE_BATCH;
use crate::backends::StorageBackend;
use crate::config::Config;
use crate::error::SyncError;
use crate::outcome::RunSummary;


pub fn apply_retention(config: &Config, storage: &StorageBackend, dry_run: bool, summary: &mut RunSummary) -> Result<(), SyncError> {
    let expired = expired_snapshots(config.retain_days())?;
    summary.snapshots_expired = expired.len();
    if dry_run || expired.is_empty() {
        return Ok(());
    }
    let removed: Vec<ExpiredSnapshot> = match storage {
        StorageBackend::Embedded { bucket } => {
            remove_snapshots(&expired, Some(bucket))?;
            expired
        }
        StorageBackend::Api { bucket, api } => {
            let mut removed = vec![];
            for batch in expired.chunks(DELETE_BATCH) {
                let (api, bucket, paths) = (api.clone(), bucket.clone(), batch.iter().map(|e| e.storage_path.clone()).collect::<Vec<_>>());
                match crate::remote::off_main_thread(move |_| api.delete(&bucket, &paths)).map_err(SyncError::Worker)? {
                    Ok(()) => removed.extend_from_slice(batch),
                    Err(e) => summary.warnings.push(format!(
                        "retention: {} old snapshot(s) kept for the next run to remove: {}",
                        batch.len(),
                        crate::redact::scrub(&e.to_string())
                    )),
                }
            }
            remove_snapshots(&removed, None)?;
            removed
        }
    };
    summary.snapshots_removed = removed.len();
    Ok(())
}

/// Run history older than `history_days`: sync_jobs and pg_cron's rows of our jobs.
pub fn apply_history_limit(config: &Config, summary: &mut RunSummary) -> Result<(), SyncError> {
    (summary.history_runs_pruned, summary.cron_runs_pruned) = prune_history(config.history_days(), crate::apply::cron::JOB_NAMES)?;
    Ok(())
}
