//! The SQL functions of schema azure_sync. Each one reads its arguments, calls into the
//! modules that do the work, and raises their errors with a SQLSTATE: nothing more.

use crate::apply::schedule::{apply_schedule, ScheduleInput};
use crate::apply::users::{apply_users, UsersOptions};
use crate::backends::storage_api::Upload;
use crate::backends::{Auth, Storage};
use crate::config::{self, Config};
use crate::contract::{self, DocKind};
use crate::error::{OrRaise, SyncError};
use pgrx::prelude::*;
use pgrx::JsonB;

fn doc_kind(kind: &str) -> Result<DocKind, SyncError> {
    DocKind::from_name(kind).ok_or_else(|| SyncError::Argument(format!("kind must be 'users' or 'schedule', got {kind:?}")))
}

/// A document handed in as jsonb, as bytes to store and hash (jsonb keeps no original text).
fn document_bytes(doc: &serde_json::Value) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(doc).expect("JSON values serialise");
    let sha256 = crate::sha256_hex(&bytes);
    (bytes, sha256)
}

fn to_jsonb(value: impl serde::Serialize) -> JsonB {
    JsonB(serde_json::to_value(value).expect("summaries serialise"))
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
#[pg_extern]
fn sync_schedule(doc: JsonB, blob_name: default!(Option<&str>, "NULL")) -> JsonB {
    let source = blob_name.unwrap_or("the schedule document").to_string();
    let file = contract::read_schedule(&doc.0).map_err(|e| SyncError::contract(source, e)).or_raise();
    let (bytes, sha256) = document_bytes(&doc.0);
    let config = Config::load().or_raise();
    let input = ScheduleInput { file: &file, bytes: &bytes, sha256: &sha256, blob_name, blob_etag: None, upload: Upload::NotAttempted };
    let outcome = apply_schedule(&input, &Storage::from_config(&config).or_raise(), false).or_raise();
    to_jsonb(outcome)
}

/// Apply one `users.json` document in the caller's transaction. `allow_mass_deletion`
/// lets this one call delete past the deletion guard.
#[pg_extern]
fn sync_users(doc: JsonB, allow_mass_deletion: default!(bool, false)) -> JsonB {
    let file = contract::read_users(&doc.0).map_err(|e| SyncError::contract("users.json", e)).or_raise();
    let (_, sha256) = document_bytes(&doc.0);
    let config = Config::load().or_raise();
    let options = UsersOptions { guard: config.guard(), allow_mass_deletion, dry_run: false };
    let outcome = apply_users(&file, &sha256, &Auth::from_config(&config).or_raise(), &options).or_raise();
    to_jsonb(outcome)
}

/// Let the next users sync delete past the deletion guard, once. Returns the allowance id.
#[pg_extern]
fn allow_mass_deletion(reason: default!(Option<&str>, "NULL")) -> i64 {
    let id = crate::apply::users::grant_deletion_allowance(reason).or_raise();
    pgrx::notice!("azure_sync: the next users sync may delete past the deletion guard, once (allowance {id})");
    id
}

fn config_rows() -> TableIterator<'static, (name!(name, String), name!(value, String), name!(is_secret, bool), name!(stored_in, String), name!(description, String))> {
    TableIterator::new(Config::load().and_then(|c| c.show()).or_raise())
}

/// The configuration, secrets masked. (pgrx needs TableIterator spelled out in each
/// #[pg_extern] signature: behind a type alias it reads as an unknown custom type.)
#[pg_extern]
fn show_config() -> TableIterator<'static, (name!(name, String), name!(value, String), name!(is_secret, bool), name!(stored_in, String), name!(description, String))> {
    config_rows()
}

