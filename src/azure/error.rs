//! Errors of the Azure client. Messages are built from what we know to be safe (the operation,
//! the blob or container name, the status, Azure's code and message): never a URL with its
//! query, never a header.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureErrorKind {
    /// 401/403: credentials rejected, expired, or lacking a permission.
    Auth,
    /// 404: container or blob.
    NotFound,
    /// A blob over the configured size cap.
    TooLarge,
    /// Connection refused, reset, DNS.
    Transport,
    /// The configured time ran out.
    Timeout,
    /// TLS failed: the server's certificate is not trusted.
    Tls,
    /// Any other HTTP status.
    Http,
    /// An answer we could not read (bad XML, missing header).
    Protocol,
    /// A URL or connection string that cannot be used.
    Config,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureError {
    pub kind: AzureErrorKind,
    /// "list blobs", "get blob", "configure".
    pub operation: &'static str,
    /// The blob name, or `container "x"`.
    pub target: String,
    pub status: Option<u16>,
    /// Azure's error code (`x-ms-error-code` or `<Code>`), e.g. `BlobNotFound`.
    pub code: Option<String>,
    pub message: String,
    /// What to check, for the errors where we know.
    pub hint: Option<String>,
    /// How many attempts were made.
    pub attempts: u32,
}

impl AzureError {
    pub fn config(message: impl Into<String>) -> AzureError {
        AzureError {
            kind: AzureErrorKind::Config,
            operation: "configure",
            target: String::new(),
            status: None,
            code: None,
            message: message.into(),
            hint: None,
            attempts: 0,
        }
    }

    /// Worth another attempt: throttling, server trouble, and the network.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            AzureErrorKind::Transport | AzureErrorKind::Timeout => true,
            AzureErrorKind::Http => matches!(self.status, Some(408 | 429 | 500 | 502 | 503 | 504)),
            _ => false,
        }
    }
}

impl fmt::Display for AzureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == AzureErrorKind::Config {
            return write!(f, "Azure configuration: {}", self.message);
        }
        write!(f, "{} {} failed", self.operation, self.target)?;
        if let Some(s) = self.status {
            write!(f, ": HTTP {s}")?;
        } else {
            f.write_str(":")?;
        }
        if let Some(c) = &self.code {
            write!(f, " {c}")?;
        }
        if !self.message.is_empty() {
            write!(f, " {}", self.message)?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AzureError {}
