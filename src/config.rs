//! Settings and secrets. The table in `for_each_setting!` is the one home of every setting:
//! its name, kind (and with it whether it is secret), bounds, default and description.
//! `configure()`'s arguments and checks, `show_config()`, the typed accessors of `Config` and
//! every default come from it. Reading and writing them is apply::settings' SQL; this module
//! is pure.

use crate::azure::{ClientOptions, Container, Credential};
use crate::clock::Timestamp;
use crate::http::RetryPolicy;
use crate::plan::users::DeletionGuard;
use crate::redact;
use std::collections::HashMap;
use std::time::Duration;

/// Every setting, once: `name: kind, default, description;`. Adding a setting is one line
/// here; the release's upgrade script then recreates `configure()`, whose arguments follow
/// this order (keep new ones last: callers may pass arguments by position).
/// Kinds: `sas_url`, `connection_string` and `secret` are secrets (Vault or the owner-only
/// table, never shown); `text`; `url` (http or https); `integer(min, max)`; `fraction` (0 to 1);
/// `boolean`.
macro_rules! for_each_setting {
    ($then:ident) => {
        $then! {
            azure_url: sas_url, "", "container SAS URL (sp needs r and l)";
            azure_connection_string: connection_string, "", "instead of azure_url, with azure_container";
            azure_container: text, "", "container name, with a connection string";
            auth_url: url, "", "GoTrue base URL (…/auth/v1); empty: profiles only";
            storage_url: url, "", "Storage API base URL (…/storage/v1); empty: documents kept in azure_sync.stored_objects";
            service_role_key: secret, "", "Supabase service-role key, for auth_url and storage_url";
            bucket: text, "schedule-data", "Storage bucket for schedule snapshots";
            max_blob_bytes: integer(1, i64::MAX), "268435456", "larger blobs are refused before download";
            download_concurrency: integer(1, 64), "4", "blobs downloaded (and Auth calls made) at once";
            connect_timeout_ms: integer(1, i64::MAX), "10000", "HTTP connect timeout";
            request_timeout_ms: integer(1, i64::MAX), "120000", "HTTP whole-request timeout";
            max_retries: integer(0, 100), "3", "retries of a transient HTTP failure";
            list_page_size: integer(1, 5000), "5000", "List Blobs page size (maxresults)";
            delete_max_fraction: fraction, "0.10", "deletion guard: share of current users";
            delete_max_count: integer(0, i64::MAX), "5", "deletion guard: number of users";
            max_clock_skew_minutes: integer(0, 10080), "60", "a GeneratedAt later than now plus this is refused";
            max_list_pages: integer(1, i64::MAX), "1000", "a listing of more pages is refused (a looping server)";
            max_run_seconds: integer(0, i64::MAX), "3600", "a run starts no new work after this (0: no limit)";
            allowance_hours: integer(1, 8760), "24", "a deletion allowance unused this long expires";
            retain_days: integer(1, 36500), "30", "snapshots of older days go (a company's newest stays)";
            history_days: integer(1, 36500), "90", "sync_jobs rows (and our pg_cron run history) older than this go";
            storage_file_size_limit: integer(1, i64::MAX), "52428800", "largest snapshot uploaded to Storage (hosted default: 50 MB)";
            readiness_max_age_hours: integer(1, 720), "3", "readiness: a snapshot or a last success older than this is a gap";
            ca_bundle: text, "", "PEM file of CAs to trust beside the public roots (a TLS-inspecting proxy, a private CA)";
            allow_insecure_http: boolean, "false", "allow http:// to hosts other than loopback (credentials in clear text)";
        }
    };
}
pub(crate) use for_each_setting;

/// What a setting holds, and so how it is checked, stored and shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// An Azure container SAS URL (secret).
    SasUrl,
    /// An Azure Storage connection string (secret).
    ConnectionString,
    /// Any other secret, e.g. a key.
    Secret,
    Text,
    /// An http(s) URL.
    Url,
    Integer { min: i64, max: i64 },
    Fraction,
    Boolean,
}

#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    /// As text, as it would be stored; "" means unset.
    pub default: &'static str,
    pub description: &'static str,
}

