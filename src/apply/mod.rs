//! The SQL the sync runs: reads of its state and every write to its tables (groups,
//! companies, schedule rows and documents, profiles and memberships, blob_state, sync_jobs,
//! settings and secrets) and the calls into pg_cron. Each function is one job in SQL and
//! decides nothing: what to write is decided in plan/, and the order of things in run/.

pub mod blobs;
pub mod companies;
pub mod cron;
pub mod jobs;
pub mod readiness;
pub mod repair;
pub mod retention;
pub mod schedule;
pub mod settings;
pub mod users;
