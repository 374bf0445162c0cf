//! Worker threads for HTTP work (pure Rust: the workers never touch PostgreSQL). Items wait
//! in a shared queue; results come back through a bounded channel in completion order, so a
//! slow consumer holds the workers back instead of letting results pile up in memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// A flag that tells worker threads to stop taking work, raised when its guard is dropped:
/// when the main thread leaves normally or by an error (a cancel), no worker keeps going for
/// nobody.
pub struct StopOnDrop(pub Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Start up to `workers` threads applying `work` to `items`. The channel holds at most
/// `workers` finished results. Workers stop when the queue is empty, when `stop` is raised,
/// or when the receiver is gone.
pub fn spawn<I, R>(items: Vec<I>, workers: usize, stop: Arc<AtomicBool>, work: impl Fn(I) -> R + Send + Sync + 'static) -> Receiver<R>
where
    I: Send + 'static,
    R: Send + 'static,
{
    let workers = workers.clamp(1, items.len().max(1));
    let (tx, rx) = sync_channel(workers);
    let queue = Arc::new(Mutex::new(VecDeque::from(items)));
    let work = Arc::new(work);
    for i in 0..workers {
        let (tx, queue, stop, work) = (tx.clone(), queue.clone(), stop.clone(), work.clone());
        std::thread::Builder::new()
            .name(format!("azure_sync-worker-{i}"))
            .spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Some(item) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else { return };
                if tx.send(work(item)).is_err() {
                    return; // nobody is waiting any more
                }
            })
            .expect("the OS refused to start a thread");
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_worked_once() {
        let rx = spawn((0..100).collect(), 4, Arc::new(AtomicBool::new(false)), |i: u32| i * 2);
        let mut got: Vec<u32> = rx.iter().collect();
        got.sort();
        assert_eq!(got, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_raised_stop_ends_the_work() {
        let stop = Arc::new(AtomicBool::new(true));
        let rx = spawn((0..100).collect(), 4, stop, |i: u32| i);
        assert_eq!(rx.iter().count(), 0);
    }
}
