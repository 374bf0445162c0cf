//! What the sync reports: the status of a run, of a schedule file and of a users file, the
//! counts, per-blob errors and timings. Pure data at the bottom of the layers, serialised
//! snake_case into `sync_jobs` and the jsonb that `run()`, `sync_schedule()` and
//! `sync_users()` return.

use crate::plan::users::Rejection;
use serde::Serialize;

/// How a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every changed blob was applied (or there was none).
    #[default]
    Succeeded,
    /// Some blobs or users failed; the rest landed.
    Partial,
    /// Nothing could be done (no listing), or every changed blob failed.
    Failed,
    /// Another run held the lock.
    Skipped,
}

/// What became of one schedule file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleStatus {
    #[default]
    Applied,
    /// A dry run would have applied it.
    WouldApply,
    /// Same GeneratedAt, same bytes as stored.
    Unchanged,
    /// Older than what is stored for that company and day: never applied.
    Stale,
    /// Breaks a rule beyond the file's shape (its company disagrees with its blob name).
    Rejected,
}

/// What became of one users.json.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsersStatus {
    #[default]
    Applied,
    /// Older than the last one applied: nothing changed, nobody deleted.
    Stale,
    /// A dry run: the counts say what would happen.
    Planned,
}

/// The name a status is stored and shown under (`sync_jobs.status`): its serde name, so the
/// enum is the one home of the spelling.
pub fn status_name(status: impl Serialize) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("statuses serialise as strings, got {other:?}"),
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScheduleOutcome {
    pub status: ScheduleStatus,
    pub service_company_id: i64,
    pub schedule_date: String,
    pub generated_at: String,
    pub job_count: usize,
    pub storage_path: String,
    pub size_bytes: usize,
    pub new_row: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What happened to users, in a users sync and in a run's summary alike.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub users_created: usize,
    pub users_updated: usize,
    pub users_unchanged: usize,
    pub users_deleted: usize,
    pub user_deletions_blocked: usize,
    pub users_rejected: usize,
    /// Users whose Supabase Auth call failed: left as they were, tried again next run.
    pub users_failed: usize,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct UsersOutcome {
    pub status: UsersStatus,
    pub generated_at: String,
    pub last_applied_generated_at: Option<String>,
    pub users_in_file: usize,
    #[serde(flatten)]
    pub counts: UserCounts,
    /// Set when a DBA's one-time allowance let deletions past the guard.
    pub deletion_allowance_used: Option<i64>,
    pub groups: usize,
    pub companies: usize,
    pub rejected: Vec<Rejection>,
    /// Supabase Auth failures, one per user: nothing was changed for them.
    pub auth_failures: Vec<Rejection>,
    pub warnings: Vec<String>,
    pub auth_backend: String,
}

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
    pub status: RunStatus,
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
    pub users: Option<UsersOutcome>,
}

impl RunSummary {
    /// Failed: nothing could be done (no listing), or every changed blob failed.
    /// Partial: some blobs failed. Succeeded: none did.
    pub fn settle_status(&mut self, listing_failed: bool) {
        let attempted = self.blobs_listed - self.blobs_ignored - self.blobs_unchanged;
        self.status = if listing_failed || (attempted > 0 && self.blobs_failed == attempted) {
            RunStatus::Failed
        } else if self.blobs_failed > 0 || self.user_counts.users_failed > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        };
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
        assert_eq!(s.status, RunStatus::Succeeded);
        let mut s = summary(10, 5, 1);
        s.settle_status(false);
        assert_eq!(s.status, RunStatus::Partial);
        let mut s = summary(10, 5, 5);
        s.settle_status(false);
        assert_eq!(s.status, RunStatus::Failed);
        let mut s = summary(0, 0, 0);
        s.settle_status(true);
        assert_eq!(s.status, RunStatus::Failed);
    }

    #[test]
    fn statuses_are_stored_snake_case() {
        // sync_jobs.status has a CHECK with exactly these names.
        let names: Vec<String> = [RunStatus::Succeeded, RunStatus::Partial, RunStatus::Failed, RunStatus::Skipped].into_iter().map(status_name).collect();
        assert_eq!(names, ["succeeded", "partial", "failed", "skipped"]);
        assert_eq!(status_name(ScheduleStatus::WouldApply), "would_apply");
        assert_eq!(status_name(UsersStatus::Planned), "planned");
        let json = serde_json::to_value(RunSummary { users: Some(UsersOutcome::default()), ..Default::default() }).unwrap();
        assert_eq!(json["status"], "succeeded");
        assert_eq!(json["users"]["status"], "applied");
    }
}
