//! Where settings and secrets are kept: settings in `azure_sync.settings`; secrets in
//! Supabase Vault when the `vault` schema exists (named `azure_sync.<setting>`), otherwise in
//! `azure_sync.secrets`, which only the extension's owner can read. Which names exist and
//! what they may hold is crate::config's table.
//!
//! Vault as the real `supabase_vault` behaves (checked with 0.3.1): it has no delete
//! function, so a secret goes with `DELETE FROM vault.secrets`; `update_secret` keeps the row.
//! A Vault installed after secrets were configured does not hide them: they are read from
//! `azure_sync.secrets` until the next configure() moves them into Vault.

use crate::config::{Config, Setting, SETTINGS};
use crate::error::SyncError;
use crate::spi::optional;
use pgrx::prelude::*;

pub const TABLE_STORE: &str = "azure_sync.secrets";
pub const VAULT_STORE: &str = "vault";
/// Every Vault secret of ours is named with this prefix (forget_secrets() relies on it).
const VAULT_PREFIX: &str = "azure_sync.";

fn vault_present() -> Result<bool, SyncError> {
    Ok(Spi::get_one::<bool>("SELECT to_regclass('vault.decrypted_secrets') IS NOT NULL")?.unwrap_or(false))
}

fn vault_name(name: &str) -> String {
    format!("{VAULT_PREFIX}{name}")
}

/// Where new secrets go here, as show_config() says it.
pub fn secret_store() -> Result<&'static str, SyncError> {
    Ok(if vault_present()? { VAULT_STORE } else { TABLE_STORE })
}

fn vault_secret(name: &str) -> Result<Option<String>, SyncError> {
    let value = Spi::get_one_with_args::<String>("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = $1", &[vault_name(name).into()]);
    Ok(optional(value)?.flatten())
}

fn table_secret(name: &str) -> Result<Option<String>, SyncError> {
    let value = Spi::get_one_with_args::<String>("SELECT value FROM azure_sync.secrets WHERE name = $1", &[name.into()]);
    Ok(optional(value)?.flatten())
}

/// Every stored setting and secret, and where each secret was found (name, store).
pub type Stored = (Config, Vec<(&'static str, &'static str)>);

/// What is stored now.
pub fn load_with_locations() -> Result<Stored, SyncError> {
    let vault = vault_present()?;
    let mut values = load_settings()?.stored();
    let mut locations = vec![];
    let mut left_behind = vec![];
    for setting in SETTINGS.iter().filter(|s| s.is_secret()) {
        let found = match vault.then(|| vault_secret(setting.name)).transpose()?.flatten() {
            Some(value) => Some((value, VAULT_STORE)),
            None => table_secret(setting.name)?.map(|value| (value, TABLE_STORE)),
        };
        if let Some((value, store)) = found {
            if vault && store == TABLE_STORE {
                left_behind.push(setting.name);
            }
            values.push((setting.name.to_string(), value));
            locations.push((setting.name, store));
        }
    }
    if !left_behind.is_empty() {
        // Read from where they are, so that a run still works; said every time until moved.
        pgrx::warning!(
            "azure_sync: {} still kept in {TABLE_STORE} although Supabase Vault is installed: SELECT azure_sync.configure() moves them into Vault",
            left_behind.join(", ")
        );
    }
    Ok((Config::from_stored(values), locations))
}

