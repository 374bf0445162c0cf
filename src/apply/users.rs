//! Profiles, memberships, the users.json last applied, and the DBA's deletion allowances.
//! What to write is plan::users' decision and the order run::users'; this is the SQL.

use crate::clock::{sql_unix_micros, Timestamp};
use crate::error::SyncError;
use crate::plan::users::{DesiredUser, ExistingUser};
use crate::spi::{optional, with_scratch_memory};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

/// Every profile with its memberships, as the users sync last wrote them.
pub fn profiles() -> Result<Vec<DesiredUser>, SyncError> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT p.id::text, p.email, p.first_name, p.last_name, p.full_name, p.record_hash,
                    coalesce(jsonb_agg(jsonb_build_object('company_id', m.company_id, 'employee_information_id', m.employee_information_id,
                                                          'roles', m.roles) ORDER BY m.company_id)
                             FILTER (WHERE m.company_id IS NOT NULL), '[]')
             FROM azure_sync.user_profiles p LEFT JOIN azure_sync.company_memberships m ON m.user_id = p.id
             GROUP BY p.id",
            None,
            &[],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let memberships = row.get::<JsonB>(7)?.map(|j| serde_json::from_value(j.0)).transpose().map_err(|e| SyncError::Spi(e.to_string()))?;
            out.push(DesiredUser {
                id: row.get::<String>(1)?.unwrap_or_default(),
                email: row.get::<String>(2)?.unwrap_or_default(),
                first_name: row.get(3)?,
                last_name: row.get(4)?,
                full_name: row.get(5)?,
                record_hash: row.get::<String>(6)?.unwrap_or_default(),
                memberships: memberships.unwrap_or_default(),
                email_changed: false,
            });
        }
        Ok(out)
    })
}

pub fn existing_users() -> Result<Vec<ExistingUser>, SyncError> {
    Spi::connect(|client| {
        let rows = client.select("SELECT id::text, email, record_hash FROM azure_sync.user_profiles", None, &[])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(ExistingUser {
                id: row.get::<String>(1)?.unwrap_or_default(),
                email: row.get::<String>(2)?.unwrap_or_default(),
                record_hash: row.get::<String>(3)?.unwrap_or_default(),
            });
        }
        Ok(out)
    })
}

/// GeneratedAt of the users.json last applied.
pub fn last_applied() -> Result<Option<Timestamp>, SyncError> {
    let sql = format!("SELECT {} FROM azure_sync.users_file_state", sql_unix_micros("generated_at"));
    Ok(optional(Spi::get_one::<i64>(&sql))?.flatten().map(Timestamp))
}

/// Remember the users.json just applied, and how many deletions the guard held back in it.
pub fn record_users_file(generated_at: Timestamp, sha256: &str, deletions_blocked: usize) -> Result<(), SyncError> {
    Spi::run_with_args(
        "INSERT INTO azure_sync.users_file_state (singleton, generated_at, content_sha256, applied_at, deletions_blocked)
         VALUES (true, $1::timestamptz, $2, now(), $3)
         ON CONFLICT (singleton) DO UPDATE SET generated_at = EXCLUDED.generated_at,
             content_sha256 = EXCLUDED.content_sha256, applied_at = now(), deletions_blocked = EXCLUDED.deletions_blocked",
        &[generated_at.to_iso().into(), sha256.into(), (deletions_blocked as i32).into()],
    )?;
    Ok(())
}

/// A DBA's one-time permission to pass the deletion guard, valid for `hours`, for at most
/// `max_count` deletions when given; returns its id. `granted_by` names the DBA who logged in
/// (session_user): allow_mass_deletion() runs as the extension's owner, whom the column's
/// default (current_user) would record instead.
pub fn grant_deletion_allowance(reason: Option<&str>, max_count: Option<i32>, hours: i64) -> Result<i64, SyncError> {
    let id = Spi::get_one_with_args::<i64>(
        "INSERT INTO azure_sync.deletion_allowances (granted_by, reason, max_count, expires_at)
         VALUES (session_user, $1, $2, now() + make_interval(hours => $3::int)) RETURNING id",
        &[reason.into(), max_count.into(), hours.into()],
    )?;
    Ok(id.expect("RETURNING gives a row"))
}

