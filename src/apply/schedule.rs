//! Apply one schedule file: group and company from its header, the document into storage,
//! and its schedule_data row, unless it would regress what is stored.

use super::{epoch_micros, optional};
use crate::backends::storage_api::Upload;
use crate::backends::Storage;
use crate::contract::{ScheduleFile, Timestamp};
use crate::error::SyncError;
use crate::plan::schedule::{decide, storage_path, ScheduleDecision, StoredSchedule};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde::Serialize;
use std::collections::HashMap;

/// One schedule file as it arrives: parsed, with its bytes and where it came from.
pub struct ScheduleInput<'a> {
    pub file: &'a ScheduleFile,
    pub bytes: &'a [u8],
    pub sha256: &'a str,
    pub blob_name: Option<&'a str>,
    pub blob_etag: Option<&'a str>,
    /// Whether a download worker already uploaded the bytes to Storage.
    pub upload: Upload,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScheduleOutcome {
    /// applied | unchanged | stale | rejected (and, in a dry run, would_apply)
    pub status: &'static str,
    pub service_company_id: i64,
    pub schedule_date: String,
    pub generated_at: String,
    pub job_count: usize,
    pub storage_path: String,
    pub size_bytes: usize,
    pub new_row: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn stored_for(file: &ScheduleFile) -> Result<Option<StoredSchedule>, SyncError> {
    let sql = format!(
        "SELECT {}, content_sha256 FROM azure_sync.schedule_data WHERE service_company_id = $1 AND schedule_date = $2::date",
        epoch_micros("generated_at")
    );
    let row = optional(Spi::get_two_with_args::<i64, String>(&sql, &[file.service_company_id.into(), file.date_range_start.as_str().into()]))?;
    Ok(match row {
        Some((Some(micros), Some(sha))) => Some(StoredSchedule { generated_at: Timestamp(micros), content_sha256: sha }),
        _ => None,
    })
}

pub fn apply_schedule(input: &ScheduleInput, storage: &Storage, dry_run: bool) -> Result<ScheduleOutcome, SyncError> {
    let file = input.file;
    let stored = stored_for(file)?;
    let decision = decide(file, input.blob_name, input.sha256, stored.as_ref());
    let mut outcome = ScheduleOutcome {
        status: "applied",
        service_company_id: file.service_company_id,
        schedule_date: file.date_range_start.as_str().to_string(),
        generated_at: file.generated_at.to_iso(),
        job_count: file.job_count,
        storage_path: storage_path(file),
        size_bytes: input.bytes.len(),
        new_row: false,
        reason: None,
    };
    match decision {
        ScheduleDecision::Rejected(why) => {
            outcome.status = "rejected";
            outcome.reason = Some(why);
            return Ok(outcome);
        }
        ScheduleDecision::Stale { stored } => {
            outcome.status = "stale";
            outcome.reason = Some(format!(
                "GeneratedAt {} is older than the stored {} for {}: not applied (never regress)",
                file.generated_at.to_iso(),
                stored.to_iso(),
                outcome.schedule_date
            ));
            return Ok(outcome);
        }
        ScheduleDecision::Unchanged => {
            outcome.status = "unchanged";
            return Ok(outcome);
        }
        ScheduleDecision::Apply { new_row } => outcome.new_row = new_row,
    }
    if dry_run {
        outcome.status = "would_apply";
        return Ok(outcome);
    }
    let generated_at = file.generated_at.to_iso();
    upsert_group(file.group_id, &file.group_name, None, &generated_at)?;
    Spi::run_with_args(
        "INSERT INTO azure_sync.companies AS c (id, group_id, name, is_active, time_zone_id, feature_toggles, source_generated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz)
         ON CONFLICT (id) DO UPDATE SET group_id = EXCLUDED.group_id, name = EXCLUDED.name, is_active = EXCLUDED.is_active,
             time_zone_id = EXCLUDED.time_zone_id, feature_toggles = EXCLUDED.feature_toggles,
             source_generated_at = EXCLUDED.source_generated_at, updated_at = now()
         WHERE c.source_generated_at <= EXCLUDED.source_generated_at
           AND (c.group_id, c.name, c.is_active, c.time_zone_id, c.feature_toggles)
               IS DISTINCT FROM (EXCLUDED.group_id, EXCLUDED.name, EXCLUDED.is_active, EXCLUDED.time_zone_id, EXCLUDED.feature_toggles)",
        &[
            file.service_company_id.into(),
            file.group_id.into(),
            file.name.as_str().into(),
            file.is_active.into(),
            file.time_zone_id.clone().into(),
            JsonB(serde_json::Value::Object(file.feature_toggles.clone())).into(),
            generated_at.as_str().into(),
        ],
    )?;
    store_document(storage, &outcome.storage_path, input)?;
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
            generated_at.as_str().into(),
            (file.job_count as i32).into(),
            outcome.storage_path.as_str().into(),
            (input.bytes.len() as i64).into(),
            input.sha256.into(),
            input.blob_name.into(),
            input.blob_etag.into(),
        ],
    )?;
    Ok(outcome)
}

/// A group from a file's header; `is_active` only when the file says (users.json does,
/// schedule files do not).
pub(crate) fn upsert_group(id: i64, name: &str, is_active: Option<bool>, generated_at: &str) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.service_company_groups AS g (id, name, is_active, source_generated_at)
         VALUES ($1, $2, coalesce($3, true), $4::timestamptz)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, is_active = coalesce($3, g.is_active),
             source_generated_at = EXCLUDED.source_generated_at, updated_at = now()
         WHERE g.source_generated_at <= EXCLUDED.source_generated_at
           AND (g.name, g.is_active) IS DISTINCT FROM (EXCLUDED.name, coalesce($3, g.is_active))",
        &[id.into(), name.into(), is_active.into(), generated_at.into()],
    )?;
    Ok(())
}

fn store_document(storage: &Storage, path: &str, input: &ScheduleInput) -> Result<(), SyncError> {
    match storage {
        Storage::Embedded { bucket } => {
            Spi::run_with_args(
                "INSERT INTO azure_sync.stored_objects (bucket, path, content, size_bytes, content_sha256)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (bucket, path) DO UPDATE SET content = EXCLUDED.content, size_bytes = EXCLUDED.size_bytes,
                     content_sha256 = EXCLUDED.content_sha256, updated_at = now()",
                &[bucket.as_str().into(), path.into(), input.bytes.into(), (input.bytes.len() as i64).into(), input.sha256.into()],
            )?;
        }
        Storage::Api { bucket, api } => match &input.upload {
            Upload::Done => {}
            Upload::Failed(e) => return Err(SyncError::Backend(e.clone())),
            Upload::NotAttempted => {
                let (api, bucket, path, bytes) = (api.clone(), bucket.clone(), path.to_string(), input.bytes.to_vec());
                crate::remote::off_main_thread(move || api.put(&bucket, &path, &bytes))?;
            }
        },
    }
    Ok(())
}

/// schedule_data of the last `days` days, for download workers that upload in parallel:
/// (company, DateRangeStart) → stored version, and the first day covered.
pub fn recent_stored(days: i32) -> Result<(HashMap<(i64, String), StoredSchedule>, String), SyncError> {
    let covers_from = Spi::get_one_with_args::<String>("SELECT (current_date - $1)::text", &[days.into()])?.unwrap_or_default();
    let sql = format!(
        "SELECT service_company_id, schedule_date::text, {}, content_sha256 FROM azure_sync.schedule_data WHERE schedule_date >= $1::date",
        epoch_micros("generated_at")
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
