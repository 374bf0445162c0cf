//! Where documents and users go. Without URLs configured: the embedded default (documents in
//! `azure_sync.stored_objects`, users as profiles and memberships only). With `storage_url` /
//! `auth_url` and the service-role key: Supabase Storage and Auth over their HTTP APIs.
//! The HTTP clients here are pure Rust; the embedded default's SQL is apply::schedule's.

pub mod gotrue;
pub mod storage_api;
pub mod supabase;

use crate::config::{Config, ConfigError};
use std::sync::Arc;

/// Where schedule snapshots are stored.
#[derive(Clone)]
pub enum StorageBackend {
    /// Bytes in `azure_sync.stored_objects`: a plain PostgreSQL serves the portal's reads.
    Embedded { bucket: String },
    /// Supabase Storage; the bucket is created (private) when missing.
    Api { bucket: String, api: Arc<storage_api::StorageApi> },
}

/// Where sign-in accounts are kept (Supabase Auth, not the Azure credential).
#[derive(Clone)]
pub enum AuthBackend {
    /// No auth_url configured: profiles and memberships only.
    ProfilesOnly,
    /// GoTrue's admin API, called from `concurrency` worker threads at once.
    GoTrue { api: Arc<gotrue::GoTrue>, concurrency: usize },
}

fn api_client(config: &Config, service: &'static str, url: &str, what: &str) -> Result<supabase::ApiClient, ConfigError> {
    let key = config.supabase_key(what)?;
    config.check_endpoint(what, url)?;
    Ok(supabase::ApiClient::new(service, url, key, config.connect_timeout(), config.request_timeout(), config.retry(), config.tls()?))
}

impl StorageBackend {
    pub fn from_config(config: &Config) -> Result<StorageBackend, ConfigError> {
        let bucket = config.bucket().unwrap_or_default().to_string();
        match config.storage_url() {
            None => Ok(StorageBackend::Embedded { bucket }),
            Some(url) => {
                let api = storage_api::StorageApi::new(api_client(config, "storage", url, "storage_url")?, config.storage_file_size_limit() as u64);
                Ok(StorageBackend::Api { bucket, api: Arc::new(api) })
            }
        }
    }

    pub fn label(&self) -> String {
        match self {
            StorageBackend::Embedded { bucket } => format!("embedded (azure_sync.stored_objects, bucket {bucket})"),
            StorageBackend::Api { bucket, .. } => format!("Supabase Storage (bucket {bucket})"),
        }
    }

    /// HTTP calls so far.
    pub fn calls(&self) -> u64 {
        match self {
            StorageBackend::Embedded { .. } => 0,
            StorageBackend::Api { api, .. } => api.api.total_calls(),
        }
    }
}

impl AuthBackend {
    pub fn from_config(config: &Config) -> Result<AuthBackend, ConfigError> {
        match config.auth_url() {
            None => Ok(AuthBackend::ProfilesOnly),
            Some(url) => Ok(AuthBackend::GoTrue {
                api: Arc::new(gotrue::GoTrue { api: api_client(config, "auth", url, "auth_url")? }),
                concurrency: config.concurrency(),
            }),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            AuthBackend::ProfilesOnly => "profiles only (no auth_url configured)",
            AuthBackend::GoTrue { .. } => "Supabase Auth (GoTrue admin API)",
        }
    }

    pub fn calls(&self) -> u64 {
        match self {
            AuthBackend::ProfilesOnly => 0,
            AuthBackend::GoTrue { api, .. } => api.api.total_calls(),
        }
    }
}
