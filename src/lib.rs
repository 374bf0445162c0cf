//! azure_sync: keeps a Supabase backup portal in step with the MaidCentral exports in Azure
//! Blob Storage, from inside PostgreSQL.
//!
//! Data flows one way, layer on layer (src/layers.rs holds the table and a test that fails on
//! an upward import): `clock`, `digest`, `redact`, `pool` → `http` → `azure` (the Blob client)
//! and `contract` (the file formats) → `plan` (pure decisions) → `outcome` (what a sync
//! reports) and `config` (the settings table) → `backends` (Supabase Auth and Storage
//! clients) → `error`, `spi`, `remote` → `apply` (the SQL) → `run` (a run and its use cases)
//! → `api` (the `#[pg_extern]` functions). Threads do HTTP and pure Rust only: everything
//! below `error` touches no PostgreSQL API.

pub mod api;
pub mod apply;
pub mod azure;
pub mod backends;
pub mod clock;
pub mod config;
pub mod contract;
pub mod digest;
pub mod error;
pub mod http;
pub mod outcome;
pub mod plan;
pub mod pool;
pub mod redact;
pub mod remote;
pub mod run;
pub mod spi;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod layers;
#[cfg(any(test, feature = "pg_test"))]
mod pgrx_tests;

::pgrx::pg_module_magic!(name, version);

/// Runs once when a backend loads the library.
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // A cancel, a timeout or a refusal must read as PostgreSQL's own message: pgrx attaches a
    // Rust backtrace to every ERROR that crosses Rust whenever backtraces are enabled, which
    // is noise for a DBA and in cron.job_run_details. A developer who wants them sets
    // RUST_LIB_BACKTRACE=1 in the server's environment.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: a backend is single-threaded while it loads a library; no thread of ours
        // exists yet to read the environment meanwhile.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") }
    }
}

// Tables, indexes and grants are plain versioned SQL in sql/; the functions come from
// #[pg_extern]s; the last file revokes what PUBLIC must not have once everything exists.
// Each release also ships sql/azure_sync--<previous>--<this>.sql for ALTER EXTENSION UPDATE.
::pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
::pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
