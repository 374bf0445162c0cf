//! The Azure Blob client: credentials (container SAS URL or connection string with Shared Key),
//! List Blobs over every page, Get Blob with a size cap, and errors that name the operation,
//! the blob and Azure's own code without ever carrying a secret. HTTP is crate::http's.
//! Pure Rust: no pgrx here, so worker threads may use all of it.

mod client;
mod credentials;
mod error;
mod listing;
mod sign;

pub use client::{BlobClient, ClientOptions, Fetched};
pub use credentials::{Container, Credential, SasToken};
pub use error::{AzureError, AzureErrorKind};
pub use listing::{parse_page, BlobItem, ListPage};
