//! The Supabase Storage API: make sure the bucket exists (private, limited to our size and to
//! JSON) and say when an existing one is unfit, upload snapshots with upsert (refusing before
//! sending what Storage would refuse), delete old ones in batches.

use super::supabase::{ApiClient, ApiError, Body};
use serde_json::json;
use std::sync::Mutex;

/// The most objects one delete request may name (the Storage API's limit).
pub const DELETE_BATCH: usize = 1000;

pub struct StorageApi {
    pub api: ApiClient,
    /// The largest object the bucket is made to take (the `storage_file_size_limit` setting).
    file_size_limit: u64,
    /// The bucket as found or made, once, before the first upload: a run that uploads nothing
    /// makes no call at all.
    bucket: Mutex<Option<BucketState>>,
}

/// What the bucket lets us do, as Storage reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketState {
    pub public: bool,
    /// The bucket's own limit, when it has one.
    pub file_size_limit: Option<u64>,
    /// Whether it takes `application/json` (no allowed_mime_types list takes anything).
    pub accepts_json: bool,
}

impl BucketState {
    /// What makes the bucket unfit for snapshots, said for a DBA.
    pub fn problem(&self, bucket: &str) -> Option<String> {
        if self.public {
            Some(format!("bucket {bucket:?} is public: anyone with a snapshot's URL reads it; make it private in Supabase Storage"))
        } else if !self.accepts_json {
            Some(format!("bucket {bucket:?} does not allow application/json (allowed_mime_types): no snapshot can be uploaded"))
        } else {
            None
        }
    }
}

/// Whether a snapshot has been uploaded by the time its row is written.
#[derive(Debug)]
pub enum Upload {
    /// Nobody tried yet: the writer uploads.
    NotAttempted,
    Done,
    Failed(ApiError),
}

/// Storage's rule for object keys: other characters (`~`, `%`, `#`, non-ASCII) are refused
/// with InvalidKey.
pub fn valid_key(key: &str) -> bool {
    key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_/!.*'() &$=@;:+,?-".contains(&b))
}

const JSON: &str = "application/json";

impl StorageApi {
    pub fn new(api: ApiClient, file_size_limit: u64) -> StorageApi {
        StorageApi { api, file_size_limit, bucket: Mutex::new(None) }
    }

    fn refused(&self, status: u16, code: &str, operation: String, message: String) -> ApiError {
        ApiError { service: "storage", operation, status: Some(status), code: Some(code.to_string()), message }
    }

    /// The bucket's state, making it first if it is missing (private, with our size limit and
    /// only application/json); asked once per client.
    pub fn bucket_state(&self, bucket: &str) -> Result<BucketState, ApiError> {
        let mut known = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = known.as_ref() {
            return Ok(state.clone());
        }
        let body = json!({"id": bucket, "name": bucket, "public": false, "file_size_limit": self.file_size_limit, "allowed_mime_types": [JSON]});
        let state = match self.api.send("POST", "/bucket", "bucket", &format!("create bucket {bucket:?}"), Body::Json(&body), &[]) {
            Ok(_) => BucketState { public: false, file_size_limit: Some(self.file_size_limit), accepts_json: true },
            Err(e) if e.status == Some(409) || e.code.as_deref() == Some("BucketAlreadyExists") => self.read_bucket(bucket)?,
            Err(e) => return Err(e),
        };
        *known = Some(state.clone());
        Ok(state)
    }

    fn read_bucket(&self, bucket: &str) -> Result<BucketState, ApiError> {
        let (_, answer) = self.api.send("GET", &format!("/bucket/{bucket}"), "bucket", &format!("read bucket {bucket:?}"), Body::None, &[])?;
        let v: serde_json::Value = serde_json::from_slice(&answer)
            .map_err(|_| self.refused(502, "UnexpectedAnswer", format!("read bucket {bucket:?}"), "the answer is not JSON".into()))?;
        let mimes = v.get("allowed_mime_types").and_then(|m| m.as_array());
        Ok(BucketState {
            public: v.get("public").and_then(|p| p.as_bool()).unwrap_or(false),
            file_size_limit: v.get("file_size_limit").and_then(|l| l.as_u64()),
            accepts_json: mimes.is_none_or(|m| m.is_empty() || m.iter().any(|t| matches!(t.as_str(), Some(JSON | "application/*" | "*/*")))),
        })
    }