/// Set settings and secrets by name; NULL leaves a value as it is, '' clears it.
/// Returns the configuration as show_config() does.
#[pg_extern]
#[allow(clippy::too_many_arguments)]
fn configure(
    azure_url: default!(Option<&str>, "NULL"),
    azure_connection_string: default!(Option<&str>, "NULL"),
    azure_container: default!(Option<&str>, "NULL"),
    auth_url: default!(Option<&str>, "NULL"),
    storage_url: default!(Option<&str>, "NULL"),
    service_role_key: default!(Option<&str>, "NULL"),
    bucket: default!(Option<&str>, "NULL"),
    max_blob_bytes: default!(Option<i64>, "NULL"),
    download_concurrency: default!(Option<i32>, "NULL"),
    connect_timeout_ms: default!(Option<i64>, "NULL"),
    request_timeout_ms: default!(Option<i64>, "NULL"),
    max_retries: default!(Option<i32>, "NULL"),
    list_page_size: default!(Option<i32>, "NULL"),
    delete_max_fraction: default!(Option<f64>, "NULL"),
    delete_max_count: default!(Option<i32>, "NULL"),
) -> TableIterator<'static, (name!(name, String), name!(value, String), name!(is_secret, bool), name!(stored_in, String), name!(description, String))> {
    let secrets = [("azure_url", azure_url), ("azure_connection_string", azure_connection_string), ("service_role_key", service_role_key)];
    for (name, value) in secrets {
        if let Some(v) = value {
            if name == "azure_url" && !v.is_empty() {
                crate::azure::Container::from_sas_url(v).map_err(SyncError::from).or_raise();
            }
            config::write_secret(name, v.trim()).or_raise();
        }
    }
    let texts = [("azure_container", azure_container), ("auth_url", auth_url), ("storage_url", storage_url), ("bucket", bucket)];
    for (name, value) in texts {
        if let Some(v) = value {
            config::write_setting(name, v.trim()).or_raise();
        }
    }
    let numbers = [
        ("max_blob_bytes", max_blob_bytes.map(|n| n.to_string())),
        ("download_concurrency", download_concurrency.map(|n| n.to_string())),
        ("connect_timeout_ms", connect_timeout_ms.map(|n| n.to_string())),
        ("request_timeout_ms", request_timeout_ms.map(|n| n.to_string())),
        ("max_retries", max_retries.map(|n| n.to_string())),
        ("list_page_size", list_page_size.map(|n| n.to_string())),
        ("delete_max_fraction", delete_max_fraction.map(|n| n.to_string())),
        ("delete_max_count", delete_max_count.map(|n| n.to_string())),
    ];
    for (name, value) in numbers {
        if let Some(v) = value {
            config::write_setting(name, &v).or_raise();
        }
    }
    config_rows()
}

/// A Blob client for the configured container, shared with worker threads.
fn blob_client(config: &Config) -> Result<std::sync::Arc<crate::azure::BlobClient>, SyncError> {
    Ok(std::sync::Arc::new(crate::azure::BlobClient::new(config.container()?, config.client_options())))
}

/// Every blob in the configured container (all pages), what the sync makes of it, and
/// whether it differs from the version last applied.
#[pg_extern]
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
    let config = Config::load().or_raise();
    let client = blob_client(&config).or_raise();
    let worker_client = client.clone();
    let listing = crate::remote::off_main_thread(move || worker_client.list_all(|_| {})).map_err(SyncError::from).or_raise();
    pgrx::notice!("azure_sync: listed {} blobs in {} page(s) from {}", listing.len(), client.request_counts().0, client.container().describe());
    let applied = crate::apply::blobs::applied_etags().or_raise();
    let rows: Vec<_> = listing
        .into_iter()
        .map(|b| {
            let kind = contract::BlobKind::of(&b.name);
            let company = match kind {
                contract::BlobKind::Schedule(id) => Some(id),
                _ => None,
            };
            let changed = kind != contract::BlobKind::Ignored && !crate::plan::blobs::is_unchanged(&b.name, &b.etag, &applied);
            // PostgreSQL counts microseconds from 2000-01-01.
            let modified = crate::azure::parse_http_date(&b.last_modified)
                .and_then(|unix| TimestampWithTimeZone::try_from((unix - 946_684_800) * 1_000_000).ok());
            (b.name, b.etag, b.size_bytes as i64, modified, b.content_md5, kind.label().to_string(), company, changed)
        })
        .collect();
    TableIterator::new(rows)
}

/// One blob of the configured container, its bytes exactly as stored; NULL when
/// `if_none_match` is given and still the blob's ETag (Azure answered 304 Not Modified).
#[pg_extern]
fn download_blob(name: &str, if_none_match: default!(Option<&str>, "NULL")) -> Option<Vec<u8>> {
    let config = Config::load().or_raise();
    let client = blob_client(&config).or_raise();
    let (owned, etag) = (name.to_string(), if_none_match.map(str::to_string));
    match crate::remote::off_main_thread(move || client.get(&owned, etag.as_deref())).map_err(SyncError::from).or_raise() {
        crate::azure::Fetched::Blob { bytes, .. } => Some(bytes),
        crate::azure::Fetched::NotModified => None,
    }
}

/// One blob of the configured container, parsed as the sync would read it: JSON, checked
/// against the contract when its name says which file it is.
#[pg_extern]
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
#[pg_extern]
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

/// Run the sync with pg_cron (job `azure-sync-15min`); returns the job id.
#[pg_extern]
fn schedule(cron: default!(&str, "'*/15 * * * *'")) -> i64 {
    crate::cron::schedule(cron).or_raise()
}

/// Stop the pg_cron job; false when there was none.
#[pg_extern]
fn unschedule() -> bool {
    crate::cron::unschedule().or_raise()
}
