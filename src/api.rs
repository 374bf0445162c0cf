//! The SQL functions of schema azure_sync. Each one reads its arguments, calls into the
//! modules that do the work, and raises their errors with a SQLSTATE: nothing more.
//!
//! Who may call them: the functions that operate the sync run as the extension's owner
//! (SECURITY DEFINER, search_path pinned to pg_catalog with pg_temp last, every name in their
//! SQL schema-qualified), so that a DBA who is not a superuser, granted the role
//! `azure_sync_admin` (finalize.sql), operates it without any right on the tables, on Vault or
//! on pg_cron, and without ever seeing a secret: what they return is masked like
//! show_config().

use crate::apply;
use crate::backends::storage_api::Upload;
use crate::backends::{AuthBackend, StorageBackend};
use crate::clock::{parse_http_date, Timestamp};
use crate::config::{self, for_each_setting};
use crate::contract::{self, DocKind};
use crate::error::{OrRaise, SyncError};
use crate::run::schedule::{apply_schedule, ScheduleInput};
use crate::run::users::{sync_users as sync_users_file, UsersOptions};
use pgrx::prelude::*;
use pgrx::JsonB;

fn doc_kind(kind: &str) -> Result<DocKind, SyncError> {
    DocKind::from_name(kind).ok_or_else(|| SyncError::Argument(format!("kind must be 'users' or 'schedule', got {kind:?}")))
}

/// A document handed in as jsonb, as bytes to store and hash (jsonb keeps no original text).
fn document_bytes(doc: &serde_json::Value) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(doc).expect("JSON values serialise");
    let sha256 = crate::digest::sha256_hex(&bytes);
    (bytes, sha256)
}

/// A summary as the caller gets it: secrets masked, and no NUL (jsonb cannot hold it).
fn to_jsonb(value: impl serde::Serialize) -> JsonB {
    let mut json = serde_json::to_value(value).expect("summaries serialise");
    crate::redact::scrub_json(&mut json);
    JsonB(json)
}

/// Every problem of a document against the file contract, as `path: message`; empty when valid.
#[pg_extern(stable, parallel_safe)]
fn validate(kind: &str, doc: JsonB) -> Vec<String> {
    let kind = doc_kind(kind).or_raise();
    contract::validate(kind, &doc.0)
}

/// The JSON Schema of a file format ('users' or 'schedule').
#[pg_extern(immutable, parallel_safe)]
fn json_schema(kind: &str) -> JsonB {
    let text = match doc_kind(kind).or_raise() {
        DocKind::Users => contract::USERS_SCHEMA,
        DocKind::Schedule => contract::SCHEDULE_SCHEMA,
    };
    JsonB(serde_json::from_str(text).expect("the shipped schemas are valid JSON"))
}

/// Apply one `{ServiceCompanyId}_schedules.json` document in the caller's transaction.
/// `blob_name`, when given, must agree with the document's ServiceCompanyId.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn sync_schedule(doc: JsonB, blob_name: default!(Option<&str>, "NULL")) -> JsonB {
    let origin = blob_name.unwrap_or("the schedule document").to_string();
    let file = contract::read_schedule(&doc.0).map_err(|e| SyncError::contract(origin, e)).or_raise();
    let (bytes, sha256) = document_bytes(&doc.0);
    // The run's lock: a one-document call waits for a run in progress instead of racing it.
    apply::jobs::wait_for_run_lock().or_raise();
    let config = apply::settings::load().or_raise();
    let not_after = config.not_after();
    let input = ScheduleInput { file: &file, bytes: &bytes, sha256: &sha256, blob_name, blob_etag: None, upload: Upload::NotAttempted, not_after };
    let outcome = apply_schedule(&input, &StorageBackend::from_config(&config).or_raise(), false).or_raise();
    to_jsonb(outcome)
}

/// Apply one `users.json` document in the caller's transaction. `allow_mass_deletion`
/// lets this one call delete past the deletion guard.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn sync_users(doc: JsonB, allow_mass_deletion: default!(bool, false)) -> JsonB {
    let file = contract::read_users(&doc.0).map_err(|e| SyncError::contract("users.json", e)).or_raise();
    let (_, sha256) = document_bytes(&doc.0);
    // The run's lock: a one-document call waits for a run in progress instead of racing it.
    apply::jobs::wait_for_run_lock().or_raise();
    let config = apply::settings::load().or_raise();
    let options = UsersOptions { guard: config.guard(), allow_mass_deletion, dry_run: false, not_after: config.not_after() };
    let auth = AuthBackend::from_config(&config).or_raise();
    let mut progress = |step: &str| crate::run::progress::report(&format!("azure_sync.sync_users: {step}"));
    to_jsonb(sync_users_file(&file, &sha256, &auth, &options, &mut progress).or_raise())
}

