//! The one audited way to run work in a subtransaction, as PL/pgSQL's EXCEPTION blocks do:
//! on success the work's writes join the caller's transaction; on any error (a PostgreSQL
//! ERROR or a Rust panic) only the work's writes roll back, and the error is handed back
//! instead of aborting the caller.

use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// What a failed subtransaction tells its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtransactionError {
    pub sqlstate: String,
    pub message: String,
}

impl std::fmt::Display for SubtransactionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn describe(e: &CaughtError) -> SubtransactionError {
    match e {
        CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) | CaughtError::RustPanic { ereport: r, .. } => {
            SubtransactionError { sqlstate: format!("{:?}", r.sql_error_code()), message: r.message().to_string() }
        }
    }
}

/// Run `work` in its own subtransaction: released when it returns `Ok`, rolled back when it
/// returns `Err` or raises. A query cancel (pg_cancel_backend, statement_timeout)
/// inside it rolls it back and is re-raised. Must be called on the backend's main thread, inside
/// a transaction (any SQL function call is).
pub fn in_subtransaction<T, E: std::fmt::Display>(work: impl FnOnce() -> Result<T, E>) -> Result<T, SubtransactionError> {
    // SAFETY: we are on the main thread inside a transaction; the pointers saved here are the
    // caller's memory context and resource owner, which outlive the subtransaction, and both
    // paths below restore them exactly as PL/pgSQL's exec_stmt_block does.
    unsafe {
        let outer_context = pg_sys::CurrentMemoryContext;
        let outer_owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        // The work allocates in the caller's context, so what it returns survives the release.
        pg_sys::MemoryContextSwitchTo(outer_context);
        let outer = AssertUnwindSafe((outer_context, outer_owner));
        let restore = move |(context, owner): (pg_sys::MemoryContext, pg_sys::ResourceOwner)| {
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
        };
        let work = AssertUnwindSafe(work);
        PgTryBuilder::new(move || {
            let result = work();
            if result.is_ok() {
                pg_sys::ReleaseCurrentSubTransaction();
            } else {
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
            }
            restore(outer.0);
            result.map_err(|e| SubtransactionError { sqlstate: String::new(), message: e.to_string() })
        })
        .catch_others(move |e| {
            // pgrx has already copied and flushed the error data when it turned the ERROR
            // into a panic: what is left is to undo the subtransaction.
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            restore(outer.0);
            // A cancel or statement_timeout is not this work's failure but the whole
            // statement's end: pass it on, as PL/pgSQL's WHEN OTHERS does not catch it either.
            if let CaughtError::PostgresError(r) = &e {
                if r.sql_error_code() == pgrx::PgSqlErrorCode::ERRCODE_QUERY_CANCELED {
                    e.rethrow();
                }
            }
            Err(describe(&e))
        })
        .execute()
    }
}
