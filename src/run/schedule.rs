//! One schedule file, from a run or from sync_schedule(): may it be applied (plan::schedule),
//! then its group and company, its document into storage, and its schedule_data row.

use super::headers::write_headers;
use crate::apply::schedule::{store_object, stored_version, upsert_row, RowSource};
use crate::backends::storage_api::Upload;
use crate::backends::StorageBackend;
use crate::clock::Timestamp;
use crate::contract::ScheduleFile;
use crate::error::SyncError;
use crate::outcome::{ScheduleOutcome, ScheduleStatus};
use crate::plan::companies::Headers;
use crate::plan::schedule::{decide, storage_path, ScheduleDecision};

/// One schedule file as it arrives: parsed, with its bytes and where it came from.
pub struct ScheduleInput<'a> {
    pub file: &'a ScheduleFile,
    pub bytes: &'a [u8],
    pub sha256: &'a str,
    pub blob_name: Option<&'a str>,
    pub blob_etag: Option<&'a str>,
    /// Whether a download worker already uploaded the bytes to Storage.
    pub upload: Upload,
    /// The latest GeneratedAt believed (plan::refuse_future).
    pub not_after: Timestamp,
}

pub fn apply_schedule(input: &ScheduleInput, storage: &StorageBackend, dry_run: bool) -> Result<ScheduleOutcome, SyncError> {
    let file = input.file;
    let decision = decide(file, input.blob_name, input.sha256, stored_version(file)?.as_ref(), input.not_after);
    let mut outcome = ScheduleOutcome {
        status: ScheduleStatus::Applied,
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
            outcome.status = ScheduleStatus::Rejected;
            outcome.reason = Some(why);
            return Ok(outcome);
        }
        ScheduleDecision::Stale { stored } => {
            outcome.status = ScheduleStatus::Stale;
            outcome.reason = Some(format!(
                "GeneratedAt {} is older than the stored {} for {}: not applied (never regress)",
                file.generated_at.to_iso(),
                stored.to_iso(),
                outcome.schedule_date
            ));
            return Ok(outcome);
        }
        ScheduleDecision::Unchanged => {
            outcome.status = ScheduleStatus::Unchanged;
            return Ok(outcome);
        }
        ScheduleDecision::Apply { new_row } => outcome.new_row = new_row,
    }
    if dry_run {
        outcome.status = ScheduleStatus::WouldApply;
        return Ok(outcome);
    }
    // The document first: a snapshot Storage refuses for good (too large, a key or type it
    // refuses) rejects the file before anything of it is written.
    match store_document(storage, &outcome.storage_path, input) {
        Err(SyncError::Backend(e)) if e.is_permanent() => {
            outcome.status = ScheduleStatus::Rejected;
            outcome.reason = Some(e.to_string());
            return Ok(outcome);
        }
        other => other?,
    }
    write_headers(&Headers::of_schedule(file))?;
    let source = RowSource { storage_path: &outcome.storage_path, size_bytes: input.bytes.len(), sha256: input.sha256, blob_name: input.blob_name, blob_etag: input.blob_etag };
    upsert_row(file, &source)?;
    Ok(outcome)
}

fn store_document(storage: &StorageBackend, path: &str, input: &ScheduleInput) -> Result<(), SyncError> {
    match storage {
        StorageBackend::Embedded { bucket } => store_object(bucket, path, input.bytes, input.sha256),
        StorageBackend::Api { bucket, api } => match &input.upload {
            Upload::Done => Ok(()),
            Upload::Failed(e) => Err(SyncError::Backend(e.clone())),
            Upload::NotAttempted => {
                let (api, bucket, path, bytes) = (api.clone(), bucket.clone(), path.to_string(), input.bytes.to_vec());
                Ok(crate::remote::off_main_thread(move |_| api.put(&bucket, &path, &bytes)).map_err(SyncError::Worker)??)
            }
        },
    }
}
