//! What retention removes: snapshots of days older than `retain_days` (never a company's
//! newest), and run history older than `history_days`. Storage objects themselves go through
//! the Storage API (run::retention); this is the SQL.

use crate::error::SyncError;
use pgrx::prelude::*;

/// A schedule_data row that retention removes, with the path of its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredSnapshot {
    pub service_company_id: i64,
    pub schedule_date: String,
    pub storage_path: String,
}

/// Rows whose day is more than `retain_days` days before today, except each company's newest
/// row, however old: a company that stopped exporting keeps its last week readable.
pub fn expired_snapshots(retain_days: i64) -> Result<Vec<ExpiredSnapshot>, SyncError> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT s.service_company_id, s.schedule_date::text, s.storage_path FROM azure_sync.schedule_data s
             WHERE s.schedule_date < current_date - $1::int
               AND s.schedule_date < (SELECT max(n.schedule_date) FROM azure_sync.schedule_data n
                                      WHERE n.service_company_id = s.service_company_id)
             ORDER BY 1, 2",
            None,
            &[retain_days.into()],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let (Some(service_company_id), Some(schedule_date), Some(storage_path)) = (row.get::<i64>(1)?, row.get::<String>(2)?, row.get::<String>(3)?) {
                out.push(ExpiredSnapshot { service_company_id, schedule_date, storage_path });
            }
        }
        Ok(out)
    })
}

/// Delete these rows, and their documents from the embedded default's table when `bucket`
/// says where they are (with Storage, the objects are already gone).
pub fn remove_snapshots(expired: &[ExpiredSnapshot], embedded_bucket: Option<&str>) -> Result<(), SyncError> {
    if expired.is_empty() {
        return Ok(());
    }
    if let Some(bucket) = embedded_bucket {
        let paths: Vec<String> = expired.iter().map(|e| e.storage_path.clone()).collect();
        Spi::run_with_args("DELETE FROM azure_sync.stored_objects WHERE bucket = $1 AND path = ANY($2)", &[bucket.into(), paths.into()])?;
    }
    let companies: Vec<i64> = expired.iter().map(|e| e.service_company_id).collect();
    let days: Vec<String> = expired.iter().map(|e| e.schedule_date.clone()).collect();
    Spi::run_with_args(
        "DELETE FROM azure_sync.schedule_data s USING unnest($1::bigint[], $2::date[]) AS gone(company, day)
         WHERE s.service_company_id = gone.company AND s.schedule_date = gone.day",
        &[companies.into(), days.into()],
    )?;
    Ok(())
}

/// Delete sync_jobs rows older than `history_days` days, and pg_cron's run history of our jobs
/// (pg_cron never cleans cron.job_run_details). Returns (runs, cron runs) removed.
pub fn prune_history(history_days: i64, cron_jobs: &[&str]) -> Result<(i64, i64), SyncError> {
    let runs = Spi::get_one_with_args::<i64>(
        "WITH gone AS (DELETE FROM azure_sync.sync_jobs WHERE started_at < now() - make_interval(days => $1::int) RETURNING 1)
         SELECT count(*) FROM gone",
        &[history_days.into()],
    )?
    .unwrap_or(0);
    let has_cron = Spi::get_one::<bool>("SELECT to_regclass('cron.job_run_details') IS NOT NULL AND has_table_privilege('cron.job_run_details', 'DELETE')")?
        .unwrap_or(false);
    let cron_runs = if has_cron {
        let names: Vec<String> = cron_jobs.iter().map(|n| n.to_string()).collect();
        Spi::get_one_with_args::<i64>(
            "WITH gone AS (DELETE FROM cron.job_run_details WHERE jobid IN (SELECT jobid FROM cron.job WHERE jobname = ANY($2))
                              AND end_time < now() - make_interval(days => $1::int) RETURNING 1)
             SELECT count(*) FROM gone",
            &[history_days.into(), names.into()],
        )?
        .unwrap_or(0)
    } else {
        0
    };
    Ok((runs, cron_runs))
}
