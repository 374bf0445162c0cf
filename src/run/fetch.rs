//! The downloads: worker threads (crate::pool) download, hash and parse each changed blob,
//! and upload the snapshots Storage needs. Pure Rust: the workers never touch PostgreSQL.
//! The pool's bounded channel keeps memory to a few blobs however many change: a worker
//! waits until the main thread has applied what came before.

use crate::azure::{AzureError, AzureErrorKind, BlobClient, Fetched};
use crate::backends::storage_api::{StorageApi, Upload};
use crate::backends::supabase::ApiError;
use crate::clock::Timestamp;
use crate::contract::{self, BlobKind, ContractError, ScheduleFile};
use crate::plan::blobs::Download;
use crate::plan::schedule::{decide, storage_path, ScheduleDecision, StoredSchedule};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

#[derive(Debug)]
pub enum Parsed {
    Schedule(ScheduleFile),
    /// users.json is parsed by the main thread, which then works on it: the JSON tree's
    /// memory is freed where the next allocations reuse it, instead of staying resident in a
    /// worker thread's malloc arena beside them.
    UsersUnparsed,
}

#[derive(Debug)]
pub struct Blob {
    pub bytes: Vec<u8>,
    /// From Get Blob's answer: the version actually read (it may be newer than the listing's).
    pub etag: String,
    pub sha256: String,
    pub parsed: Parsed,
    /// Whether the worker already put the snapshot into Supabase Storage.
    pub upload: Upload,
}

/// Lets download workers upload the snapshots that will be applied, in parallel, instead of
/// leaving every upload to the single main thread. The main thread still decides for good
/// (from the database); the workers decide from a snapshot of the same rows, read under the
/// run's lock, so both agree.
pub struct Uploader {
    pub api: Arc<StorageApi>,
    pub bucket: String,
    /// schedule_data of recent days: (company, DateRangeStart) → the stored version.
    pub stored: HashMap<(i64, String), StoredSchedule>,
    /// The first day `stored` covers: a file for an earlier day is left to the main thread.
    pub covers_from: String,
    /// The latest GeneratedAt believed (plan::refuse_future).
    pub not_after: Timestamp,
}

impl Uploader {
    fn upload_if_applying(&self, name: &str, file: &ScheduleFile, bytes: &[u8], sha256: &str) -> Upload {
        let day = file.date_range_start.as_str();
        if day < self.covers_from.as_str() {
            return Upload::NotAttempted;
        }
        match decide(file, Some(name), sha256, self.stored.get(&(file.service_company_id, day.to_string())), self.not_after) {
            ScheduleDecision::Apply { .. } => match self.api.put(&self.bucket, &storage_path(file), bytes) {
                Ok(()) => Upload::Done,
                Err(e) => Upload::Failed(e),
            },
            _ => Upload::NotAttempted,
        }
    }
}

#[derive(Debug)]
pub enum FetchError {
    Azure(AzureError),
    Contract(ContractError),
    /// The worker panicked on this blob (hostile input we did not foresee).
    Panicked(String),
    /// Storage refused the snapshot for good (too large, a key or type it refuses).
    Storage(ApiError),
}

impl FetchError {
    /// Will the same version fail the same way again? Then it is not downloaded again until
    /// its ETag changes. The network, the service and credentials may recover by themselves.
    pub fn is_permanent(&self) -> bool {
        match self {
            FetchError::Azure(e) => e.kind == AzureErrorKind::TooLarge,
            FetchError::Contract(_) | FetchError::Panicked(_) => true,
            FetchError::Storage(e) => e.is_permanent(),
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Azure(e) => write!(f, "{e}"),
            FetchError::Contract(e) => write!(f, "breaks the file contract: {e}"),
            FetchError::Panicked(message) => write!(f, "reading it panicked ({message}): reported as a defect of azure_sync"),
            FetchError::Storage(e) => write!(f, "{e}"),
        }
    }
}

#[derive(Debug)]
pub struct Downloaded {
    pub job: Download,
    pub result: Result<Blob, FetchError>,
}

fn fetch_one(client: &BlobClient, uploader: Option<&Uploader>, job: &Download) -> Result<Blob, FetchError> {
    let (mut bytes, etag, mut sha256) = match client.get(&job.name, None).map_err(FetchError::Azure)? {
        Fetched::Blob { bytes, etag, sha256 } => (bytes, etag, sha256),
        Fetched::NotModified => unreachable!("no If-None-Match was sent"),
    };
    let bom_free = contract::without_bom(&bytes).len();
    if bom_free < bytes.len() {
        // Stored and hashed without the byte order mark: readers of the snapshot refuse one.
        bytes.drain(..bytes.len() - bom_free);
        sha256 = crate::digest::sha256_hex(&bytes);
    }
    // Only the typed record travels on with the bytes: a schedule's jobs are never built as
    // a JSON tree at all.
    let (parsed, upload) = match job.kind {
        BlobKind::Users => (Parsed::UsersUnparsed, Upload::NotAttempted),
        _ => {
            let file = contract::read_schedule_bytes(&bytes).map_err(FetchError::Contract)?;
            let upload = uploader.map(|u| u.upload_if_applying(&job.name, &file, &bytes, &sha256)).unwrap_or(Upload::NotAttempted);
            if let Upload::Failed(e) = &upload {
                if e.is_permanent() {
                    return Err(FetchError::Storage(e.clone()));
                }
            }
            (Parsed::Schedule(file), upload)
        }
    };
    Ok(Blob { bytes, etag, sha256, parsed, upload })
}

/// Start `workers` threads over `jobs`; results come in completion order, one per job, a
/// panic included.
pub fn spawn(client: Arc<BlobClient>, uploader: Option<Arc<Uploader>>, jobs: Vec<Download>, workers: usize, stop: Arc<AtomicBool>) -> Receiver<Downloaded> {
    crate::pool::spawn(
        jobs,
        workers,
        stop,
        move |job| {
            let result = fetch_one(&client, uploader.as_deref(), &job);
            Downloaded { job, result }
        },
        |job, message| Downloaded { job, result: Err(FetchError::Panicked(message)) },
    )
}
