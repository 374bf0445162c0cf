//! The Azure Blob client: credentials (container SAS URL or connection string with Shared Key),
//! List Blobs over every page, Get Blob with a size cap, retries, and errors that name the
//! operation, the blob and Azure's own code without ever carrying a secret.
//! Pure Rust on ureq and quick-xml: no pgrx here, so worker threads may use all of it.

mod client;
mod credentials;
mod encode;
mod error;
mod listing;
mod retry;
mod sign;
mod time;

pub use client::{BlobClient, ClientOptions, Fetched};
pub use credentials::{Auth, Container, SasToken};
pub use error::{AzureError, AzureErrorKind};
pub use listing::BlobItem;
pub use retry::{jitter_unit, Attempted, RetryPolicy};
pub use time::{http_date, now_unix, parse_http_date};

/// Percent-encode a path, keeping `/`, as object stores expect.
pub fn percent_encode_path(path: &str) -> String {
    encode::percent_encode(path, true)
}