/// The most permissive unused, unexpired allowance (id, max count), oldest first among
/// equals, locked so that two syncs cannot both use it. (One too small for an export stays
/// unused and must not hide a larger one granted after it.)
pub fn unused_allowance() -> Result<Option<(i64, Option<usize>)>, SyncError> {
    let row = optional(Spi::get_two::<i64, i32>(
        "SELECT id, max_count FROM azure_sync.deletion_allowances
         WHERE used_at IS NULL AND (expires_at IS NULL OR expires_at > now())
         ORDER BY max_count DESC NULLS FIRST, id LIMIT 1 FOR UPDATE",
    ))?;
    Ok(match row {
        Some((Some(id), max_count)) => Some((id, max_count.map(|n| n.max(0) as usize))),
        _ => None,
    })
}

/// The last users.json applied held deletions back and an allowance now waits for them.
pub fn allowed_deletions_pending() -> Result<bool, SyncError> {
    Ok(Spi::get_one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM azure_sync.users_file_state WHERE deletions_blocked > 0)
            AND EXISTS (SELECT 1 FROM azure_sync.deletion_allowances WHERE used_at IS NULL AND (expires_at IS NULL OR expires_at > now()))",
    )?
    .unwrap_or(false))
}

pub fn mark_allowance_used(id: i64, users_deleted: usize) -> Result<(), SyncError> {
    Spi::run_with_args(
        "UPDATE azure_sync.deletion_allowances SET used_at = now(), users_deleted = $2 WHERE id = $1",
        &[id.into(), (users_deleted as i32).into()],
    )?;
    Ok(())
}

/// Delete these profiles (their memberships go with them).
pub fn delete_profiles(ids: &[String]) -> Result<(), SyncError> {
    if !ids.is_empty() {
        Spi::run_with_args("DELETE FROM azure_sync.user_profiles WHERE id = ANY($1::uuid[])", &[ids.to_vec().into()])?;
    }
    Ok(())
}

/// Users written per statement: jsonb_to_recordset keeps what it builds for every row until
/// its statement ends, so batches bound the backend's memory however many users change.
const PROFILE_BATCH: usize = 1000;

/// Created and changed users: their profile, and their memberships replaced whole.
/// `progress` hears how far it got after each batch.
pub fn write_profiles(users: &[&DesiredUser], progress: &mut dyn FnMut(&str)) -> Result<(), SyncError> {
    for (i, batch) in users.chunks(PROFILE_BATCH).enumerate() {
        pgrx::check_for_interrupts!();
        progress(&format!("writing profiles {}/{}", i * PROFILE_BATCH + batch.len(), users.len()));
        with_scratch_memory(|| write_profile_batch(batch))?;
    }
    Ok(())
}

fn write_profile_batch(users: &[&DesiredUser]) -> Result<(), SyncError> {
    let profiles: Vec<_> = users
        .iter()
        .map(|u| {
            json!({"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name,
                   "full_name": u.full_name, "record_hash": u.record_hash})
        })
        .collect();
    let memberships: Vec<_> = users
        .iter()
        .flat_map(|u| {
            u.memberships.iter().map(move |m| {
                json!({"user_id": u.id, "company_id": m.company_id, "employee_information_id": m.employee_information_id, "roles": m.roles})
            })
        })
        .collect();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    Spi::run_with_args(
        "INSERT INTO azure_sync.user_profiles AS p (id, email, first_name, last_name, full_name, record_hash)
         SELECT x.id, x.email, x.first_name, x.last_name, x.full_name, x.record_hash
         FROM jsonb_to_recordset($1) AS x(id uuid, email text, first_name text, last_name text, full_name text, record_hash text)
         ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
             full_name = EXCLUDED.full_name, record_hash = EXCLUDED.record_hash, updated_at = now()",
        &[JsonB(serde_json::Value::Array(profiles)).into()],
    )?;
    Spi::run_with_args("DELETE FROM azure_sync.company_memberships WHERE user_id = ANY($1::uuid[])", &[ids.into()])?;
    Spi::run_with_args(
        "INSERT INTO azure_sync.company_memberships (user_id, company_id, employee_information_id, roles)
         SELECT x.user_id, x.company_id, x.employee_information_id, x.roles
         FROM jsonb_to_recordset($1) AS x(user_id uuid, company_id bigint, employee_information_id bigint, roles text[])",
        &[JsonB(serde_json::Value::Array(memberships)).into()],
    )?;
    Ok(())
}
