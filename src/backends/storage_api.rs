//! The Supabase Storage API: make sure the bucket exists (private), upload snapshots with
//! upsert.

use super::supabase::{ApiClient, ApiError, Body};
use serde_json::json;
use std::sync::Mutex;

/// The most objects one delete request may name (the Storage API's limit).
pub const DELETE_BATCH: usize = 1000;

pub struct StorageApi {
    pub api: ApiClient,
    /// The bucket is made sure of once, before the first upload: a run that uploads nothing
    /// makes no call at all.
    bucket_ready: Mutex<bool>,
}

/// Whether a snapshot has been uploaded by the time its row is written.
#[derive(Debug)]
pub enum Upload {
    /// Nobody tried yet: the writer uploads.
    NotAttempted,
    Done,
    Failed(ApiError),
}

impl StorageApi {
    pub fn new(api: ApiClient) -> StorageApi {
        StorageApi { api, bucket_ready: Mutex::new(false) }
    }

    /// Upload, creating the bucket first if this client has not yet made sure of it.
    pub fn put(&self, bucket: &str, path: &str, bytes: &[u8]) -> Result<(), ApiError> {
        {
            let mut ready = self.bucket_ready.lock().unwrap_or_else(|p| p.into_inner());
            if !*ready {
                self.ensure_bucket(bucket)?;
                *ready = true;
            }
        }
        self.upload(bucket, path, bytes)
    }

    /// Create the bucket, private; one that already exists is fine.
    pub fn ensure_bucket(&self, bucket: &str) -> Result<(), ApiError> {
        let body = json!({"id": bucket, "name": bucket, "public": false});
        match self.api.send("POST", "/bucket", "bucket", &format!("create bucket {bucket:?}"), Body::Json(&body), &[]) {
            Ok(_) => Ok(()),
            Err(e) if e.status == Some(409) || e.code.as_deref() == Some("BucketAlreadyExists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Delete objects (at most DELETE_BATCH); objects already gone count as deleted, as the
    /// Storage API answers them.
    pub fn delete(&self, bucket: &str, paths: &[String]) -> Result<(), ApiError> {
        let body = json!({ "prefixes": paths });
        let operation = format!("delete {} object(s) from {bucket}", paths.len());
        self.api.send("DELETE", &format!("/object/{bucket}"), "object", &operation, Body::Json(&body), &[]).map(|_| ())
    }

    /// Upload (or overwrite) one object.
    pub fn upload(&self, bucket: &str, path: &str, bytes: &[u8]) -> Result<(), ApiError> {
        let encoded = crate::http::encode::percent_encode(path, true);
        self.api
            .send(
                "POST",
                &format!("/object/{bucket}/{encoded}"),
                "object",
                &format!("upload {bucket}/{path}"),
                Body::Bytes { content_type: "application/json", bytes },
                &[("x-upsert", "true"), ("cache-control", "no-cache")],
            )
            .map(|_| ())
    }
}
