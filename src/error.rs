//! The one place where component errors become PostgreSQL errors, as supabase/wrappers does
//! it: each component keeps its own error type (AzureError, ContractError, ApiError,
//! ConfigError); here each kind gets its SQLSTATE and, where we know one, a HINT, and every
//! message passes through redaction on its way out.

use crate::azure::{AzureError, AzureErrorKind};
use crate::backends::supabase::ApiError;
use crate::config::ConfigError;
use crate::contract::ContractError;
use crate::redact;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A document that breaks the file contract; `origin` names where it came from.
    #[error("{origin} breaks the file contract: {error}")]
    Contract { origin: String, error: ContractError },
    #[error(transparent)]
    Azure(#[from] AzureError),
    /// Supabase Auth or Storage refused or failed.
    #[error(transparent)]
    Backend(#[from] ApiError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An argument a caller passed that cannot be used.
    #[error("{0}")]
    Argument(String),
    /// Input refused as a whole (a GeneratedAt from the future).
    #[error("{0}")]
    Refused(String),
    /// The role that logged in may not do this (beyond what EXECUTE on the function grants).
    #[error("{0}")]
    Privilege(String),
    /// A worker thread panicked or vanished: a defect of azure_sync, reported, never silent.
    #[error("{0}")]
    Worker(String),
    /// A statement run through SPI failed.
    #[error("database statement failed: {0}")]
    Spi(String),
}

impl From<pgrx::spi::SpiError> for SyncError {
    fn from(e: pgrx::spi::SpiError) -> Self {
        SyncError::Spi(e.to_string())
    }
}

impl SyncError {
    pub fn contract(origin: impl Into<String>, error: ContractError) -> SyncError {
        SyncError::Contract { origin: origin.into(), error }
    }

    pub fn sqlstate(&self) -> PgSqlErrorCode {
        use AzureErrorKind as K;
        match self {
            SyncError::Contract { .. } | SyncError::Argument(_) | SyncError::Refused(_) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            SyncError::Worker(_) => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            SyncError::Privilege(_) => PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            SyncError::Config(ConfigError::Invalid(_) | ConfigError::Unknown(_)) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            SyncError::Config(ConfigError::Missing(_)) => PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            SyncError::Spi(_) => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            SyncError::Backend(_) => PgSqlErrorCode::ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
            SyncError::Azure(e) => match e.kind {
                K::Auth => PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                K::NotFound => PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                K::TooLarge => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                K::Transport | K::Timeout | K::Tls => PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
                K::Http | K::Protocol => PgSqlErrorCode::ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
                K::Config => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            },
        }
    }

    /// What to do about it, where the error's kind tells.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            SyncError::Config(ConfigError::Missing(_)) => Some("SELECT * FROM azure_sync.show_config() lists every setting and what is set"),
            SyncError::Config(ConfigError::Unknown(_)) => Some("SELECT name FROM azure_sync.show_config() lists the settings"),
            SyncError::Contract { .. } => Some("SELECT * FROM unnest(azure_sync.validate('users' or 'schedule', doc)) lists every problem"),
            SyncError::Azure(e) if e.kind == AzureErrorKind::TooLarge => Some("raise the cap with azure_sync.configure(max_blob_bytes => ...)"),
            _ => None,
        }
    }

    /// The message as users may see it: secrets scrubbed whatever produced the text.
    pub fn public_message(&self) -> String {
        redact::scrub(&self.to_string())
    }

    /// Raise as an ERROR in the calling statement.
    pub fn raise(self) -> ! {
        let mut report = ErrorReport::new(self.sqlstate(), self.public_message(), "azure_sync");
        if let Some(hint) = self.hint() {
            report = report.set_hint(hint);
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("an ERROR does not return")
    }
}

/// Unwrap or raise: the last step of every `#[pg_extern]`.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T, E: Into<SyncError>> OrRaise<T> for Result<T, E> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| e.into().raise())
    }
}
