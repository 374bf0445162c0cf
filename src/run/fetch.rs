//! The downloads: worker threads (crate::pool) download, hash and parse each changed blob,
//! and upload the snapshots Storage needs. Pure Rust: the workers never touch PostgreSQL.
//! The pool's bounded channel keeps memory to a few blobs however many change: a worker
//! waits until the main thread has applied what came before.

use crate::azure::{AzureError, BlobClient, Fetched};
use crate::backends::storage_api::{StorageApi, Upload};
use crate::contract::{self, BlobKind, ContractError, ScheduleFile};
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
}

impl Uploader {
    fn upload_if_applying(&self, name: &str, file: &ScheduleFile, bytes: &[u8], sha256: &str) -> Upload {
        let day = file.date_range_start.as_str();
        if day < self.covers_from.as_str() {
            return Upload::NotAttempted;
        }
        match decide(file, Some(name), sha256, self.stored.get(&(file.service_company_id, day.to_string()))) {
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
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Azure(e) => write!(f, "{e}"),
            FetchError::Contract(e) => write!(f, "breaks the file contract: {e}"),
        }
    }
}

#[derive(Debug)]
pub struct Downloaded {
    pub name: String,
    pub kind: BlobKind,
    pub result: Result<Blob, FetchError>,
}

fn fetch_one(client: &BlobClient, uploader: Option<&Uploader>, name: &str, kind: BlobKind) -> Result<Blob, FetchError> {
    let (bytes, etag, sha256) = match client.get(name, None).map_err(FetchError::Azure)? {
        Fetched::Blob { bytes, etag, sha256 } => (bytes, etag, sha256),
        Fetched::NotModified => unreachable!("no If-None-Match was sent"),
    };
    // Only the typed record travels on with the bytes: a schedule's jobs are never built as
    // a JSON tree at all.
    let (parsed, upload) = match kind {
        BlobKind::Users => (Parsed::UsersUnparsed, Upload::NotAttempted),
        _ => {
            let file = contract::read_schedule_bytes(&bytes).map_err(FetchError::Contract)?;
            let upload = uploader.map(|u| u.upload_if_applying(name, &file, &bytes, &sha256)).unwrap_or(Upload::NotAttempted);
            (Parsed::Schedule(file), upload)
        }
    };
    Ok(Blob { bytes, etag, sha256, parsed, upload })
}

/// Start `workers` threads over `jobs`; results come in completion order.
pub fn spawn(
    client: Arc<BlobClient>,
    uploader: Option<Arc<Uploader>>,
    jobs: Vec<(String, BlobKind)>,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> Receiver<Downloaded> {
    crate::pool::spawn(jobs, workers, stop, move |(name, kind)| {
        let result = fetch_one(&client, uploader.as_deref(), &name, kind);
        Downloaded { name, kind, result }
    })
}