impl Setting {
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, Kind::SasUrl | Kind::ConnectionString | Kind::Secret)
    }

    /// May `value` be stored? Numbers must read as numbers now, not fail at 3 a.m. in a cron
    /// run. "" (unset) is always allowed.
    pub fn check(&self, value: &str) -> Result<(), ConfigError> {
        if value.is_empty() {
            return Ok(());
        }
        let bad = |what: String| Err(ConfigError::Invalid(format!("{} must be {what}, got {value:?}", self.name)));
        match self.kind {
            Kind::SasUrl => Container::from_sas_url(value).map(|_| ()).map_err(|e| ConfigError::Invalid(e.to_string())),
            Kind::ConnectionString => {
                Container::from_connection_string(value, "container").map(|_| ()).map_err(|e| ConfigError::Invalid(e.to_string()))
            }
            Kind::Secret | Kind::Text => Ok(()),
            Kind::Url if value.starts_with("https://") || value.starts_with("http://") => Ok(()),
            Kind::Url => bad("an http(s) URL".into()),
            Kind::Integer { min, max } => match value.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(()),
                _ if max == i64::MAX => bad(format!("a whole number of at least {min}")),
                _ => bad(format!("a whole number from {min} to {max}")),
            },
            Kind::Fraction => match value.parse::<f64>() {
                Ok(f) if (0.0..=1.0).contains(&f) => Ok(()),
                _ => bad("a fraction between 0 and 1".into()),
            },
            Kind::Boolean => value.parse::<bool>().map(|_| ()).or_else(|_| bad("true or false".into())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown setting {0}")]
    Unknown(String),
    /// A value a setting cannot hold.
    #[error("{0}")]
    Invalid(String),
    /// Something a sync needs is not configured.
    #[error("azure_sync is not configured for this: {0}")]
    Missing(String),
}

macro_rules! settings_table {
    ($($name:ident : $kind:ident $(($min:expr, $max:expr))?, $default:literal, $description:literal;)*) => {
        /// Every setting, in the order show_config() lists them.
        pub const SETTINGS: &[Setting] = &[$(Setting {
            name: stringify!($name),
            kind: settings_table!(@kind $kind $(($min, $max))?),
            default: $default,
            description: $description,
        }),*];

        impl Config {
            $(settings_table!(@accessor $name $kind);)*
        }
    };
    (@kind sas_url) => { Kind::SasUrl };
    (@kind connection_string) => { Kind::ConnectionString };
    (@kind secret) => { Kind::Secret };
    (@kind text) => { Kind::Text };
    (@kind url) => { Kind::Url };
    (@kind fraction) => { Kind::Fraction };
    (@kind boolean) => { Kind::Boolean };
    (@kind integer ($min:expr, $max:expr)) => { Kind::Integer { min: $min, max: $max } };
    (@accessor $name:ident integer) => {
        pub fn $name(&self) -> i64 { self.number(stringify!($name)) }
    };
    (@accessor $name:ident fraction) => {
        pub fn $name(&self) -> f64 { self.number(stringify!($name)) }
    };
    (@accessor $name:ident boolean) => {
        pub fn $name(&self) -> bool { self.number(stringify!($name)) }
    };
    (@accessor $name:ident $other:ident) => {
        /// None when unset.
        pub fn $name(&self) -> Option<&str> { self.text(stringify!($name)) }
    };
}
for_each_setting!(settings_table);

/// Settings that say where a secret is sent, with that secret. Whoever may configure but not
/// read the secrets (azure_sync_admin) must not be able to send a stored secret somewhere new
/// (their own server): such a setting changes only together with its secret, in one call. The
/// SAS URL and the connection string carry their endpoint inside the secret itself.
const SECRET_DESTINATIONS: &[(&str, &str)] = &[("auth_url", "service_role_key"), ("storage_url", "service_role_key")];

/// Refuse a configure() call that would send a stored secret to a new endpoint without the
/// secret being given again. `given`: the call's (name, value) pairs, None for not given.
pub fn check_secret_destinations(stored: &Config, given: &[(&str, Option<String>)]) -> Result<(), ConfigError> {
    let value_of = |name: &str| given.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_deref());
    for (destination, secret) in SECRET_DESTINATIONS {
        let Some(Some(new)) = value_of(destination) else { continue };
        let new = new.trim();
        let moved = !new.is_empty() && stored.text(destination) != Some(new);
        let secret_kept = stored.text(secret).is_some() && value_of(secret).flatten().is_none();
        if moved && secret_kept {
            return Err(ConfigError::Invalid(format!(
                "{destination} would send the stored {secret} to a new endpoint: give {secret} in the same call \
                 (configure({destination} => '...', {secret} => '...'))"
            )));
        }
    }
    Ok(())
}

