//! The sync's memory of each blob: the ETag last applied, and failures.

use crate::error::SyncError;
use pgrx::prelude::*;
use std::collections::HashMap;

/// blob name → ETag of the version last applied.
pub fn applied_etags() -> Result<HashMap<String, String>, SyncError> {
    Spi::connect(|client| {
        let mut map = HashMap::new();
        for row in client.select("SELECT blob_name, applied_etag FROM azure_sync.blob_state WHERE applied_etag IS NOT NULL", None, &[])? {
            if let (Some(name), Some(etag)) = (row.get::<String>(1)?, row.get::<String>(2)?) {
                map.insert(name, etag);
            }
        }
        Ok(map)
    })
}
