//! HTTP runs on worker threads; the backend's main thread waits for it in short slices and
//! checks for interrupts between them, so `statement_timeout` and `pg_cancel_backend` end a
//! call within a fraction of a second even while a request hangs. The worker touches nothing
//! of PostgreSQL: it gets plain Rust values and hands plain Rust values back.

use pgrx::prelude::*;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
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

/// Run `work` (HTTP only) on a new thread and wait for its result interruptibly. If the
/// statement is cancelled meanwhile, the thread is left to finish its request on its own and
/// its result is dropped.
pub fn off_main_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("azure_sync-http".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .expect("the OS refused to start a thread");
    match recv_interruptibly(&rx) {
        Some(v) => v,
        None => pgrx::error!("azure_sync: an HTTP worker thread stopped without an answer (it panicked)"),
    }
}

/// Apply `f` (HTTP only) to every item on `workers` threads; results in the items' order.
/// The main thread waits interruptibly; on a cancel the workers stop taking new items.
pub fn parallel_map<I, R>(items: Vec<I>, workers: usize, f: impl Fn(I) -> R + Send + Sync + 'static) -> Vec<R>
where
    I: Send + 'static,
    R: Send + 'static,
{
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    let n = items.len();
    let stop = Arc::new(AtomicBool::new(false));
    let _stop = crate::pool::StopOnDrop(stop.clone());
    let rx = crate::pool::spawn(items.into_iter().enumerate().collect(), workers, stop, move |(index, item)| (index, f(item)));
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for _ in 0..n {
        match recv_interruptibly(&rx) {
            Some((index, r)) => results[index] = Some(r),
            None => pgrx::error!("azure_sync: an HTTP worker thread stopped without an answer (it panicked)"),
        }
    }
    results.into_iter().map(|r| r.expect("every index answered once")).collect()
}
