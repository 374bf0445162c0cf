//! Outage readiness: if upstream went down now, could every technician sign in and see their
//! week? One row per question, each with a plain answer.

use crate::apply::readiness::{companies_without_a_current_week, last_success, profiles_without_confirmed_auth_user, snapshots_without_document, Gap};
use crate::azure::Credential;
use crate::backends::{AuthBackend, StorageBackend};
use super::{sas_days_left, SAS_WARNING_DAYS};
use crate::config::Config;
use crate::error::SyncError;

/// One answer: the question, whether it is fine, and what to know.
pub struct Check {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn from_gap(check: &'static str, gap: Gap, what: &str) -> Check {
    let detail = if gap.count == 0 { format!("no {what}") } else { format!("{} {what}, e.g. {}", gap.count, gap.examples.join("; ")) };
    Check { check, ok: gap.count == 0, detail }
}


pub fn readiness(config: &Config) -> Result<Vec<Check>, SyncError> {
    let max_age = config.readiness_max_age_hours();
    let mut checks = vec![];
    let signs_in = "technicians can sign in";
    checks.push(match AuthBackend::from_config(config)? {
        AuthBackend::ProfilesOnly => Check { check: signs_in, ok: true, detail: "not checked: no auth_url configured (profiles only)".into() },
        AuthBackend::GoTrue { .. } => match profiles_without_confirmed_auth_user()? {
            Some(gap) => from_gap(signs_in, gap, "profiles without a confirmed Supabase Auth user"),
            None => Check { check: signs_in, ok: true, detail: "not checked: Supabase Auth's tables are not in this database".into() },
        },
    });
    checks.push(from_gap(
        "every company has its current week",
        companies_without_a_current_week(max_age)?,
        &format!("active companies whose newest snapshot does not cover today or is older than {max_age} h (readiness_max_age_hours)"),
    ));
    let (embedded, storage) = match StorageBackend::from_config(config)? {
        StorageBackend::Embedded { bucket } => (Some(bucket), None),
        StorageBackend::Api { bucket, .. } => (None, Some(bucket)),
    };
    checks.push(match snapshots_without_document(embedded.as_deref(), storage.as_deref())? {
        Some(gap) => from_gap("every snapshot can be read", gap, "schedule rows whose document is missing"),
        None => Check { check: "every snapshot can be read", ok: true, detail: "Storage's tables are not in this database: not checked".into() },
    });
    checks.push(match config.container() {
        Ok(container) => match &container.credential {
            Credential::Sas(token) => match token.expiry() {
                Some(expiry) => {
                    let days = sas_days_left(expiry);
                    Check { check: "the Azure credential stays valid", ok: days >= SAS_WARNING_DAYS, detail: format!("the SAS expires at {} ({days} day(s) left)", expiry.to_iso()) }
                }
                None => Check { check: "the Azure credential stays valid", ok: true, detail: "the SAS has no expiry (se)".into() },
            },
            Credential::SharedKey { .. } => Check { check: "the Azure credential stays valid", ok: true, detail: "an account key: no expiry".into() },
        },
        Err(e) => Check { check: "the Azure credential stays valid", ok: false, detail: e.to_string() },
    });
    checks.push(match last_success()? {
        Some((at, hours)) => Check {
            check: "the backup is fresh",
            ok: hours <= max_age as f64,
            detail: format!("the last successful run ended at {at}, {hours:.1} h ago"),
        },
        None => Check { check: "the backup is fresh", ok: false, detail: "no run has succeeded yet".into() },
    });
    Ok(checks)
}
