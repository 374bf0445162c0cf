//! Worker threads for HTTP work (pure Rust: the workers never touch PostgreSQL). Items wait
//! in a shared queue; results come back through a bounded channel in completion order, so a
//! slow consumer holds the workers back instead of letting results pile up in memory. A panic
//! while working an item becomes that item's result (through `panicked`): it never kills the
//! worker, and every item queued is answered.

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

/// What a panic said, as text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Start up to `workers` threads applying `work` to `items`; an item whose work panics is
/// answered by `panicked(item, message)`. The channel holds at most `workers` finished
/// results. Workers stop when the queue is empty, when `stop` is raised, or when the receiver
/// is gone.
pub fn spawn<I, R>(
    items: Vec<I>,
    workers: usize,
    stop: Arc<AtomicBool>,
    work: impl Fn(I) -> R + Send + Sync + 'static,
    panicked: impl Fn(I, String) -> R + Send + Sync + 'static,
) -> Receiver<R>
where
    I: Clone + Send + 'static,
    R: Send + 'static,
{
    let workers = workers.clamp(1, items.len().max(1));
    let (tx, rx) = sync_channel(workers);
    let queue = Arc::new(Mutex::new(VecDeque::from(items)));
    let work = Arc::new(work);
    let panicked = Arc::new(panicked);
    for i in 0..workers {
        let (tx, queue, stop, work, panicked) = (tx.clone(), queue.clone(), stop.clone(), work.clone(), panicked.clone());
        std::thread::Builder::new()
            .name(format!("azure_sync-worker-{i}"))
            .spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Some(item) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else { return };
                let kept = item.clone();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item)))
                    .unwrap_or_else(|payload| panicked(kept, panic_message(payload.as_ref())));
                if tx.send(result).is_err() {
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
        let rx = spawn((0..100).collect(), 4, Arc::new(AtomicBool::new(false)), |i: u32| i * 2, |_, _| unreachable!());
        let mut got: Vec<u32> = rx.iter().collect();
        got.sort();
        assert_eq!(got, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_raised_stop_ends_the_work() {
        let stop = Arc::new(AtomicBool::new(true));
        let rx = spawn((0..100).collect(), 4, stop, |i: u32| i, |_, _| unreachable!());
        assert_eq!(rx.iter().count(), 0);
    }

    #[test]
    fn a_panic_is_its_items_answer_and_the_workers_go_on() {
        // More panicking items than workers: none of them may take a worker down with it.
        let rx = spawn(
            (0..20).collect(),
            2,
            Arc::new(AtomicBool::new(false)),
            |i: u32| if i % 3 == 0 { panic!("item {i} is hostile") } else { Ok(i) },
            |i, message| Err((i, message)),
        );
        let mut got: Vec<Result<u32, (u32, String)>> = rx.iter().collect();
        got.sort_by_key(|r| match r {
            Ok(i) | Err((i, _)) => *i,
        });
        assert_eq!(got.len(), 20);
        assert_eq!(got[3], Err((3, "item 3 is hostile".to_string())));
        assert_eq!(got[4], Ok(4));
    }
}
