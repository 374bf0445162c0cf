//! The download pool: worker threads take blob names from a shared queue, download, hash and
//! parse each, and hand the result back through a bounded channel. Pure Rust: the workers
//! never touch PostgreSQL. The channel's bound keeps memory to a few blobs however many
//! change: a worker waits until the main thread has applied what came before.

use crate::azure::{AzureError, BlobClient, Fetched};
use crate::contract::{self, BlobKind, ContractError, ScheduleFile, UsersFile};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub enum Parsed {
    Schedule(ScheduleFile),
    Users(UsersFile),
}

#[derive(Debug)]
pub struct Blob {
    pub bytes: Vec<u8>,
    /// From Get Blob's answer: the version actually read (it may be newer than the listing's).
    pub etag: String,
    pub sha256: String,
    pub parsed: Parsed,
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

/// Tells the workers to stop taking new blobs; set when the main thread leaves the run,
/// normally or by an error (a cancel), so no worker keeps downloading for nobody.
pub struct StopOnDrop(pub Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn fetch_one(client: &BlobClient, name: &str, kind: BlobKind) -> Result<Blob, FetchError> {
    let (bytes, etag, sha256) = match client.get(name, None).map_err(FetchError::Azure)? {
        Fetched::Blob { bytes, etag, sha256 } => (bytes, etag, sha256),
        Fetched::NotModified => unreachable!("no If-None-Match was sent"),
    };
    let doc = contract::parse_json(&bytes).map_err(FetchError::Contract)?;
    let parsed = match kind {
        BlobKind::Users => Parsed::Users(contract::read_users(&doc).map_err(FetchError::Contract)?),
        _ => Parsed::Schedule(contract::read_schedule(&doc).map_err(FetchError::Contract)?),
    };
    Ok(Blob { bytes, etag, sha256, parsed })
}

/// Start `workers` threads over `jobs`; results come in completion order.
pub fn spawn(client: Arc<BlobClient>, jobs: Vec<(String, BlobKind)>, workers: usize, stop: Arc<AtomicBool>) -> Receiver<Downloaded> {
    let workers = workers.clamp(1, jobs.len().max(1));
    let (tx, rx) = sync_channel(workers);
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    for i in 0..workers {
        let (tx, queue, client, stop) = (tx.clone(), queue.clone(), client.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("azure_sync-fetch-{i}"))
            .spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Some((name, kind)) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else { return };
                let result = fetch_one(&client, &name, kind);
                if tx.send(Downloaded { name, kind, result }).is_err() {
                    return; // the run is over
                }
            })
            .expect("the OS refused to start a thread");
    }
    rx
}