/// Let the next users sync delete past the deletion guard, once, within `allowance_hours` and,
/// when `max_count` is given, for at most that many deletions. A run applies the users.json
/// whose deletions were held back again without waiting for a new export. Returns the
/// allowance id.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn allow_mass_deletion(reason: default!(Option<&str>, "NULL"), max_count: default!(Option<i32>, "NULL")) -> i64 {
    if max_count.is_some_and(|n| n < 0) {
        SyncError::Argument("max_count must be 0 or more (NULL: any number)".into()).raise();
    }
    let hours = apply::settings::load().or_raise().allowance_hours();
    let id = apply::users::grant_deletion_allowance(reason, max_count, hours).or_raise();
    let most = max_count.map(|n| format!(" of at most {n} users")).unwrap_or_default();
    pgrx::notice!("azure_sync: the next users sync may delete{most} past the deletion guard, once, within {hours} hour(s) (allowance {id})");
    id
}

/// The bucket snapshots go to: what the portal's policy on storage.objects lets a technician
/// read. It runs as the owner (it reads the settings, never a secret) for portal users, whom
/// nothing else of the settings is shown.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn snapshot_bucket() -> String {
    apply::settings::load_settings().or_raise().bucket().unwrap_or_default().to_string()
}

/// Find where Supabase Auth and the profiles disagree (profiles without an auth user, auth
/// users of ours without a profile, emails, confirmation or app_metadata that differ) and,
/// with `dry_run => false`, repair it (deletions behind the mass-deletion guard).
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn reconcile_auth(dry_run: default!(bool, true)) -> JsonB {
    apply::jobs::wait_for_run_lock().or_raise();
    let config = apply::settings::load().or_raise();
    to_jsonb(crate::run::reconcile::reconcile_auth(&config, dry_run).or_raise())
}

/// If upstream went down now, could every technician sign in and see their week? One row per
/// question: whether it is fine, and what to know.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn readiness() -> TableIterator<'static, (name!(check, String), name!(ok, bool), name!(detail, String))> {
    let config = apply::settings::load().or_raise();
    let checks = crate::run::readiness::readiness(&config).or_raise();
    TableIterator::new(checks.into_iter().map(|c| (c.check.to_string(), c.ok, crate::redact::scrub(&c.detail))))
}

/// Reset GeneratedAt stamps later than now plus max_clock_skew_minutes, which an upstream
/// clock gone wrong left before such stamps were refused; they would make every later export
/// look stale. Returns how many were reset, table by table.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn clear_future_stamps() -> JsonB {
    let not_after = apply::settings::load().or_raise().not_after();
    to_jsonb(apply::repair::clear_future_stamps(not_after).or_raise())
}

/// show_config()'s rows of what is stored.
fn config_rows((config, locations): apply::settings::Stored) -> TableIterator<'static, (name!(name, String), name!(value, String), name!(is_secret, bool), name!(stored_in, String), name!(description, String))> {
    let store = apply::settings::secret_store().or_raise();
    TableIterator::new(config.show(&locations, store).into_iter().map(|r| (r.name, r.value, r.is_secret, r.stored_in, r.description)))
}

/// The configuration, secrets masked. (pgrx needs TableIterator spelled out in each
/// #[pg_extern] signature: behind a type alias it reads as an unknown custom type.)
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn show_config() -> TableIterator<'static, (name!(name, String), name!(value, String), name!(is_secret, bool), name!(stored_in, String), name!(description, String))> {
    config_rows(apply::settings::load_with_locations().or_raise())
}

