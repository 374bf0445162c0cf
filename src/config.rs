//! Settings and secrets. Secrets live in Supabase Vault when the `vault` schema exists,
//! otherwise in `azure_sync.secrets`, which only the extension's owner can read. Never in
//! environment variables, never printed: `show` masks them.

use crate::azure::{ClientOptions, Container, RetryPolicy};
use crate::error::SyncError;
use crate::plan::users::DeletionGuard;
use crate::redact;
use pgrx::prelude::*;
use std::time::Duration;

pub const SECRET_NAMES: [&str; 3] = ["azure_url", "azure_connection_string", "service_role_key"];

/// Every setting: name, default, what it is.
pub const SETTINGS: [(&str, &str, &str); 12] = [
    ("azure_container", "", "container name, with a connection string"),
    ("auth_url", "", "GoTrue base URL (…/auth/v1); empty: profiles only"),
    ("storage_url", "", "Storage API base URL (…/storage/v1); empty: documents kept in azure_sync.stored_objects"),
    ("bucket", "schedule-data", "Storage bucket for schedule snapshots"),
    ("max_blob_bytes", "268435456", "larger blobs are refused before download"),
    ("download_concurrency", "4", "blobs downloaded at once"),
    ("connect_timeout_ms", "10000", "HTTP connect timeout"),
    ("request_timeout_ms", "120000", "HTTP whole-request timeout"),
    ("max_retries", "3", "retries of a transient HTTP failure"),
    ("list_page_size", "5000", "List Blobs page size (maxresults)"),
    ("delete_max_fraction", "0.10", "deletion guard: share of current users"),
    ("delete_max_count", "5", "deletion guard: number of users"),
];

fn vault_present() -> Result<bool, SyncError> {
    Ok(Spi::get_one::<bool>("SELECT to_regclass('vault.decrypted_secrets') IS NOT NULL")?.unwrap_or(false))
}

fn vault_name(name: &str) -> String {
    format!("azure_sync.{name}")
}

pub fn secret_store() -> Result<&'static str, SyncError> {
    Ok(if vault_present()? { "vault" } else { "azure_sync.secrets" })
}

fn read_secret(name: &str, vault: bool) -> Result<Option<String>, SyncError> {
    let value = if vault {
        Spi::get_one_with_args::<String>("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = $1", &[vault_name(name).into()])
    } else {
        Spi::get_one_with_args::<String>("SELECT value FROM azure_sync.secrets WHERE name = $1", &[name.into()])
    };
    // "no rows" is simply an unset secret.
    let value = crate::apply::optional(value)?.flatten();
    if let Some(v) = &value {
        redact::register_secret(v);
    }
    Ok(value.filter(|v| !v.is_empty()))
}

pub fn write_secret(name: &str, value: &str) -> Result<(), SyncError> {
    if !SECRET_NAMES.contains(&name) {
        return Err(SyncError::Argument(format!("{name} is not a secret setting")));
    }
    redact::register_secret(value);
    if vault_present()? {
        let vname = vault_name(name);
        let existing =
            crate::apply::optional(Spi::get_one_with_args::<pgrx::Uuid>("SELECT id FROM vault.secrets WHERE name = $1", &[vname.clone().into()]))?
                .flatten();
        match existing {
            Some(id) => Spi::run_with_args("SELECT vault.update_secret($1, $2)", &[id.into(), value.into()])?,
            None => Spi::run_with_args(
                "SELECT vault.create_secret($1, $2, 'azure_sync credential')",
                &[value.into(), vname.into()],
            )?,
        }
    } else if value.is_empty() {
        Spi::run_with_args("DELETE FROM azure_sync.secrets WHERE name = $1", &[name.into()])?;
    } else {
        Spi::run_with_args(
            "INSERT INTO azure_sync.secrets (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            &[name.into(), value.into()],
        )?;
    }
    Ok(())
}

pub fn write_setting(name: &str, value: &str) -> Result<(), SyncError> {
    let Some((_, _, _)) = SETTINGS.iter().find(|(n, _, _)| *n == name) else {
        return Err(SyncError::Argument(format!("unknown setting {name}")));
    };
    check_setting(name, value)?;
    if value.is_empty() {
        Spi::run_with_args("DELETE FROM azure_sync.settings WHERE name = $1", &[name.into()])?;
    } else {
        Spi::run_with_args(
            "INSERT INTO azure_sync.settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            &[name.into(), value.into()],
        )?;
    }
    Ok(())
}

/// Numbers must read as numbers now, not fail at 3 a.m. in a cron run.
fn check_setting(name: &str, value: &str) -> Result<(), SyncError> {
    if value.is_empty() {
        return Ok(());
    }
    let bad = |what: &str| Err(SyncError::Argument(format!("{name} must be {what}, got {value:?}")));
    match name {
        "max_blob_bytes" | "connect_timeout_ms" | "request_timeout_ms" | "list_page_size" | "download_concurrency" => {
            match value.parse::<u64>() {
                Ok(n) if n > 0 && (name != "list_page_size" || n <= 5000) && (name != "download_concurrency" || n <= 64) => Ok(()),
                _ => bad("a positive whole number (list_page_size at most 5000, download_concurrency at most 64)"),
            }
        }
        "max_retries" | "delete_max_count" => value.parse::<u32>().map(|_| ()).or_else(|_| bad("a whole number")),
        "delete_max_fraction" => match value.parse::<f64>() {
            Ok(f) if (0.0..=1.0).contains(&f) => Ok(()),
            _ => bad("a fraction between 0 and 1"),
        },
        "auth_url" | "storage_url" if !(value.starts_with("https://") || value.starts_with("http://")) => bad("an http(s) URL"),
        _ => Ok(()),
    }
}

