//! One run of the sync (README, "What a run does"): lock, list, skip what is unchanged,
//! download on worker threads, apply each schedule file and then users.json in its own
//! subtransaction, record the run. Everything runs inside the caller's transaction. The use
//! cases a run is made of (schedule, users, headers) live beside it and serve the
//! one-document SQL functions too.

pub mod fetch;
pub mod headers;
pub mod progress;
pub mod readiness;
pub mod reconcile;
pub mod retention;
pub mod schedule;
pub mod users;

use crate::apply::{blobs, jobs};
use crate::azure::{BlobClient, Credential};
use crate::backends::storage_api::Upload;
use crate::backends::{AuthBackend, StorageBackend};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::contract::BlobKind;
use crate::error::SyncError;
use crate::outcome::{BlobError, RunStatus, RunSummary, ScheduleStatus};
use crate::plan::blobs::{plan_fetch, Download, ListedBlob};
use crate::plan::refuse_future;
use crate::pool::StopOnDrop;
use crate::redact::scrub;
use crate::remote;
use crate::spi::in_subtransaction;
use fetch::{Blob, Downloaded, FetchError, Parsed, Uploader};
use progress::Progress;
use schedule::{apply_schedule, ScheduleInput};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use users::{sync_users, UsersOptions};

/// How many recent days of schedule_data the upload workers see (files for older days, which a
/// live export never sends, are uploaded by the main thread after its own check).
const UPLOAD_SNAPSHOT_DAYS: i32 = 14;

/// A SAS closer than this to its expiry is warned about on every run (and is a readiness gap).
pub(crate) const SAS_WARNING_DAYS: i64 = 14;

/// Whole days until a SAS expires (negative once it has).
pub(crate) fn sas_days_left(expiry: Timestamp) -> i64 {
    (expiry.unix_seconds() - Timestamp::now().unix_seconds()).div_euclid(86_400)
}

pub struct RunOptions {
    pub dry_run: bool,
    pub trigger: String,
}

pub fn run(options: RunOptions) -> RunSummary {
    let t0 = Instant::now();
    let started_at = Timestamp::now();
    let mut summary = RunSummary { dry_run: options.dry_run, trigger: options.trigger.clone(), ..Default::default() };
    if !jobs::try_run_lock().unwrap_or(false) {
        summary.status = RunStatus::Skipped;
        summary.warnings.push("another azure_sync.run() is in progress".into());
        pgrx::notice!("azure_sync: another run is in progress; this one is skipped");
    } else {
        let mut progress = Progress::start();
        // The run's own writes in one subtransaction: an unexpected ERROR anywhere (a panic
        // included; a cancel passes through) rolls them back, and the run is still recorded
        // as failed, with the reason, and told to the caller.
        match in_subtransaction(|| execute(&options, &mut summary, &mut progress, t0)) {
            Ok(()) => summary.settle_status(false),
            Err(e) => {
                let reason = scrub(&e.message);
                pgrx::warning!("azure_sync: run failed: {reason}");
                summary.errors.push(BlobError { blob: "(run)".into(), reason: format!("{reason} (nothing this run wrote was kept)") });
                summary.settle_status(true);
            }
        }
    }
    summary.timings.total_ms = t0.elapsed().as_millis() as u64;
    if !options.dry_run {
        // A bookkeeping failure must not hide the run's outcome: report it, keep the summary.
        if let Err(e) = jobs::record(&summary, started_at) {
            pgrx::warning!("azure_sync: could not record the run in sync_jobs: {}", e.public_message());
        }
    }
    summary
}

