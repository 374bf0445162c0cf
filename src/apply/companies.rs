//! Group and company rows. Which rows a file may write is plan::companies' decision (never
//! regress); this writes them as decided, one statement per table.

use crate::clock::{sql_unix_micros, Timestamp};
use crate::error::SyncError;
use crate::plan::companies::{CompanyRow, GroupRow, Stored};
use pgrx::prelude::*;
use pgrx::JsonB;
use std::collections::HashMap;

/// The stored rows of these groups.
pub fn stored_groups(ids: &[i64]) -> Result<HashMap<i64, Stored<GroupRow>>, SyncError> {
    let sql = format!("SELECT id, name, is_active, {} FROM azure_sync.service_company_groups WHERE id = ANY($1)", sql_unix_micros("source_generated_at"));
    Spi::connect(|client| {
        let mut map = HashMap::new();
        for row in client.select(&sql, None, &[ids.to_vec().into()])? {
            if let (Some(id), Some(name), Some(is_active), Some(micros)) = (row.get::<i64>(1)?, row.get::<String>(2)?, row.get::<bool>(3)?, row.get::<i64>(4)?) {
                map.insert(id, Stored { row: GroupRow { id, name, is_active }, generated_at: Timestamp(micros) });
            }
        }
        Ok(map)
    })
}

/// The stored rows of these companies.
pub fn stored_companies(ids: &[i64]) -> Result<HashMap<i64, Stored<CompanyRow>>, SyncError> {
    let sql = format!(
        "SELECT id, group_id, name, is_active, time_zone_id, feature_toggles, {} FROM azure_sync.companies WHERE id = ANY($1)",
        sql_unix_micros("source_generated_at")
    );
    Spi::connect(|client| {
        let mut map = HashMap::new();
        for row in client.select(&sql, None, &[ids.to_vec().into()])? {
            let (Some(id), Some(group_id), Some(name), Some(is_active), Some(micros)) =
                (row.get::<i64>(1)?, row.get::<i64>(2)?, row.get::<String>(3)?, row.get::<bool>(4)?, row.get::<i64>(7)?)
            else {
                continue;
            };
            let feature_toggles = match row.get::<JsonB>(6)? {
                Some(JsonB(serde_json::Value::Object(m))) => m,
                _ => serde_json::Map::new(),
            };
            let company = CompanyRow { id, group_id, name, is_active, time_zone_id: row.get::<String>(5)?, feature_toggles };
            map.insert(id, Stored { row: company, generated_at: Timestamp(micros) });
        }
        Ok(map)
    })
}

/// Insert or overwrite these groups, stamped with the GeneratedAt of the file they came from.
pub fn upsert_groups(rows: &[GroupRow], generated_at: Timestamp) -> Result<(), SyncError> {
    if rows.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "INSERT INTO azure_sync.service_company_groups AS g (id, name, is_active, source_generated_at)
         SELECT x.id, x.name, x.is_active, $2::timestamptz FROM jsonb_to_recordset($1) AS x(id bigint, name text, is_active boolean)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, is_active = EXCLUDED.is_active,
             source_generated_at = EXCLUDED.source_generated_at, updated_at = now()",
        &[JsonB(serde_json::to_value(rows).expect("plain data")).into(), generated_at.to_iso().into()],
    )?;
    Ok(())
}

/// Insert or overwrite these companies, stamped likewise.
pub fn upsert_companies(rows: &[CompanyRow], generated_at: Timestamp) -> Result<(), SyncError> {
    if rows.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "INSERT INTO azure_sync.companies AS c (id, group_id, name, is_active, time_zone_id, feature_toggles, source_generated_at)
         SELECT x.id, x.group_id, x.name, x.is_active, x.time_zone_id, x.feature_toggles, $2::timestamptz
         FROM jsonb_to_recordset($1) AS x(id bigint, group_id bigint, name text, is_active boolean, time_zone_id text, feature_toggles jsonb)
         ON CONFLICT (id) DO UPDATE SET group_id = EXCLUDED.group_id, name = EXCLUDED.name, is_active = EXCLUDED.is_active,
             time_zone_id = EXCLUDED.time_zone_id, feature_toggles = EXCLUDED.feature_toggles,
             source_generated_at = EXCLUDED.source_generated_at, updated_at = now()",
        &[JsonB(serde_json::to_value(rows).expect("plain data")).into(), generated_at.to_iso().into()],
    )?;
    Ok(())
}