/// Everything a sync needs, read once per call.
#[derive(Clone)]
pub struct Config {
    pub azure_url: Option<String>,
    pub azure_connection_string: Option<String>,
    pub service_role_key: Option<String>,
    settings: Vec<(String, String)>,
}

impl Config {
    pub fn load() -> Result<Config, SyncError> {
        let vault = vault_present()?;
        let mut settings = vec![];
        Spi::connect(|client| -> Result<(), SyncError> {
            for row in client.select("SELECT name, value FROM azure_sync.settings", None, &[])? {
                settings.push((row.get::<String>(1)?.unwrap_or_default(), row.get::<String>(2)?.unwrap_or_default()));
            }
            Ok(())
        })?;
        Ok(Config {
            azure_url: read_secret("azure_url", vault)?,
            azure_connection_string: read_secret("azure_connection_string", vault)?,
            service_role_key: read_secret("service_role_key", vault)?,
            settings,
        })
    }

    /// A setting's value, or its default.
    pub fn get(&self, name: &str) -> String {
        self.settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| SETTINGS.iter().find(|(n, _, _)| *n == name).map(|(_, d, _)| d.to_string()))
            .unwrap_or_default()
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> T {
        let default = || SETTINGS.iter().find(|(n, _, _)| *n == name).and_then(|(_, d, _)| d.parse().ok()).expect("defaults parse");
        self.get(name).parse().unwrap_or_else(|_| default())
    }

    pub fn bucket(&self) -> String {
        self.get("bucket")
    }

    pub fn download_concurrency(&self) -> usize {
        self.number("download_concurrency")
    }

    pub fn guard(&self) -> DeletionGuard {
        DeletionGuard { max_fraction: self.number("delete_max_fraction"), max_count: self.number("delete_max_count") }
    }

    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_millis(self.number("connect_timeout_ms")),
            request_timeout: Duration::from_millis(self.number("request_timeout_ms")),
            retry: RetryPolicy { max_retries: self.number("max_retries"), ..RetryPolicy::default() },
            max_blob_bytes: self.number("max_blob_bytes"),
            page_size: Some(self.number("list_page_size")),
        }
    }

    /// The container to sync: the SAS URL wins over a connection string.
    pub fn container(&self) -> Result<Container, SyncError> {
        match (&self.azure_url, &self.azure_connection_string) {
            (Some(url), _) => Ok(Container::from_sas_url(url)?),
            (None, Some(cs)) => Ok(Container::from_connection_string(cs, &self.get("azure_container"))?),
            (None, None) => Err(SyncError::Config(
                "no Azure container: SELECT azure_sync.configure(azure_url => 'https://{account}.blob.core.windows.net/{container}?{sas}') \
                 or configure(azure_connection_string => '...', azure_container => '...')"
                    .into(),
            )),
        }
    }

    /// Rows for show_config(): (name, value, is_secret, stored_in, description), secrets masked.
    pub fn show(&self) -> Result<Vec<(String, String, bool, String, String)>, SyncError> {
        let store = secret_store()?.to_string();
        let shown = |v: &Option<String>, mask: &dyn Fn(&str) -> String| v.as_deref().map(mask).unwrap_or_else(|| "(not set)".to_string());
        let secrets = [
            ("azure_url", shown(&self.azure_url, &|u| redact::scrub(u)), "container SAS URL (sp needs r and l)"),
            ("azure_connection_string", shown(&self.azure_connection_string, &|c| redact::scrub(c)), "instead of azure_url, with azure_container"),
            ("service_role_key", shown(&self.service_role_key, &|_| redact::MASK.to_string()), "Supabase service-role key, for auth_url and storage_url"),
        ];
        let mut rows: Vec<_> = secrets.into_iter().map(|(n, v, d)| (n.to_string(), v, true, store.clone(), d.to_string())).collect();
        for (name, _, description) in SETTINGS {
            let stored_in = if self.settings.iter().any(|(n, _)| n == name) { "azure_sync.settings" } else { "default" };
            let value = self.get(name);
            let value = if value.is_empty() { "(not set)".to_string() } else { value };
            rows.push((name.to_string(), value, false, stored_in.to_string(), description.to_string()));
        }
        if let Ok(c) = self.container() {
            if let crate::azure::Auth::Sas(t) = &c.auth {
                let expiry = t.expiry_text().unwrap_or("(no se in the SAS)").to_string();
                rows.push(("sas_expires_at".into(), expiry, false, "azure_url".into(), "rotate the SAS before then".into()));
            }
        }
        Ok(rows)
    }
}
