//! What readiness looks at, in SQL: the gaps that would leave a technician without their
//! week if upstream went down now. Each query counts a gap and names a few examples.

use crate::error::SyncError;
use pgrx::prelude::*;

/// A count and up to five examples.
pub struct Gap {
    pub count: i64,
    pub examples: Vec<String>,
}

/// The gaps `sql` finds (one text column): how many, and the first five, in one query.
fn gap(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> Result<Gap, SyncError> {
    Spi::connect(|client| {
        let mut gap = Gap { count: 0, examples: vec![] };
        for row in client.select(&format!("SELECT x::text, count(*) OVER () FROM ({sql}) AS gaps(x) LIMIT 5"), None, args)? {
            gap.count = row.get::<i64>(2)?.unwrap_or(0);
            gap.examples.extend(row.get::<String>(1)?);
        }
        Ok(gap)
    })
}

/// Profiles whose auth user is missing or unconfirmed (None without Supabase's auth schema).
pub fn profiles_without_confirmed_auth_user() -> Result<Option<Gap>, SyncError> {
    if Spi::get_one::<bool>("SELECT to_regclass('auth.users') IS NULL")?.unwrap_or(true) {
        return Ok(None);
    }
    gap(
        "SELECT p.email FROM azure_sync.user_profiles p
         WHERE NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id = p.id AND u.email_confirmed_at IS NOT NULL)",
        &[],
    )
    .map(Some)
}

/// Companies whose newest snapshot does not cover today, or was generated more than
/// `max_age_hours` ago.
pub fn companies_without_a_current_week(max_age_hours: i64) -> Result<Gap, SyncError> {
    gap(
        "SELECT c.id || ' ' || c.name FROM azure_sync.companies c
         LEFT JOIN LATERAL (SELECT s.date_range_end, s.generated_at FROM azure_sync.schedule_data s
                            WHERE s.service_company_id = c.id ORDER BY s.schedule_date DESC LIMIT 1) newest ON true
         WHERE c.is_active AND (newest.date_range_end IS NULL OR newest.date_range_end < current_date
                OR newest.generated_at < now() - make_interval(hours => $1::int))",
        &[max_age_hours.into()],
    )
}

/// schedule_data rows whose document is missing: in `stored_objects`, or in Storage's
/// `storage.objects` when `storage_bucket` names the bucket in use.
pub fn snapshots_without_document(embedded_bucket: Option<&str>, storage_bucket: Option<&str>) -> Result<Option<Gap>, SyncError> {
    match (embedded_bucket, storage_bucket) {
        (Some(bucket), _) => gap(
            "SELECT s.storage_path FROM azure_sync.schedule_data s
             WHERE NOT EXISTS (SELECT 1 FROM azure_sync.stored_objects o WHERE o.bucket = $1 AND o.path = s.storage_path)",
            &[bucket.into()],
        )
        .map(Some),
        (None, Some(bucket)) if Spi::get_one::<bool>("SELECT to_regclass('storage.objects') IS NOT NULL")?.unwrap_or(false) => gap(
            "SELECT s.storage_path FROM azure_sync.schedule_data s
             WHERE NOT EXISTS (SELECT 1 FROM storage.objects o WHERE o.bucket_id = $1 AND o.name = s.storage_path)",
            &[bucket.into()],
        )
        .map(Some),
        _ => Ok(None),
    }
}

/// When the last run that succeeded ended, as text, and how many hours ago.
pub fn last_success() -> Result<Option<(String, f64)>, SyncError> {
    let row = crate::spi::optional(Spi::get_two::<String, f64>(
        "SELECT finished_at::text, (extract(epoch FROM now() - finished_at) / 3600)::float8 FROM azure_sync.sync_jobs
         WHERE status = 'succeeded' AND NOT dry_run ORDER BY finished_at DESC LIMIT 1",
    ))?;
    Ok(match row {
        Some((Some(at), Some(hours))) => Some((at, hours)),
        _ => None,
    })
}