/// Check and store what configure() was given (name, value; None leaves a value as it is),
/// then check the whole configuration as a run would use it (endpoints, the CA bundle): a
/// mistake is refused now, with everything rolled back, not found at 3 a.m. Returns what is
/// stored afterwards.
fn configure_settings(given: Vec<(&str, Option<String>)>) -> apply::settings::Stored {
    let moved = apply::settings::move_secrets_into_vault().or_raise();
    if !moved.is_empty() {
        pgrx::notice!("azure_sync: moved {} from {} into Vault", moved.join(", "), apply::settings::TABLE_STORE);
    }
    config::check_secret_destinations(&apply::settings::load().or_raise(), &given).or_raise();
    if given.iter().any(|(name, value)| *name == "ca_bundle" && value.as_deref().is_some_and(|v| !v.trim().is_empty())) {
        // The server reads that file: only for whom PostgreSQL lets read server files.
        apply::settings::may_read_server_files().or_raise();
    }
    for (name, value) in given {
        let Some(value) = value else { continue };
        let setting = config::setting(name).or_raise();
        let value = value.trim();
        if setting.is_secret() {
            // Before anything can fail: no message about it may carry it.
            crate::redact::register_secret(value);
        }
        setting.check(value).or_raise();
        apply::settings::store(setting, value).or_raise();
    }
    let (config, locations) = apply::settings::load_with_locations().or_raise();
    config.tls().or_raise();
    if let Err(e @ config::ConfigError::Invalid(_)) = config.container() {
        SyncError::from(e).raise();
    }
    for (what, url) in [("auth_url", config.auth_url()), ("storage_url", config.storage_url())] {
        if let Some(url) = url {
            config.check_endpoint(what, url).or_raise();
        }
    }
    (config, locations)
}

/// `configure(<setting> => value, ...)`: one argument per setting of crate::config's table,
/// typed by the setting's kind.
macro_rules! configure_function {
    ($($name:ident : $kind:ident $(($min:expr, $max:expr))?, $default:literal, $description:literal;)*) => {
        configure_function!(@args [] [] $($name $kind,)*);
    };
    (@args [$($args:tt)*] [$($names:ident)*]) => {
        /// Set settings and secrets by name; NULL leaves a value as it is, '' clears it (back
        /// to its default). Returns the configuration as show_config() does.
        #[pg_extern(security_definer)]
        #[search_path(pg_catalog, pg_temp)]
        #[allow(clippy::too_many_arguments)]
        fn configure($($args)*) -> TableIterator<'static, (name!(name, String), name!(value, String), name!(is_secret, bool), name!(stored_in, String), name!(description, String))> {
            // Before anything can fail: the statement carries the secrets it sets.
            let log_guard = apply::settings::StatementLogGuard::hide_failing_statement().or_raise();
            let stored = configure_settings(vec![$((stringify!($names), $names.map(|v| v.to_string()))),*]);
            let rows = config_rows(stored);
            log_guard.restore().or_raise();
            rows
        }
    };
    (@args [$($args:tt)*] [$($names:ident)*] $name:ident integer, $($rest:tt)*) => {
        configure_function!(@args [$($args)* $name: default!(Option<i64>, "NULL"),] [$($names)* $name] $($rest)*);
    };
    (@args [$($args:tt)*] [$($names:ident)*] $name:ident boolean, $($rest:tt)*) => {
        configure_function!(@args [$($args)* $name: default!(Option<bool>, "NULL"),] [$($names)* $name] $($rest)*);
    };
    (@args [$($args:tt)*] [$($names:ident)*] $name:ident fraction, $($rest:tt)*) => {
        configure_function!(@args [$($args)* $name: default!(Option<f64>, "NULL"),] [$($names)* $name] $($rest)*);
    };
    (@args [$($args:tt)*] [$($names:ident)*] $name:ident $text:ident, $($rest:tt)*) => {
        configure_function!(@args [$($args)* $name: default!(Option<&str>, "NULL"),] [$($names)* $name] $($rest)*);
    };
}
for_each_setting!(configure_function);

/// Remove every secret azure_sync keeps (from Vault and from azure_sync.secrets); what a DBA
/// runs before `DROP EXTENSION azure_sync`, which would leave Vault's copies behind. Returns
/// how many were removed.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn forget_secrets() -> i64 {
    let removed = apply::settings::forget_secrets().or_raise();
    pgrx::notice!("azure_sync: removed {removed} secret(s); configure() sets them again");
    removed
}

/// A Blob client for the configured container, shared with worker threads.
fn blob_client() -> Result<std::sync::Arc<crate::azure::BlobClient>, SyncError> {
    let config = apply::settings::load()?;
    Ok(std::sync::Arc::new(crate::azure::BlobClient::new(config.container()?, config.client_options()?)))
}

/// Every blob in the configured container (all pages), what the sync makes of it, and
/// whether it differs from the version last applied.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn list_blobs() -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(etag, String),
        name!(size_bytes, i64),
        name!(last_modified, Option<TimestampWithTimeZone>),
        name!(content_md5, Option<String>),
        name!(kind, String),
        name!(service_company_id, Option<i64>),
        name!(changed, bool),
    ),
