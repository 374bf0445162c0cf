//! azure_sync: keeps a Supabase backup portal in step with the MaidCentral exports in Azure
//! Blob Storage, from inside PostgreSQL.
//!
//! Data flows one way: `azure` (HTTP) → `contract` (parsing) → `plan` (pure decisions) →
//! `apply` (the only SPI writes) and `backends` (where documents and users go). `api` holds
//! the thin `#[pg_extern]` functions; `config` reads settings and secrets.

use pgrx::prelude::*;

pub mod api;
pub mod apply;
pub mod azure;
pub mod backends;
pub mod config;
pub mod contract;
pub mod cron;
pub mod error;
pub mod plan;
pub mod pool;
pub mod redact;
pub mod remote;
pub mod run;

::pgrx::pg_module_magic!(name, version);

// Tables, indexes and grants are plain versioned SQL in sql/; the functions come from
// #[pg_extern]s; the last file revokes what PUBLIC must not have once everything exists.
extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

/// The sha256 of some bytes, as lowercase hex: how every content hash is kept.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

// `cargo pgrx test` calls every #[pg_test] as tests.<name>(): they must all live in one
// module named `tests`, so the files under src/tests/ are included into it.
#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    include!("tests/support.rs");
    include!("tests/sync_docs.rs");
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
