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
    /// Blobs this run set out to download (changed, new, or named ambiguously).
    pub blobs_changed: usize,
    pub blobs_downloaded: usize,
    pub blobs_failed: usize,
    /// Versions that failed for good in an earlier run and were not downloaded again.
    pub blobs_still_failing: usize,
    /// Changed blobs not reached before max_run_seconds: the next run takes them.
    pub blobs_left_for_next_run: usize,
    pub schedules_applied: usize,
    pub schedules_unchanged: usize,
    pub schedules_stale: usize,
    pub users_file: Option<String>,
    #[serde(flatten)]
    pub user_counts: UserCounts,
    /// Snapshots of days older than retain_days (a dry run removes none of them).
    pub snapshots_expired: usize,
    pub snapshots_removed: usize,
    /// sync_jobs rows, and pg_cron runs of our jobs, older than history_days, removed.
    pub history_runs_pruned: i64,
    pub cron_runs_pruned: i64,
    pub list_requests: u64,
    pub get_requests: u64,
    pub auth_requests: u64,
    pub storage_requests: u64,
    pub storage_backend: String,
    /// What makes the Storage bucket unfit (public, refusing JSON, unreachable), when anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_problem: Option<String>,
    pub auth_backend: String,
    pub errors: Vec<BlobError>,
    /// The versions counted in blobs_still_failing, with their last error.
    pub still_failing: Vec<BlobError>,
    pub warnings: Vec<String>,
    pub sas_expires_at: Option<String>,
    pub timings: Timings,
    /// Details of the users sync (rejections, the allowance used), when users.json changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<UsersOutcome>,
}

impl RunSummary {
    /// Failed: the run could not go on (no listing, an unexpected error), or every changed
    /// blob failed. Partial: something is not as upstream has it (a blob failed now or still
    /// fails, users failed, deletions were held back, blobs were left for the next run).
    /// Succeeded: everything is.
    pub fn settle_status(&mut self, run_failed: bool) {
        let attempted = self.blobs_changed;
        self.status = if run_failed || (attempted > 0 && self.blobs_failed >= attempted) {
            RunStatus::Failed
        } else if self.blobs_failed > 0
            || self.blobs_still_failing > 0
            || self.blobs_left_for_next_run > 0
            || self.user_counts.users_failed > 0
            || self.user_counts.user_deletions_blocked > 0
            || self.storage_problem.is_some()
        {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled(s: RunSummary, run_failed: bool) -> RunStatus {
        let mut s = s;
        s.settle_status(run_failed);
        s.status
    }

    #[test]
    fn status_follows_the_failures() {
        let changed = |n, failed| RunSummary { blobs_changed: n, blobs_failed: failed, ..Default::default() };
        assert_eq!(settled(changed(0, 0), false), RunStatus::Succeeded);
        assert_eq!(settled(changed(5, 1), false), RunStatus::Partial);
        assert_eq!(settled(changed(5, 5), false), RunStatus::Failed);
        assert_eq!(settled(changed(0, 0), true), RunStatus::Failed);
    }

    #[test]
    fn what_is_not_as_upstream_has_it_makes_a_run_partial() {
        let still = RunSummary { blobs_still_failing: 1, ..Default::default() };
        assert_eq!(settled(still, false), RunStatus::Partial, "a no-op run beside a broken file");
        let held = RunSummary { user_counts: UserCounts { user_deletions_blocked: 30, ..Default::default() }, ..Default::default() };
        assert_eq!(settled(held, false), RunStatus::Partial);
        let left = RunSummary { blobs_changed: 9, blobs_left_for_next_run: 4, ..Default::default() };
        assert_eq!(settled(left, false), RunStatus::Partial);
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
