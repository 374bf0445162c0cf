//! What a run reports: counts, per-blob errors and phase timings, and the status they add
//! up to. Pure data, stored in sync_jobs and returned by run().

use crate::apply::users::UserCounts;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlobError {
    pub blob: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub list_ms: u64,
    pub download_and_apply_schedules_ms: u64,
    pub users_ms: u64,
    pub total_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// succeeded | partial | failed | skipped
    pub status: String,
    pub dry_run: bool,
    pub trigger: String,
    pub blobs_listed: usize,
    pub blobs_ignored: usize,
    pub blobs_unchanged: usize,
    pub blobs_downloaded: usize,
    pub blobs_failed: usize,
    pub schedules_applied: usize,
    pub schedules_unchanged: usize,
    pub schedules_stale: usize,
    pub users_file: Option<String>,
    #[serde(flatten)]
    pub user_counts: UserCounts,
    pub list_requests: u64,
    pub get_requests: u64,
    pub auth_requests: u64,
    pub storage_requests: u64,
    pub storage_backend: String,
    pub auth_backend: String,
    pub errors: Vec<BlobError>,
    pub warnings: Vec<String>,
    pub sas_expires_at: Option<String>,
    pub timings: Timings,
    /// Details of the users sync (rejections, the allowance used), when users.json changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<serde_json::Value>,
}

impl RunSummary {
    /// Failed: nothing could be done (no listing), or every changed blob failed.
    /// Partial: some blobs failed. Succeeded: none did.
    pub fn settle_status(&mut self, listing_failed: bool) {
        let attempted = self.blobs_listed - self.blobs_ignored - self.blobs_unchanged;
        self.status = if listing_failed || (attempted > 0 && self.blobs_failed == attempted) {
            "failed"
        } else if self.blobs_failed > 0 || self.user_counts.users_failed > 0 {
            "partial"
        } else {
            "succeeded"
        }
        .to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(listed: usize, unchanged: usize, failed: usize) -> RunSummary {
        RunSummary { blobs_listed: listed, blobs_unchanged: unchanged, blobs_failed: failed, ..Default::default() }
    }

    #[test]
    fn status_follows_the_failures() {
        let mut s = summary(10, 10, 0);
        s.settle_status(false);
        assert_eq!(s.status, "succeeded");
        let mut s = summary(10, 5, 1);
        s.settle_status(false);
        assert_eq!(s.status, "partial");
        let mut s = summary(10, 5, 5);
        s.settle_status(false);
        assert_eq!(s.status, "failed");
        let mut s = summary(0, 0, 0);
        s.settle_status(true);
        assert_eq!(s.status, "failed");
    }
}
