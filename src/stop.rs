//! A flag that tells worker threads to stop taking work, raised when its guard is dropped:
//! when the main thread leaves normally or by an error (a cancel), no worker keeps going for
//! nobody.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct StopOnDrop(pub Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