/// Every stored setting and secret.
pub fn load() -> Result<Config, SyncError> {
    Ok(load_with_locations()?.0)
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

/// Put `value` into Vault under our name for `name`: updated in place, created, or ('')
/// deleted; clearing a secret that was never set creates nothing.
fn store_in_vault(name: &str, value: &str) -> Result<(), SyncError> {
    let name = vault_name(name);
    let existing = optional(Spi::get_one_with_args::<pgrx::Uuid>("SELECT id FROM vault.secrets WHERE name = $1", &[name.clone().into()]))?.flatten();
    match (existing, value.is_empty()) {
        (Some(id), true) => Spi::run_with_args("DELETE FROM vault.secrets WHERE id = $1", &[id.into()])?,
        (Some(id), false) => Spi::run_with_args("SELECT vault.update_secret($1, $2)", &[id.into(), value.into()])?,
        (None, true) => {}
        (None, false) => Spi::run_with_args("SELECT vault.create_secret($1, $2, 'azure_sync credential')", &[value.into(), name.into()])?,
    }
    Ok(())
}

/// Store one value ('' removes it, back to its default); it was checked by the caller.
pub fn store(setting: &Setting, value: &str) -> Result<(), SyncError> {
    if !setting.is_secret() {
        store_row("settings", setting.name, value)?;
    } else if vault_present()? {
        store_in_vault(setting.name, value)?;
        // A copy kept from before Vault was installed must not outlive the new value.
        store_row("secrets", setting.name, "")?;
    } else {
        store_row("secrets", setting.name, value)?;
    }
    Ok(())
}

/// With Vault installed, move the secrets still kept in `azure_sync.secrets` into it (a secret
/// Vault already holds under our name wins: it was written later). Returns the names moved.
pub fn move_secrets_into_vault() -> Result<Vec<&'static str>, SyncError> {
    if !vault_present()? {
        return Ok(vec![]);
    }
    let mut moved = vec![];
    for setting in SETTINGS.iter().filter(|s| s.is_secret()) {
        let Some(value) = table_secret(setting.name)? else { continue };
        if vault_secret(setting.name)?.is_none() {
            store_in_vault(setting.name, &value)?;
            moved.push(setting.name);
        }
        store_row("secrets", setting.name, "")?;
    }
    Ok(moved)
}

/// Remove every secret of ours, from Vault (every name with our prefix, also of settings an
/// earlier version had) and from `azure_sync.secrets`. Returns how many went.
pub fn forget_secrets() -> Result<i64, SyncError> {
    let mut removed = Spi::get_one::<i64>("WITH gone AS (DELETE FROM azure_sync.secrets RETURNING 1) SELECT count(*) FROM gone")?.unwrap_or(0);
    if vault_present()? {
        removed += Spi::get_one_with_args::<i64>(
            "WITH gone AS (DELETE FROM vault.secrets WHERE left(name, length($1)) = $1 RETURNING 1) SELECT count(*) FROM gone",
            &[VAULT_PREFIX.into()],
        )?
        .unwrap_or(0);
    }
    Ok(removed)
}

/// Whether the role that logged in may have the server read a file of its choosing (the CA
/// bundle): a superuser or a member of pg_read_server_files, as for pg_read_file(). configure()
/// runs as the owner, so the check is on session_user.
pub fn may_read_server_files() -> Result<(), SyncError> {
    let allowed = Spi::get_one::<bool>("SELECT pg_catalog.pg_has_role(session_user, 'pg_read_server_files', 'MEMBER')")?.unwrap_or(false);
    if allowed {
        return Ok(());
    }
    Err(SyncError::Privilege(
        "ca_bundle names a file the server reads: only a superuser or a member of pg_read_server_files may set it".into(),
    ))
}

/// PostgreSQL writes a failing statement into the server log, literals included
/// (log_min_error_statement): a configure() call that fails would leave the secret it was
/// given there. Until `restore` is called, an error in this transaction is logged without its
/// statement; on an error the transaction's end restores it, after the error was logged.
/// Only a superuser may change that setting: an owner who is not one gets a warning instead.
pub struct StatementLogGuard {
    previous: Option<String>,
}

impl StatementLogGuard {
    pub fn hide_failing_statement() -> Result<StatementLogGuard, SyncError> {
        // SAFETY: reads the current user's role flags; main thread, inside a transaction.
        if !unsafe { pg_sys::superuser() } {
            pgrx::warning!(
                "azure_sync: the extension's owner is not a superuser, so a configure() call that fails may leave its arguments in the server log (log_min_error_statement)"
            );
            return Ok(StatementLogGuard { previous: None });
        }
        let previous = Spi::get_one::<String>("SELECT pg_catalog.current_setting('log_min_error_statement')")?;
        Spi::run("SELECT pg_catalog.set_config('log_min_error_statement', 'panic', true)")?;
        Ok(StatementLogGuard { previous })
    }

    /// The call succeeded: errors later in the transaction are logged as before.
    pub fn restore(self) -> Result<(), SyncError> {
        if let Some(previous) = self.previous {
            Spi::run_with_args("SELECT pg_catalog.set_config('log_min_error_statement', $1, true)", &[previous.into()])?;
        }
        Ok(())
    }
}
