//! schedule_data rows and the embedded default's documents (stored_objects).

use crate::clock::{sql_unix_micros, Timestamp};
use crate::contract::ScheduleFile;
use crate::error::SyncError;
use crate::plan::schedule::StoredSchedule;
use crate::spi::optional;
use pgrx::prelude::*;
use std::collections::HashMap;

/// What is stored for a file's (company, DateRangeStart).
pub fn stored_version(file: &ScheduleFile) -> Result<Option<StoredSchedule>, SyncError> {
    let sql = format!(
        "SELECT {}, content_sha256 FROM azure_sync.schedule_data WHERE service_company_id = $1 AND schedule_date = $2::date",
        sql_unix_micros("generated_at")
    );
    let row = optional(Spi::get_two_with_args::<i64, String>(&sql, &[file.service_company_id.into(), file.date_range_start.as_str().into()]))?;
    Ok(match row {
        Some((Some(micros), Some(sha))) => Some(StoredSchedule { generated_at: Timestamp(micros), content_sha256: sha }),
        _ => None,
    })
}

/// schedule_data of the last `days` days: (company, DateRangeStart) → stored version, and
/// the first day covered.
pub fn recent_versions(days: i32) -> Result<(HashMap<(i64, String), StoredSchedule>, String), SyncError> {
    let covers_from = Spi::get_one_with_args::<String>("SELECT (current_date - $1)::text", &[days.into()])?.unwrap_or_default();
    let sql = format!(
        "SELECT service_company_id, schedule_date::text, {}, content_sha256 FROM azure_sync.schedule_data WHERE schedule_date >= $1::date",
        sql_unix_micros("generated_at")
    );
    let stored = Spi::connect(|client| -> Result<_, SyncError> {
        let mut map = HashMap::new();
        for row in client.select(&sql, None, &[covers_from.as_str().into()])? {
            if let (Some(company), Some(day), Some(micros), Some(sha)) = (row.get::<i64>(1)?, row.get::<String>(2)?, row.get::<i64>(3)?, row.get::<String>(4)?) {
                map.insert((company, day), StoredSchedule { generated_at: Timestamp(micros), content_sha256: sha });
            }
        }
        Ok(map)
    })?;
    Ok((stored, covers_from))
}

/// A document's bytes into the embedded default's table.
pub fn store_object(bucket: &str, path: &str, bytes: &[u8], sha256: &str) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.stored_objects (bucket, path, content, size_bytes, content_sha256)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (bucket, path) DO UPDATE SET content = EXCLUDED.content, size_bytes = EXCLUDED.size_bytes,
             content_sha256 = EXCLUDED.content_sha256, updated_at = now()",
        &[bucket.into(), path.into(), bytes.into(), (bytes.len() as i64).into(), sha256.into()],
    )?;
    Ok(())
}

/// Where a document came from, for its schedule_data row.
pub struct RowSource<'a> {
    pub storage_path: &'a str,
    pub size_bytes: usize,
    pub sha256: &'a str,
    pub blob_name: Option<&'a str>,
    pub blob_etag: Option<&'a str>,
}

/// The file's schedule_data row, inserted or overwritten.
pub fn upsert_row(file: &ScheduleFile, source: &RowSource) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.schedule_data AS s (service_company_id, schedule_date, date_range_end, generated_at, job_count,
             storage_path, size_bytes, content_sha256, azure_blob_name, azure_blob_hash, synced_at)
         VALUES ($1, $2::date, $3::date, $4::timestamptz, $5, $6, $7, $8, $9, $10, now())
         ON CONFLICT (service_company_id, schedule_date) DO UPDATE SET date_range_end = EXCLUDED.date_range_end,
             generated_at = EXCLUDED.generated_at, job_count = EXCLUDED.job_count, storage_path = EXCLUDED.storage_path,
             size_bytes = EXCLUDED.size_bytes, content_sha256 = EXCLUDED.content_sha256,
             azure_blob_name = EXCLUDED.azure_blob_name, azure_blob_hash = EXCLUDED.azure_blob_hash, synced_at = now()",
        &[
            file.service_company_id.into(),
            file.date_range_start.as_str().into(),
            file.date_range_end.as_str().into(),
            file.generated_at.to_iso().into(),
            (file.job_count as i32).into(),
            source.storage_path.into(),
            (source.size_bytes as i64).into(),
            source.sha256.into(),
            source.blob_name.into(),
            source.blob_etag.into(),
        ],
    )?;
    Ok(())
}
