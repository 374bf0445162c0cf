//! The sync's memory of each blob (blob_state): the ETag last applied, and failures.

use crate::error::SyncError;
use pgrx::prelude::*;
use std::collections::HashMap;

/// blob name → ETag of the version last applied.
pub fn applied_etags() -> Result<HashMap<String, String>, SyncError> {
    Spi::connect(|client| {
        let mut map = HashMap::new();
        for row in client.select("SELECT blob_name, applied_etag FROM azure_sync.blob_state WHERE applied_etag IS NOT NULL", None, &[])? {
            if let (Some(name), Some(etag)) = (row.get::<String>(1)?, row.get::<String>(2)?) {
                map.insert(name, etag);
            }
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
