//! Where documents and users go. Today: the embedded default (documents in
//! `azure_sync.stored_objects`, users as profiles only). The seams for Supabase Storage and
//! GoTrue over HTTP are these two enums: a variant each, chosen from the configuration.

use crate::config::Config;

/// Where schedule snapshots are stored.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Bytes in `azure_sync.stored_objects`: a plain PostgreSQL serves the portal's reads.
    Embedded { bucket: String },
}

impl Storage {
    pub fn from_config(config: &Config) -> Storage {
        Storage::Embedded { bucket: config.bucket() }
    }

    pub fn bucket(&self) -> &str {
        match self {
            Storage::Embedded { bucket } => bucket,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Storage::Embedded { bucket } => format!("embedded (azure_sync.stored_objects, bucket {bucket})"),
        }
    }
}

/// Where sign-in accounts are kept.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No auth_url configured: profiles and memberships only.
    ProfilesOnly,
}

impl Auth {
    pub fn from_config(_config: &Config) -> Auth {
        Auth::ProfilesOnly
    }

    pub fn label(&self) -> &'static str {
        match self {
            Auth::ProfilesOnly => "profiles only (no auth_url configured)",
        }
    }
}