fn execute(options: &RunOptions, summary: &mut RunSummary, progress: &mut Progress, started: Instant) -> Result<(), SyncError> {
    let config = crate::apply::settings::load()?;
    let container = config.container()?;
    warn_about_sas_expiry(&container.credential, summary);
    let client = Arc::new(BlobClient::new(container, config.client_options()?));
    // pg_cron sets no statement_timeout: past this, the run starts no new work.
    let deadline = config.run_limit().map(|limit| started + limit);
    let past_deadline = || deadline.is_some_and(|d| Instant::now() >= d);
    let not_after = config.not_after();

    let t = Instant::now();
    progress.phase(&format!("listing {}", client.container().describe()));
    let lister = client.clone();
    let listing = remote::off_main_thread(move |stop| lister.list_all(stop, deadline)).map_err(SyncError::Worker)??;
    summary.timings.list_ms = t.elapsed().as_millis() as u64;
    summary.blobs_listed = listing.len();
    let listed: Vec<ListedBlob> =
        listing.into_iter().map(|b| ListedBlob { name: b.name, etag: b.etag, size_bytes: b.size_bytes }).collect();
    if !listed.iter().any(|b| b.name == crate::contract::USERS_BLOB) {
        summary.warnings.push("users.json is not in the container: users were not synced and nobody was deleted".into());
    }
    let reapply_users = crate::apply::users::allowed_deletions_pending()?;
    let plan = plan_fetch(&listed, &blobs::memory()?, reapply_users);
    drop(listed);
    summary.blobs_unchanged = plan.unchanged;
    summary.blobs_ignored = plan.ignored;
    summary.users_file = plan.users.as_ref().map(|d| d.name.clone());
    for (name, reason) in plan.still_failing {
        summary.blobs_still_failing += 1;
        summary.still_failing.push(BlobError { blob: name, reason });
    }
    summary.blobs_changed = plan.schedules.len() + plan.users.iter().count() + plan.ambiguous.len();
    for (name, reason) in &plan.ambiguous {
        record_failure(name, BlobKind::of(name), reason.clone(), None, options.dry_run, summary)?;
    }

    let mut work: Vec<Download> = plan.schedules;
    work.extend(plan.users);
    let total = work.len();
    let workers = config.concurrency();
    progress.phase(&format!(
        "{total} of {} blobs changed ({} unchanged, {} ignored, {} still failing); downloading with {workers} workers",
        summary.blobs_listed, summary.blobs_unchanged, summary.blobs_ignored, summary.blobs_still_failing
    ));

    let storage = StorageBackend::from_config(&config)?;
    let auth = AuthBackend::from_config(&config)?;
    summary.storage_backend = storage.label();
    summary.auth_backend = auth.label().to_string();
    if let (StorageBackend::Api { bucket, api }, false, true) = (&storage, options.dry_run, total > 0) {
        // An existing bucket may be unfit (public, refusing JSON): say so rather than use it
        // blindly. Asked only when there is something to upload: a no-op run calls nobody.
        let (checker, name) = (api.clone(), bucket.clone());
        match remote::off_main_thread(move |_| checker.bucket_state(&name)).map_err(SyncError::Worker)? {
            Ok(state) => {
                if let Some(problem) = state.problem(bucket) {
                    pgrx::warning!("azure_sync: {problem}");
                    summary.storage_problem = Some(problem);
                }
            }
            Err(e) => summary.storage_problem = Some(scrub(&e.to_string())),
        }
    }
    let uploader = match (&storage, options.dry_run) {
        (StorageBackend::Api { bucket, api }, false) => {
            let (stored, covers_from) = crate::apply::schedule::recent_versions(UPLOAD_SNAPSHOT_DAYS)?;
            Some(Arc::new(Uploader { api: api.clone(), bucket: bucket.clone(), stored, covers_from, not_after }))
        }
        _ => None,
    };

    let t = Instant::now();
    let mut unanswered: HashSet<String> = work.iter().map(|d| d.name.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_workers = StopOnDrop(stop.clone());
    let results = fetch::spawn(client.clone(), uploader, work, workers, stop.clone());
    let mut users_download = None;
    let mut done = 0;
    while let Some(downloaded) = remote::recv_interruptibly(&results) {
        unanswered.remove(&downloaded.job.name);
        done += 1;
        if downloaded.job.kind == BlobKind::Users {
            // Users go last, after every schedule file, whatever order downloads finish in.
            users_download = Some(downloaded);
        } else {
            apply_schedule_blob(downloaded, &storage, not_after, options.dry_run, summary)?;
            progress.update(&format!("downloaded and applied {done}/{total} blobs, {} failed", summary.blobs_failed));
        }
        if past_deadline() {
            stop.store(true, Ordering::SeqCst);
            break;
        }
    }
    summary.timings.download_and_apply_schedules_ms = t.elapsed().as_millis() as u64;

    if past_deadline() {
        // What is done stays; what is not is left as it was, changed, for the next run.
        summary.blobs_left_for_next_run = unanswered.len() + users_download.take().iter().count();
        summary.warnings.push(format!(
            "the run reached max_run_seconds ({} s): {} changed blob(s) left for the next run",
            config.max_run_seconds(),
            summary.blobs_left_for_next_run
        ));
    } else {
        // Every blob queued is accounted for: one that was neither applied nor failed is said so.
        for name in unanswered {
            let reason = "its download worker stopped without an answer; the next run tries again".to_string();
            record_failure(&name, BlobKind::of(&name), reason, None, options.dry_run, summary)?;
        }
    }

    if let Some(downloaded) = users_download {
        let t = Instant::now();
        progress.phase(&format!("applying {}", downloaded.job.name));
        apply_users_blob(downloaded, &config, &auth, not_after, options.dry_run, summary)?;
        summary.timings.users_ms = t.elapsed().as_millis() as u64;
    }
    if !past_deadline() {
        progress.phase("retention: snapshots older than retain_days, history older than history_days");
        retention::apply_retention(&config, &storage, options.dry_run, summary)?;
        if !options.dry_run {
            retention::apply_history_limit(&config, summary)?;
        }
    }
    let (lists, gets) = client.request_counts();
    summary.list_requests = lists;
    summary.get_requests = gets;
    summary.auth_requests = auth.calls();
    summary.storage_requests = storage.calls();
    progress.phase(&format!(
        "done: {} downloaded, {} schedule files applied, {} failed; users {} created, {} updated, {} deleted",
        summary.blobs_downloaded,
        summary.schedules_applied,
        summary.blobs_failed,
        summary.user_counts.users_created,
        summary.user_counts.users_updated,
        summary.user_counts.users_deleted
    ));
    Ok(())
}

fn warn_about_sas_expiry(credential: &Credential, summary: &mut RunSummary) {
    let Credential::Sas(token) = credential else { return };
    let Some(expiry) = token.expiry() else { return };
    summary.sas_expires_at = Some(expiry.to_iso());
    let days_left = sas_days_left(expiry);
    if days_left < SAS_WARNING_DAYS {
        let text = format!("the Azure SAS token expires at {} ({days_left} day(s) left): rotate it with azure_sync.configure(azure_url => ...)", expiry.to_iso());
        pgrx::warning!("azure_sync: {text}");
        summary.warnings.push(text);
    }
}

/// Apply one downloaded blob: in a dry run only plan it; otherwise in its own subtransaction,
/// marking the blob applied (its ETag the one to compare with next time) when `used` says so.
fn apply_downloaded<T>(
    job: &Download,
    blob: &Blob,
    dry_run: bool,
    apply: impl Fn(bool) -> Result<T, SyncError>,
    used: impl Fn(&T) -> bool,
) -> Result<T, String> {
    if dry_run {
        return apply(true).map_err(|e| e.public_message());
    }
    in_subtransaction(|| {
        crate::spi::with_scratch_memory(|| {
            let outcome = apply(false)?;
            if used(&outcome) {
                blobs::mark_applied(&job.name, job.kind.label(), &blob.etag, &blob.sha256, blob.bytes.len())?;
            }
            Ok::<_, SyncError>(outcome)
        })
    })
    .map_err(|e| e.message)
}

/// A blob that could not be used: reported, and remembered. `permanent_etag`: this version
/// fails for good and is not downloaded again until its ETag changes; None: the next run
/// tries again.
fn record_failure(name: &str, kind: BlobKind, reason: String, permanent_etag: Option<&str>, dry_run: bool, summary: &mut RunSummary) -> Result<(), SyncError> {
    let reason = scrub(&reason);
    summary.blobs_failed += 1;
    if !dry_run {
        blobs::mark_failed(name, kind.label(), &reason, permanent_etag.filter(|e| !e.is_empty()))?;
    }
    summary.errors.push(BlobError { blob: name.to_string(), reason });
    Ok(())
}

/// The download itself, or why there is nothing to apply: a failure (recorded) or the content
/// already applied (a blob listed without an ETag, judged by its hash).
fn downloaded_blob(downloaded: Downloaded, dry_run: bool, summary: &mut RunSummary) -> Result<Option<(Download, Blob)>, SyncError> {
    let Downloaded { job, result } = downloaded;
    let blob = match result {
        Ok(blob) => blob,
        Err(e) => {
            let permanent = e.is_permanent().then_some(job.listed_etag.as_str());
            record_failure(&job.name, job.kind, e.to_string(), permanent, dry_run, summary)?;
            return Ok(None);
        }
    };
    summary.blobs_downloaded += 1;
    if job.applied_sha256.as_deref() == Some(blob.sha256.as_str()) {
        summary.blobs_unchanged += 1;
        return Ok(None);
    }
    Ok(Some((job, blob)))
}

fn apply_schedule_blob(downloaded: Downloaded, storage: &StorageBackend, not_after: Timestamp, dry_run: bool, summary: &mut RunSummary) -> Result<(), SyncError> {
    let Some((job, mut blob)) = downloaded_blob(downloaded, dry_run, summary)? else { return Ok(()) };
    let upload = std::mem::replace(&mut blob.upload, Upload::NotAttempted);
    let Parsed::Schedule(file) = &blob.parsed else { unreachable!("schedule names are parsed as schedules") };
    let input = ScheduleInput { file, bytes: &blob.bytes, sha256: &blob.sha256, blob_name: Some(&job.name), blob_etag: Some(&blob.etag), upload, not_after };
    let outcome = apply_downloaded(&job, &blob, dry_run, |dry| apply_schedule(&input, storage, dry), |o| o.status != ScheduleStatus::Rejected);
    match outcome {
        Err(reason) => record_failure(&job.name, job.kind, reason, None, dry_run, summary)?,
        Ok(o) => match o.status {
            ScheduleStatus::Applied | ScheduleStatus::WouldApply => summary.schedules_applied += 1,
            ScheduleStatus::Unchanged => summary.schedules_unchanged += 1,
            ScheduleStatus::Stale => {
                summary.schedules_stale += 1;
                summary.warnings.push(format!("{}: {}", job.name, o.reason.unwrap_or_default()));
            }
            ScheduleStatus::Rejected => {
                let reason = o.reason.unwrap_or_else(|| "rejected".into());
                record_failure(&job.name, job.kind, reason, Some(&job.listed_etag), dry_run, summary)?
            }
        },
    }
    Ok(())
}

fn apply_users_blob(downloaded: Downloaded, config: &Config, auth: &AuthBackend, not_after: Timestamp, dry_run: bool, summary: &mut RunSummary) -> Result<(), SyncError> {
    // Nothing is deleted when users.json cannot be read: the guard's first rule.
    let Some((job, blob)) = downloaded_blob(downloaded, dry_run, summary)? else { return Ok(()) };
    debug_assert!(matches!(blob.parsed, Parsed::UsersUnparsed));
    // Read from the bytes one group at a time: at 200,000 users the whole tree would be ~8x the file.
    let parsed = crate::contract::read_users_bytes(&blob.bytes);
    let file = match parsed {
        Ok(file) => file,
        Err(e) => return record_failure(&job.name, job.kind, FetchError::Contract(e).to_string(), Some(&job.listed_etag), dry_run, summary),
    };
    if let Some(reason) = refuse_future(file.generated_at, not_after) {
        return record_failure(&job.name, job.kind, reason, Some(&job.listed_etag), dry_run, summary);
    }
    let file = &file;
    let apply = |dry_run| {
        let options = UsersOptions { guard: config.guard(), allow_mass_deletion: false, dry_run, not_after };
        sync_users(file, &blob.sha256, auth, &options, &mut |step| progress::report(&format!("azure_sync.run: users.json: {step}")))
    };
    // With Auth failures the blob stays unapplied: the next run downloads it again and retries
    // exactly the users that failed (the others are unchanged by then).
    let outcome = apply_downloaded(&job, &blob, dry_run, apply, |o| o.auth_failures.is_empty());
    match outcome {
        Err(reason) => record_failure(&job.name, job.kind, reason, None, dry_run, summary)?,
        Ok(o) => {
            summary.user_counts = o.counts.clone();
            summary.warnings.extend(o.warnings.iter().map(|w| format!("{}: {w}", job.name)));
            for failure in &o.auth_failures {
                summary.errors.push(BlobError { blob: format!("{} (user {})", job.name, failure.user_id), reason: scrub(&failure.reason) });
            }
            summary.users = Some(o);
        }
    }
    Ok(())
}
