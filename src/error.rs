//! The one place where component errors become PostgreSQL errors: each kind gets its SQLSTATE,
//! and every message passes through redaction on its way out.

use crate::azure::AzureError;
use crate::contract::ContractError;
use crate::redact;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::fmt;

#[derive(Debug)]
pub enum SyncError {
    /// A document that breaks the file contract; `source` names where it came from.
    Contract { source: String, error: ContractError },
    Azure(AzureError),
    /// Supabase Auth or Storage refused or failed.
    Backend(crate::backends::http::ApiError),
    /// Missing or unusable configuration.
    Config(String),
    /// An argument a caller passed that cannot be used.
    Argument(String),
    /// A statement run through SPI failed.
    Spi(String),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Contract { source, error } => write!(f, "{source} breaks the file contract: {error}"),
            SyncError::Azure(e) => write!(f, "{e}"),
            SyncError::Backend(e) => write!(f, "{e}"),
            SyncError::Config(m) => write!(f, "azure_sync is not configured for this: {m}"),
            SyncError::Argument(m) => f.write_str(m),
            SyncError::Spi(m) => write!(f, "database statement failed: {m}"),
        }
    }
}

impl std::error::Error for SyncError {}

impl From<pgrx::spi::SpiError> for SyncError {
    fn from(e: pgrx::spi::SpiError) -> Self {
        SyncError::Spi(e.to_string())
    }
}

impl From<crate::backends::http::ApiError> for SyncError {
    fn from(e: crate::backends::http::ApiError) -> Self {
        SyncError::Backend(e)
    }
}

impl From<AzureError> for SyncError {
    fn from(e: AzureError) -> Self {
        SyncError::Azure(e)
    }
}

impl SyncError {
    pub fn contract(source: impl Into<String>, error: ContractError) -> SyncError {
        SyncError::Contract { source: source.into(), error }
    }

    pub fn sqlstate(&self) -> PgSqlErrorCode {
        use crate::azure::AzureErrorKind as K;
        match self {
            SyncError::Contract { .. } => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            SyncError::Argument(_) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            SyncError::Config(_) => PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            SyncError::Spi(_) => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            SyncError::Backend(_) => PgSqlErrorCode::ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
            SyncError::Azure(e) => match e.kind {
                K::Auth => PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                K::NotFound => PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                K::TooLarge => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                K::Transport | K::Timeout => PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
                K::Http | K::Protocol => PgSqlErrorCode::ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
                K::Config => PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            },
        }
    }

    /// The message as users may see it: secrets scrubbed whatever produced the text.
    pub fn public_message(&self) -> String {
        redact::scrub(&self.to_string())
    }

    /// Raise as an ERROR in the calling statement.
    pub fn raise(self) -> ! {
        let code = self.sqlstate();
        let message = self.public_message();
        ereport!(ERROR, code, message);
    }
}

/// Unwrap or raise: the last step of every `#[pg_extern]`.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, SyncError> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| e.raise())
    }
}
