//! What every SQL-running module shares: "no row" as a normal answer, a scratch memory
//! context for large statements, and the audited subtransaction helper. The SQL itself lives
//! in apply/; this module holds no statement of its own.

pub mod subtxn;

pub use subtxn::{in_subtransaction, SubtransactionError};

use pgrx::spi::SpiError;

/// A query for one row where no row is a normal answer.
pub fn optional<T>(result: Result<T, SpiError>) -> Result<Option<T>, SpiError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(SpiError::InvalidPosition) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Run `f` with PostgreSQL's allocations going to a scratch memory context that is deleted
/// right after. The datums of large SPI arguments (a 450 KB document, a batch of 1,000
/// profiles as jsonb) and what jsonb_in builds while reading them are allocated in the
/// current context, which otherwise lives until the whole run() statement ends: without this,
/// a run's memory grows with every blob and every batch. `f` returns Rust values only, never
/// anything allocated by PostgreSQL.
pub fn with_scratch_memory<T>(f: impl FnOnce() -> T) -> T {
    let mut scratch = pgrx::PgMemoryContexts::new("azure_sync scratch");
    // SAFETY: the context is a fresh child of the current one; nothing allocated in it
    // escapes `f` (see above), and dropping `scratch` deletes it after switching back.
    unsafe { scratch.switch_to(|_| f()) }
}
