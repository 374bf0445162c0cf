//! The sync's memory of each blob (blob_state): the ETag last applied, and failures.

use crate::error::SyncError;
use crate::plan::blobs::BlobMemory;
use pgrx::prelude::*;
use std::collections::HashMap;

/// blob name → what the sync remembers of it.
pub fn memory() -> Result<HashMap<String, BlobMemory>, SyncError> {
    Spi::connect(|client| {
        let mut map = HashMap::new();
        let sql = "SELECT blob_name, applied_etag, content_sha256, permanently_failed_etag, last_error FROM azure_sync.blob_state";
        for row in client.select(sql, None, &[])? {
            let Some(name) = row.get::<String>(1)? else { continue };
            let memory = BlobMemory {
                applied_etag: row.get(2)?,
                content_sha256: row.get(3)?,
                permanently_failed_etag: row.get(4)?,
                last_error: row.get(5)?,
            };
            map.insert(name, memory);
        }
        Ok(map)
    })
}

/// The blob was applied (or was a no-op to apply): its ETag is now the one to compare with.
pub fn mark_applied(blob: &str, kind: &str, etag: &str, sha256: &str, size: usize) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.blob_state AS b (blob_name, kind, applied_etag, content_sha256, size_bytes, applied_at, consecutive_failures)
         VALUES ($1, $2, $3, $4, $5, now(), 0)
         ON CONFLICT (blob_name) DO UPDATE SET kind = EXCLUDED.kind, applied_etag = EXCLUDED.applied_etag,
             content_sha256 = EXCLUDED.content_sha256, size_bytes = EXCLUDED.size_bytes, applied_at = now(),
             consecutive_failures = 0, last_error = NULL, permanently_failed_etag = NULL",
        &[blob.into(), kind.into(), etag.into(), sha256.into(), (size as i64).into()],
    )?;
    Ok(())
}

/// The blob failed: its last applied ETag stays. `permanent_etag`: the version failed in a way
/// that will repeat, and is not downloaded again until its ETag changes; None: the next run
/// tries again.
pub fn mark_failed(blob: &str, kind: &str, reason: &str, permanent_etag: Option<&str>) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.blob_state AS b (blob_name, kind, last_error, last_failed_at, consecutive_failures, permanently_failed_etag)
         VALUES ($1, $2, $3, now(), 1, $4)
         ON CONFLICT (blob_name) DO UPDATE SET last_error = EXCLUDED.last_error, last_failed_at = now(),
             consecutive_failures = b.consecutive_failures + 1, permanently_failed_etag = EXCLUDED.permanently_failed_etag",
        &[blob.into(), kind.into(), reason.into(), permanent_etag.into()],
    )?;
    Ok(())
}
