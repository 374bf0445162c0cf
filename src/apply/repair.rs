//! Repairs a DBA runs by hand.

use crate::clock::Timestamp;
use crate::error::SyncError;
use pgrx::prelude::*;

/// How many stamps `clear_future_stamps` reset, table by table.
#[derive(Debug, Default, serde::Serialize)]
pub struct ClearedStamps {
    pub users_file_state: i64,
    pub schedule_data: i64,
    pub service_company_groups: i64,
    pub companies: i64,
}

/// Stamps later than `not_after` (a GeneratedAt from an upstream clock gone wrong, stored
/// before such stamps were refused) would make every later export look stale. Each is
/// replaced by when its row was written (the best estimate of its true GeneratedAt), and the
/// users.json stamp is forgotten, so the next exports apply.
pub fn clear_future_stamps(not_after: Timestamp) -> Result<ClearedStamps, SyncError> {
    let limit = not_after.to_iso();
    let count = |sql: &str| -> Result<i64, SyncError> {
        Ok(Spi::get_one_with_args::<i64>(&format!("WITH changed AS ({sql} RETURNING 1) SELECT count(*) FROM changed"), &[limit.as_str().into()])?
            .unwrap_or(0))
    };
    Ok(ClearedStamps {
        users_file_state: count("DELETE FROM azure_sync.users_file_state WHERE generated_at > $1::timestamptz")?,
        schedule_data: count("UPDATE azure_sync.schedule_data SET generated_at = least(synced_at, $1::timestamptz) WHERE generated_at > $1::timestamptz")?,
        service_company_groups: count(
            "UPDATE azure_sync.service_company_groups SET source_generated_at = least(updated_at, $1::timestamptz) WHERE source_generated_at > $1::timestamptz",
        )?,
        companies: count("UPDATE azure_sync.companies SET source_generated_at = least(updated_at, $1::timestamptz) WHERE source_generated_at > $1::timestamptz")?,
    })
}
