//! HTTP runs on worker threads; the backend's main thread waits for it in short slices and
//! checks for interrupts between them, so `statement_timeout` and `pg_cancel_backend` end a
//! call within a fraction of a second even while a request hangs. The worker touches nothing
//! of PostgreSQL: it gets plain Rust values and hands plain Rust values back, and a panic on it
//! comes back as that work's error.

use crate::pool::{panic_message, StopOnDrop};
use pgrx::prelude::*;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// How often the waiting main thread looks for a cancel request.
pub const POLL: Duration = Duration::from_millis(100);

/// Wait for the next message, checking for interrupts while none comes. `None` when every
/// sender is gone.
pub fn recv_interruptibly<T>(rx: &Receiver<T>) -> Option<T> {
    loop {
        match rx.recv_timeout(POLL) {
            Ok(v) => return Some(v),
            Err(RecvTimeoutError::Timeout) => {
                check_for_interrupts!();
            }
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Run `work` (HTTP only) on a new thread and wait for its result interruptibly; a panic on
/// the thread comes back as `Err(message)`. `work` gets a flag raised when the wait ends (a
/// cancel, an error, or the answer): work in steps, such as a listing's pages, stops there.
pub fn off_main_thread<T: Send + 'static>(work: impl FnOnce(&AtomicBool) -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let _stop = StopOnDrop(stop.clone());
    std::thread::Builder::new()
        .name("azure_sync-http".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&stop)));
            let _ = tx.send(result.map_err(|payload| panic_message(payload.as_ref())));
        })
        .expect("the OS refused to start a thread");
    match recv_interruptibly(&rx) {
        Some(result) => result.map_err(|message| format!("a worker thread panicked: {message}")),
        None => Err("a worker thread stopped without an answer".to_string()),
    }
}

/// Apply `f` (HTTP only) to every item on `workers` threads; results in the items' order, a
/// panic as `Err(message)` for its item. The main thread waits interruptibly; on a cancel the
/// workers stop taking new items.
pub fn parallel_map<I, R>(items: Vec<I>, workers: usize, f: impl Fn(I) -> R + Send + Sync + 'static) -> Vec<Result<R, String>>
where
    I: Send + 'static,
    R: Send + 'static,
{
    let n = items.len();
    let stop = Arc::new(AtomicBool::new(false));
    let _stop = StopOnDrop(stop.clone());
    // The pool hands a panicking item back to say whose it was: the index is enough.
    let items: Vec<(usize, Arc<std::sync::Mutex<Option<I>>>)> =
        items.into_iter().enumerate().map(|(i, item)| (i, Arc::new(std::sync::Mutex::new(Some(item))))).collect();
    let rx = crate::pool::spawn(
        items,
        workers,
        stop,
        move |(index, item)| {
            let item = item.lock().unwrap_or_else(|p| p.into_inner()).take().expect("each item is worked once");
            (index, Ok(f(item)))
        },
        |(index, _), message| (index, Err(format!("a worker thread panicked: {message}"))),
    );
    let mut results: Vec<Option<Result<R, String>>> = (0..n).map(|_| None).collect();
    while let Some((index, r)) = recv_interruptibly(&rx) {
        results[index] = Some(r);
    }
    results.into_iter().map(|r| r.unwrap_or_else(|| Err("a worker thread stopped without an answer".to_string()))).collect()
}
