//! Where settings and secrets are kept: settings in `azure_sync.settings`; secrets in
//! Supabase Vault when the `vault` schema exists (named `azure_sync.<setting>`), otherwise in
//! `azure_sync.secrets`, which only the extension's owner can read. Which names exist and
//! what they may hold is crate::config's table.

use crate::config::{Config, Setting, SETTINGS};
use crate::error::SyncError;
use crate::spi::optional;
use pgrx::prelude::*;

fn vault_present() -> Result<bool, SyncError> {
    Ok(Spi::get_one::<bool>("SELECT to_regclass('vault.decrypted_secrets') IS NOT NULL")?.unwrap_or(false))
}

fn vault_name(name: &str) -> String {
    format!("azure_sync.{name}")
}

/// Where secrets live here, as show_config() says it.
pub fn secret_store() -> Result<&'static str, SyncError> {
    Ok(if vault_present()? { "vault" } else { "azure_sync.secrets" })
}

fn read_secret(name: &str, vault: bool) -> Result<Option<String>, SyncError> {
    let value = if vault {
        Spi::get_one_with_args::<String>("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = $1", &[vault_name(name).into()])
    } else {
        Spi::get_one_with_args::<String>("SELECT value FROM azure_sync.secrets WHERE name = $1", &[name.into()])
    };
    Ok(optional(value)?.flatten())
}

/// Every stored setting and secret.
pub fn load() -> Result<Config, SyncError> {
    let vault = vault_present()?;
    let mut values = load_settings()?.stored();
    for setting in SETTINGS.iter().filter(|s| s.is_secret()) {
        if let Some(value) = read_secret(setting.name, vault)? {
            values.push((setting.name.to_string(), value));
        }
    }
    Ok(Config::from_stored(values))
}

/// A (name, value) row of `azure_sync.settings` or `azure_sync.secrets`; '' deletes it.
fn store_row(table: &str, name: &str, value: &str) -> Result<(), SyncError> {
    if value.is_empty() {
        Spi::run_with_args(&format!("DELETE FROM azure_sync.{table} WHERE name = $1"), &[name.into()])?;
    } else {
        Spi::run_with_args(
            &format!(
                "INSERT INTO azure_sync.{table} (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
            ),
            &[name.into(), value.into()],
        )?;
    }
    Ok(())
}

/// The settings alone, no secret read: what a function that runs for a portal user needs.
pub fn load_settings() -> Result<Config, SyncError> {
    let mut values = vec![];
    Spi::connect(|client| -> Result<(), SyncError> {
        for row in client.select("SELECT name, value FROM azure_sync.settings", None, &[])? {
            values.push((row.get::<String>(1)?.unwrap_or_default(), row.get::<String>(2)?.unwrap_or_default()));
        }
        Ok(())
    })?;
    Ok(Config::from_stored(values.into_iter().filter(|(name, _)| SETTINGS.iter().any(|s| s.name == *name && !s.is_secret()))))
}

/// Store one value ('' removes it, back to its default); it was checked by the caller.
pub fn store(setting: &Setting, value: &str) -> Result<(), SyncError> {
    if !setting.is_secret() {
        store_row("settings", setting.name, value)?;
    } else if vault_present()? {
        let name = vault_name(setting.name);
        let existing = optional(Spi::get_one_with_args::<pgrx::Uuid>("SELECT id FROM vault.secrets WHERE name = $1", &[name.clone().into()]))?.flatten();
        match existing {
            Some(id) => Spi::run_with_args("SELECT vault.update_secret($1, $2)", &[id.into(), value.into()])?,
            None => Spi::run_with_args("SELECT vault.create_secret($1, $2, 'azure_sync credential')", &[value.into(), name.into()])?,
        }
    } else {
        store_row("secrets", setting.name, value)?;
    }
    Ok(())
}
