//! Where documents and users go. Without URLs configured: the embedded default (documents in
//! `azure_sync.stored_objects`, users as profiles and memberships only). With `storage_url` /
//! `auth_url` and the service-role key: Supabase Storage and Auth over their HTTP APIs.

pub mod gotrue;
pub mod http;
pub mod storage_api;

use crate::config::Config;
use crate::error::SyncError;
use std::sync::Arc;
use std::time::Duration;

/// Where schedule snapshots are stored.
#[derive(Clone)]
pub enum Storage {
    /// Bytes in `azure_sync.stored_objects`: a plain PostgreSQL serves the portal's reads.
    Embedded { bucket: String },
    /// Supabase Storage; the bucket is created (private) when missing.
    Api { bucket: String, api: Arc<storage_api::StorageApi> },
}

/// Where sign-in accounts are kept.
#[derive(Clone)]
pub enum Auth {
    /// No auth_url configured: profiles and memberships only.
    ProfilesOnly,
    /// GoTrue's admin API, called from `concurrency` worker threads at once.
    GoTrue { api: Arc<gotrue::GoTrue>, concurrency: usize },
}

fn service_key(config: &Config, what: &str) -> Result<String, SyncError> {
    config
        .service_role_key
        .clone()
        .ok_or_else(|| SyncError::Config(format!("{what} is set but service_role_key is not: configure(service_role_key => '...')")))
}

fn api_client(config: &Config, service: &'static str, url: &str) -> Result<http::ApiClient, SyncError> {
    let key = service_key(config, if service == "auth" { "auth_url" } else { "storage_url" })?;
    let options = config.client_options();
    Ok(http::ApiClient::new(service, url, &key, options.request_timeout.max(Duration::from_secs(1)), options.retry))
}

impl Storage {
    pub fn from_config(config: &Config) -> Result<Storage, SyncError> {
        let bucket = config.bucket();
        let url = config.get("storage_url");
        if url.is_empty() {
            return Ok(Storage::Embedded { bucket });
        }
        Ok(Storage::Api { bucket, api: Arc::new(storage_api::StorageApi::new(api_client(config, "storage", &url)?)) })
    }

    pub fn label(&self) -> String {
        match self {
            Storage::Embedded { bucket } => format!("embedded (azure_sync.stored_objects, bucket {bucket})"),
            Storage::Api { bucket, .. } => format!("Supabase Storage (bucket {bucket})"),
        }
    }

    /// HTTP calls so far, by kind.
    pub fn calls(&self) -> u64 {
        match self {
            Storage::Embedded { .. } => 0,
            Storage::Api { api, .. } => api.api.total_calls(),
        }
    }
}

impl Auth {
    pub fn from_config(config: &Config) -> Result<Auth, SyncError> {
        let url = config.get("auth_url");
        if url.is_empty() {
            return Ok(Auth::ProfilesOnly);
        }
        Ok(Auth::GoTrue { api: Arc::new(gotrue::GoTrue { api: api_client(config, "auth", &url)? }), concurrency: config.download_concurrency() })
    }

    pub fn label(&self) -> &'static str {
        match self {
            Auth::ProfilesOnly => "profiles only (no auth_url configured)",
            Auth::GoTrue { .. } => "Supabase Auth (GoTrue admin API)",
        }
    }

    pub fn calls(&self) -> u64 {
        match self {
            Auth::ProfilesOnly => 0,
            Auth::GoTrue { api, .. } => api.api.total_calls(),
        }
    }
}