pub fn setting(name: &str) -> Result<&'static Setting, ConfigError> {
    SETTINGS.iter().find(|s| s.name == name).ok_or_else(|| ConfigError::Unknown(name.to_string()))
}

/// Everything a sync needs, read once per call: stored values by name (secrets included).
#[derive(Clone, Default)]
pub struct Config {
    values: HashMap<String, String>,
}

/// A row of show_config().
pub struct Shown {
    pub name: String,
    pub value: String,
    pub is_secret: bool,
    pub stored_in: String,
    pub description: String,
}

impl Config {
    /// From what is stored: (name, value) pairs of settings and secrets. Secrets are
    /// remembered for redaction, so no message can carry them.
    pub fn from_stored(values: impl IntoIterator<Item = (String, String)>) -> Config {
        let values: HashMap<String, String> = values.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        for s in SETTINGS.iter().filter(|s| s.is_secret()) {
            if let Some(v) = values.get(s.name) {
                redact::register_secret(v);
            }
        }
        Config { values }
    }

    /// The stored (name, value) pairs, to build on.
    pub fn stored(&self) -> Vec<(String, String)> {
        self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn raw(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(v) => v,
            None => setting(name).map(|s| s.default).unwrap_or(""),
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        Some(self.raw(name)).filter(|v| !v.is_empty())
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> T {
        let default = || setting(name).ok().and_then(|s| s.default.parse().ok()).expect("every numeric default parses (tested)");
        self.raw(name).parse().unwrap_or_else(|_| default())
    }

    pub fn guard(&self) -> DeletionGuard {
        DeletionGuard { max_fraction: self.delete_max_fraction(), max_count: self.delete_max_count() as usize }
    }

    pub fn concurrency(&self) -> usize {
        self.download_concurrency() as usize
    }

    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy::new(self.max_retries() as u32)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms() as u64)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms() as u64)
    }

    /// The latest GeneratedAt believed now (plan::refuse_future).
    pub fn not_after(&self) -> Timestamp {
        Timestamp(Timestamp::now().0 + self.max_clock_skew_minutes() * 60 * 1_000_000)
    }

    /// How long a run may start new work; None: no limit.
    pub fn run_limit(&self) -> Option<Duration> {
        Some(self.max_run_seconds()).filter(|s| *s > 0).map(|s| Duration::from_secs(s as u64))
    }

    pub fn client_options(&self) -> Result<ClientOptions, ConfigError> {
        Ok(ClientOptions {
            connect_timeout: self.connect_timeout(),
            request_timeout: self.request_timeout(),
            retry: self.retry(),
            max_blob_bytes: self.max_blob_bytes() as u64,
            page_size: self.list_page_size() as u32,
            max_pages: self.max_list_pages() as u64,
            tls: self.tls()?,
        })
    }

    /// TLS trusting `ca_bundle` beside the bundled roots; None: the bundled roots alone.
    pub fn tls(&self) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, ConfigError> {
        let Some(path) = self.ca_bundle() else { return Ok(None) };
        let pem = std::fs::read(path).map_err(|e| ConfigError::Invalid(format!("ca_bundle {path:?} cannot be read by the server: {e}")))?;
        crate::http::tls_trusting(&pem).map(Some).map_err(|e| ConfigError::Invalid(format!("ca_bundle {path:?}: {e}")))
    }

    /// Credentials go to `url` (`what` names it for the message): over https, or over http
    /// only to this machine (loopback) unless `allow_insecure_http` says otherwise.
    pub fn check_endpoint(&self, what: &str, url: &str) -> Result<(), ConfigError> {
        let Some(rest) = url.strip_prefix("http://") else { return Ok(()) };
        let authority = rest.split('/').next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback || self.allow_insecure_http() {
            return Ok(());
        }
        Err(ConfigError::Invalid(format!(
            "{what} uses http:// to {host}, which is not this machine: the credentials would cross the network in clear text; \
             use https, or configure(allow_insecure_http => true) if that is what you mean"
        )))
    }

    /// The container to sync: the SAS URL wins over a connection string.
    pub fn container(&self) -> Result<Container, ConfigError> {
        let invalid = |e: crate::azure::AzureError| ConfigError::Invalid(e.to_string());
        let checked = |c: Container| self.check_endpoint("the Azure endpoint", &c.endpoint).map(|()| c);
        match (self.azure_url(), self.azure_connection_string()) {
            (Some(url), _) => Container::from_sas_url(url).map_err(invalid).and_then(checked),
            (None, Some(cs)) => Container::from_connection_string(cs, self.azure_container().unwrap_or("")).map_err(invalid).and_then(checked),
            (None, None) => Err(ConfigError::Missing(
                "no Azure container: SELECT azure_sync.configure(azure_url => 'https://{account}.blob.core.windows.net/{container}?{sas}') \
                 or configure(azure_connection_string => '...', azure_container => '...')"
                    .into(),
            )),
        }
    }

    /// The service-role key, which `what` (auth_url or storage_url) needs.
    pub fn supabase_key(&self, what: &str) -> Result<&str, ConfigError> {
        self.service_role_key().ok_or_else(|| ConfigError::Missing(format!("{what} is set but service_role_key is not: configure(service_role_key => '...')")))
    }

    /// Rows for show_config(), secrets masked. `secret_locations` says where each stored
    /// secret was found; `secret_store` is where a secret not set yet would go.
    pub fn show(&self, secret_locations: &[(&str, &str)], secret_store: &str) -> Vec<Shown> {
        let mut rows: Vec<Shown> = SETTINGS
            .iter()
            .map(|s| {
                let stored = self.values.contains_key(s.name);
                let value = match self.text(s.name) {
                    None => "(not set)".to_string(),
                    // A secret is never shown: a SAS URL keeps its harmless parts, anything
                    // with nothing recognisable to mask is masked whole.
                    Some(v) if s.is_secret() => Some(redact::scrub(v)).filter(|m| m != v).unwrap_or_else(|| redact::MASK.to_string()),
                    Some(v) => v.to_string(),
                };
                let found_in = secret_locations.iter().find(|(name, _)| *name == s.name).map(|(_, store)| *store);
                let stored_in = match (s.is_secret(), stored) {
                    (true, _) => found_in.unwrap_or(secret_store).to_string(),
                    (false, true) => "azure_sync.settings".to_string(),
                    (false, false) => "default".to_string(),
                };
                Shown { name: s.name.to_string(), value, is_secret: s.is_secret(), stored_in, description: s.description.to_string() }
            })
            .collect();
        if let Ok(Container { credential: Credential::Sas(token), .. }) = self.container() {
            rows.push(Shown {
                name: "sas_expires_at".into(),
                value: token.expiry_text().unwrap_or("(no se in the SAS)").to_string(),
                is_secret: false,
                stored_in: "azure_url".into(),
                description: "rotate the SAS before then".into(),
            });
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_check_and_numbers_parse() {
        for s in SETTINGS {
            assert!(s.check(s.default).is_ok(), "{}", s.name);
            if matches!(s.kind, Kind::Integer { .. } | Kind::Fraction) {
                assert!(s.default.parse::<f64>().is_ok(), "{}", s.name);
            }
        }
        let c = Config::default();
        assert_eq!((c.download_concurrency(), c.max_retries(), c.list_page_size()), (4, 3, 5000));
        assert_eq!(c.bucket(), Some("schedule-data"));
        assert_eq!(c.guard(), DeletionGuard { max_fraction: 0.10, max_count: 5 });
    }

    #[test]
    fn checks_follow_the_kind() {
        let check = |name: &str, value: &str| setting(name).unwrap().check(value).map_err(|e| e.to_string());
        assert_eq!(check("delete_max_fraction", "2"), Err("delete_max_fraction must be a fraction between 0 and 1, got \"2\"".into()));
        assert_eq!(check("list_page_size", "5001"), Err("list_page_size must be a whole number from 1 to 5000, got \"5001\"".into()));
        assert_eq!(check("max_blob_bytes", "0"), Err("max_blob_bytes must be a whole number of at least 1, got \"0\"".into()));
        assert!(check("auth_url", "ftp://x").is_err());
        assert!(check("azure_url", "https://a.blob.core.windows.net/c").unwrap_err().contains("no query string"));
        assert!(check("max_retries", "0").is_ok());
        assert!(setting("nope").is_err());
    }

    #[test]
    fn an_endpoint_that_receives_a_secret_changes_only_with_it() {
        let stored = Config::from_stored([
            ("auth_url".to_string(), "https://a.supabase.co/auth/v1".to_string()),
            ("service_role_key".to_string(), "key".to_string()),
        ]);
        let call = |pairs: &[(&'static str, Option<&str>)]| {
            let given: Vec<(&str, Option<String>)> = pairs.iter().map(|(n, v)| (*n, v.map(str::to_string))).collect();
            check_secret_destinations(&stored, &given).map_err(|e| e.to_string())
        };
        let refused = call(&[("auth_url", Some("https://evil.example/auth/v1"))]).unwrap_err();
        assert!(refused.starts_with("auth_url would send the stored service_role_key to a new endpoint"), "{refused}");
        assert!(call(&[("storage_url", Some("https://evil.example/storage/v1"))]).is_err());
        assert!(call(&[("storage_url", Some("https://x.example/storage/v1")), ("service_role_key", Some(""))]).is_ok(), "the key goes: nothing is sent");
        assert!(call(&[("auth_url", Some("https://new.example/auth/v1")), ("service_role_key", Some("new-key"))]).is_ok());
        assert!(call(&[("auth_url", Some("https://a.supabase.co/auth/v1 "))]).is_ok(), "the same endpoint again");
        assert!(call(&[("auth_url", Some(""))]).is_ok(), "cleared: sent nowhere");
        assert!(call(&[("auth_url", None), ("download_concurrency", Some("2"))]).is_ok());
        let no_key = Config::from_stored([]);
        assert!(check_secret_destinations(&no_key, &[("storage_url", Some("https://x.example".to_string()))]).is_ok(), "no secret to send");
    }

    #[test]
    fn credentials_cross_the_network_only_encrypted_unless_allowed() {
        let c = Config::default();
        for ok in ["https://x.supabase.co/auth/v1", "http://127.0.0.1:9999", "http://localhost/x", "http://[::1]:8000/auth", "http://127.8.0.1"] {
            assert!(c.check_endpoint("auth_url", ok).is_ok(), "{ok}");
        }
        let e = c.check_endpoint("auth_url", "http://10.0.0.5:9999/auth/v1").unwrap_err().to_string();
        assert!(e.starts_with("auth_url uses http:// to 10.0.0.5, which is not this machine"), "{e}");
        assert!(c.check_endpoint("x", "http://portal.example.com").is_err());
        let allowed = Config::from_stored([("allow_insecure_http".to_string(), "true".to_string())]);
        assert!(allowed.check_endpoint("auth_url", "http://10.0.0.5:9999").is_ok());
        let sas = Config::from_stored([("azure_url".to_string(), "http://acct.example.com/c?sp=rl&sig=x".to_string())]);
        assert!(sas.container().unwrap_err().to_string().contains("the Azure endpoint uses http://"));
    }

    #[test]
    fn stored_values_win_and_secrets_are_never_shown() {
        let c = Config::from_stored([
            ("service_role_key".to_string(), "key".to_string()),
            ("azure_url".to_string(), "https://a.blob.core.windows.net/c?sp=rl&se=2030-01-01&sig=SECRETSIG".to_string()),
            ("download_concurrency".to_string(), "8".to_string()),
        ]);
        assert_eq!(c.concurrency(), 8);
        let shown = c.show(&[("azure_url", "vault")], "azure_sync.secrets");
        let value = |n: &str| shown.iter().find(|r| r.name == n).unwrap().value.clone();
        assert_eq!(value("service_role_key"), redact::MASK, "a short key has nothing to scrub and is masked whole");
        assert_eq!(value("azure_url"), "https://a.blob.core.windows.net/c?sp=rl&se=2030-01-01&sig=*****");
        assert_eq!(value("sas_expires_at"), "2030-01-01");
        assert_eq!(value("auth_url"), "(not set)");
        let stored_in = |n: &str| shown.iter().find(|r| r.name == n).unwrap().stored_in.clone();
        assert_eq!(stored_in("bucket"), "default");
        assert_eq!((stored_in("azure_url"), stored_in("service_role_key")), ("vault".into(), "azure_sync.secrets".into()), "each secret where it was found");
    }
}