> {
    let client = blob_client().or_raise();
    let worker_client = client.clone();
    let listing = crate::remote::off_main_thread(move |stop| worker_client.list_all(stop, None)).map_err(SyncError::Worker).or_raise().or_raise();
    pgrx::notice!("azure_sync: listed {} blobs in {} page(s) from {}", listing.len(), client.request_counts().0, client.container().describe());
    let applied = apply::blobs::memory().or_raise();
    let rows: Vec<_> = listing
        .into_iter()
        .map(|b| {
            let kind = contract::BlobKind::of(&b.name);
            let company = match kind {
                contract::BlobKind::Schedule(id) => Some(id),
                _ => None,
            };
            let changed = kind != contract::BlobKind::Ignored && !crate::plan::blobs::is_unchanged(&b.name, &b.etag, &applied);
            let modified = parse_http_date(&b.last_modified).and_then(|t: Timestamp| TimestampWithTimeZone::try_from(t.postgres_micros()).ok());
            (b.name, b.etag, b.size_bytes as i64, modified, b.content_md5, kind.label().to_string(), company, changed)
        })
        .collect();
    TableIterator::new(rows)
}

/// One blob of the configured container, its bytes exactly as stored; NULL when
/// `if_none_match` is given and still the blob's ETag (Azure answered 304 Not Modified).
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn download_blob(name: &str, if_none_match: default!(Option<&str>, "NULL")) -> Option<Vec<u8>> {
    let client = blob_client().or_raise();
    let (owned, etag) = (name.to_string(), if_none_match.map(str::to_string));
    match crate::remote::off_main_thread(move |_| client.get(&owned, etag.as_deref())).map_err(SyncError::Worker).or_raise().or_raise() {
        crate::azure::Fetched::Blob { bytes, .. } => Some(bytes),
        crate::azure::Fetched::NotModified => None,
    }
}

/// One blob of the configured container, parsed as the sync would read it: JSON, checked
/// against the contract when its name says which file it is.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn fetch_blob(name: &str) -> JsonB {
    let bytes = download_blob(name, None).expect("no If-None-Match was sent");
    let doc = contract::parse_json(&bytes).map_err(|e| SyncError::contract(name, e)).or_raise();
    let checked = match contract::BlobKind::of(name) {
        contract::BlobKind::Users => contract::read_users(&doc).map(|_| ()),
        contract::BlobKind::Schedule(_) => contract::read_schedule(&doc).map(|_| ()),
        contract::BlobKind::Ignored => Ok(()),
    };
    checked.map_err(|e| SyncError::contract(name, e)).or_raise();
    JsonB(doc)
}

/// The whole sync in one call (list, skip the unchanged, download, apply, record), inside the
/// caller's transaction. `dry_run` lists, downloads and plans, and writes nothing.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn run(dry_run: default!(bool, false), trigger: default!(Option<&str>, "NULL")) -> JsonB {
    let trigger = match trigger {
        Some(t) => t.to_string(),
        None => {
            // pg_cron's connections say who they are; anything else is a person or a script.
            let app = Spi::get_one::<String>("SELECT current_setting('application_name')").ok().flatten().unwrap_or_default();
            if app == "pg_cron" { "cron".to_string() } else { "manual".to_string() }
        }
    };
    to_jsonb(crate::run::run(crate::run::RunOptions { dry_run, trigger }))
}

/// Run the sync with pg_cron (job `azure-sync-15min`) and, when Supabase Auth is configured,
/// the drift repair `reconcile_auth` (job `azure-sync-reconcile`, daily by default; NULL: not
/// scheduled). Returns the sync job's id.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn schedule(cron: default!(&str, "'*/15 * * * *'"), reconcile: default!(Option<&str>, "'17 3 * * *'")) -> i64 {
    let id = apply::cron::schedule(apply::cron::JOB_NAME, cron, apply::cron::JOB_COMMAND).or_raise();
    let auth_configured = apply::settings::load_settings().or_raise().auth_url().is_some();
    match reconcile {
        Some(when) if auth_configured => {
            apply::cron::schedule(apply::cron::RECONCILE_JOB_NAME, when, apply::cron::RECONCILE_JOB_COMMAND).or_raise();
        }
        Some(_) => pgrx::notice!("azure_sync: no auth_url configured: reconcile_auth is not scheduled"),
        None => {}
    }
    id
}

/// Stop our pg_cron jobs; false when there was none.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn unschedule() -> bool {
    let mut any = false;
    for name in apply::cron::JOB_NAMES {
        any |= apply::cron::unschedule(name).or_raise();
    }
    any
}