    /// Upload one snapshot. Refused before anything is sent when Storage would refuse it: a
    /// key outside Storage's rule, a bucket that refuses JSON, or more bytes than the bucket's
    /// (or our) size limit.
    pub fn put(&self, bucket: &str, path: &str, bytes: &[u8]) -> Result<(), ApiError> {
        let operation = || format!("upload {bucket}/{path}");
        if !valid_key(path) {
            return Err(self.refused(400, "InvalidKey", operation(), "the key holds a character Storage refuses: not sent".into()));
        }
        let state = self.bucket_state(bucket)?;
        if !state.accepts_json {
            return Err(self.refused(415, "InvalidMimeType", operation(), "the bucket does not allow application/json: not sent".into()));
        }
        let limit = state.file_size_limit.map_or(self.file_size_limit, |l| l.min(self.file_size_limit));
        if bytes.len() as u64 > limit {
            let message = format!("the snapshot is {} bytes, over the size limit of {limit} bytes (bucket file_size_limit, storage_file_size_limit): not sent", bytes.len());
            return Err(self.refused(413, "EntityTooLarge", operation(), message));
        }
        self.upload(bucket, path, bytes)
    }

    /// Delete objects (at most DELETE_BATCH); objects already gone count as deleted, as the
    /// Storage API answers them.
    pub fn delete(&self, bucket: &str, paths: &[String]) -> Result<(), ApiError> {
        let body = json!({ "prefixes": paths });
        let operation = format!("delete {} object(s) from {bucket}", paths.len());
        self.api.send("DELETE", &format!("/object/{bucket}"), "object", &operation, Body::Json(&body), &[]).map(|_| ())
    }

    /// Upload (or overwrite) one object. A 2xx is success only when it names the object
    /// written (`Key`): anything else answering must not read as a snapshot stored.
    pub fn upload(&self, bucket: &str, path: &str, bytes: &[u8]) -> Result<(), ApiError> {
        let encoded = crate::http::encode::percent_encode(path, true);
        let operation = format!("upload {bucket}/{path}");
        let (_, answer) = self.api.send(
            "POST",
            &format!("/object/{bucket}/{encoded}"),
            "object",
            &operation,
            Body::Bytes { content_type: JSON, bytes },
            &[("x-upsert", "true"), ("cache-control", "no-cache")],
        )?;
        let key = serde_json::from_slice::<serde_json::Value>(&answer).ok().and_then(|v| v.get("Key").and_then(|k| k.as_str()).map(str::to_string));
        if key.as_deref() != Some(format!("{bucket}/{path}").as_str()) {
            let message = "the answer does not name the object written: something other than Supabase Storage answered".into();
            return Err(self.refused(502, "UnexpectedAnswer", operation, message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::RetryPolicy;
    use std::time::Duration;

    /// A client whose every request would fail: what it refuses, it refused without sending.
    fn unreachable_api(limit: u64, state: BucketState) -> StorageApi {
        let client = ApiClient::new("storage", "http://127.0.0.1:9", "key", Duration::from_millis(200), Duration::from_millis(200), RetryPolicy::new(0), None);
        let api = StorageApi::new(client, limit);
        *api.bucket.lock().unwrap() = Some(state);
        api
    }

    #[test]
    fn what_storage_would_refuse_is_refused_before_sending() {
        let fit = BucketState { public: false, file_size_limit: Some(50), accepts_json: true };
        let api = unreachable_api(100, fit.clone());
        let e = api.put("schedule-data", "1/2025-12-10/schedule.json", &[b' '; 60]).unwrap_err();
        assert_eq!((e.status, e.code.as_deref()), (Some(413), Some("EntityTooLarge")));
        assert!(e.message.starts_with("the snapshot is 60 bytes, over the size limit of 50 bytes"), "{}", e.message);
        assert!(e.is_permanent());
        let e = api.put("schedule-data", "1/2025-12-10/sché.json", b"{}").unwrap_err();
        assert_eq!(e.code.as_deref(), Some("InvalidKey"));
        let e = api.put("schedule-data", "1/2025-12-10/schedule.json", b"{}").unwrap_err();
        assert_eq!(e.code, None, "a fitting snapshot is sent (and here meets no server)");
        let no_json = unreachable_api(100, BucketState { accepts_json: false, ..fit });
        assert_eq!(no_json.put("b", "1/x.json", b"{}").unwrap_err().status, Some(415));
    }

    #[test]
    fn unfit_buckets_are_named() {
        let public = BucketState { public: true, file_size_limit: None, accepts_json: true };
        assert!(public.problem("schedule-data").unwrap().contains("is public"));
        assert_eq!(BucketState { public: false, ..public }.problem("schedule-data"), None);
        assert!(valid_key("12/2025-12-10/schedule.json") && !valid_key("a~b") && !valid_key("a%20b") && !valid_key("é"));
    }
}
