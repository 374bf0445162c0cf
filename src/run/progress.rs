//! Progress a DBA can watch while a run goes: the phase and counts as the backend's query
//! text in pg_stat_activity, and a NOTICE at each phase change.

use pgrx::pg_sys;
use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

pub struct Progress {
    /// The statement's own text, put back when the run ends so an idle session shows it.
    original: Option<CString>,
    last_update: Instant,
}

/// Show `text` as this backend's query in pg_stat_activity (for steps inside a phase that
/// take long, e.g. writing 20,000 profiles).
pub fn report(text: &str) {
    let c = CString::new(crate::redact::scrub(text).replace('\0', " ")).expect("NULs were replaced");
    // SAFETY: main thread; the text is copied into shared memory before the call returns.
    unsafe { pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, c.as_ptr()) }
}

impl Progress {
    pub fn start() -> Progress {
        // SAFETY: main thread; debug_query_string is the running statement's text or NULL.
        let original = unsafe {
            let p = pg_sys::debug_query_string;
            (!p.is_null()).then(|| CStr::from_ptr(p).to_owned())
        };
        Progress { original, last_update: Instant::now() - Duration::from_secs(1) }
    }

    /// A new phase: shown in pg_stat_activity and sent as a NOTICE.
    pub fn phase(&mut self, text: &str) {
        pgrx::notice!("azure_sync: {}", crate::redact::scrub(text));
        report(&format!("azure_sync.run: {text}"));
        self.last_update = Instant::now();
    }

    /// Counts within a phase: pg_stat_activity only, at most five times a second.
    pub fn update(&mut self, text: &str) {
        if self.last_update.elapsed() >= Duration::from_millis(200) {
            report(&format!("azure_sync.run: {text}"));
            self.last_update = Instant::now();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(original) = &self.original {
            // SAFETY: as in `report`.
            unsafe { pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, original.as_ptr()) }
        }
    }
}
