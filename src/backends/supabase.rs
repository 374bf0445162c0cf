//! What Supabase's Auth and Storage APIs share: the service-role key sent as
//! `Authorization: Bearer` and `apikey`, JSON errors in several shapes (Storage's "HTTP 400 with
//! the real status in the body" included), and a count of calls. HTTP itself (agent, retries,
//! capped reads, redirects refused) is crate::http's. Pure Rust: worker threads use it.

use crate::http::{self, Attempted, BodyError, Failure, RetryPolicy};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Answers of the Auth and Storage APIs are small JSON documents.
const ANSWER_BODY_CAP: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// "auth" or "storage".
    pub service: &'static str,
    pub operation: String,
    /// The real status (Storage's body status when it answers 400 on top of it).
    pub status: Option<u16>,
    /// e.g. `email_exists`, `user_not_found`, `Duplicate`.
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} failed", self.service, self.operation)?;
        match self.status {
            Some(s) => write!(f, ": HTTP {s}")?,
            None => f.write_str(":")?,
        }
        if let Some(c) = &self.code {
            write!(f, " {c}")?;
        }
        if !self.message.is_empty() {
            write!(f, " {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Will the same request fail the same way again (too large, a type or key the service
    /// refuses)? Then retrying it on every run helps nobody.
    pub fn is_permanent(&self) -> bool {
        matches!(self.status, Some(413 | 415)) || matches!(self.code.as_deref(), Some("InvalidKey" | "EntityTooLarge" | "InvalidMimeType"))
    }
}

pub enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    Bytes { content_type: &'a str, bytes: &'a [u8] },
}

pub struct ApiClient {
    service: &'static str,
    base: String,
    key: String,
    agent: ureq::Agent,
    retry: RetryPolicy,
    calls: Mutex<BTreeMap<String, u64>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiClient({} at {}, key *****)", self.service, self.base)
    }
}

/// Read a Supabase error body, whichever service and version wrote it.
pub fn decode_error(http_status: u16, body: &[u8]) -> (u16, Option<String>, String) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let text = |k: &str| v.get(k).and_then(|x| x.as_str().map(str::to_string).or_else(|| x.as_u64().map(|n| n.to_string())));
    // Storage answers 400 and puts the real status in the body as a string.
    let status = text("statusCode").and_then(|s| s.parse().ok()).unwrap_or(http_status);
    let code = text("error_code").or_else(|| v.get("code").and_then(|c| c.as_str()).map(str::to_string)).or_else(|| text("error"));
    let message = text("msg").or_else(|| text("message")).or_else(|| text("error_description")).unwrap_or_else(|| {
        String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string()
    });
    (status, code, message)
}

impl ApiClient {
    pub fn new(
        service: &'static str,
        base: &str,
        key: &str,
        connect_timeout: Duration,
        timeout: Duration,
        retry: RetryPolicy,
        tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    ) -> ApiClient {
        let agent = http::agent(connect_timeout, timeout, tls);
        ApiClient { service, base: base.trim_end_matches('/').to_string(), key: key.to_string(), agent, retry, calls: Mutex::new(BTreeMap::new()) }
    }

    /// Calls made so far, by "METHOD kind" (e.g. "POST users"), retries included.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn total_calls(&self) -> u64 {
        self.calls().values().sum()
    }

    /// Send one request, retrying 408/429/502/503/504 and connection failures.
    pub fn send(&self, method: &str, path: &str, kind: &str, operation: &str, body: Body, headers: &[(&str, &str)]) -> Result<(u16, Vec<u8>), ApiError> {
        let url = format!("{}{path}", self.base);
        let result = self.retry.run(|_| {
            *self.calls.lock().unwrap_or_else(|p| p.into_inner()).entry(format!("{method} {kind}")).or_default() += 1;
            self.attempt(method, &url, operation, &body, headers)
        });
        result.map_err(|(error, _)| error)
    }

    /// One request. A 500 is not transient: GoTrue answers 500 for a duplicate id, which no
    /// retry changes.
    fn attempt(&self, method: &str, url: &str, operation: &str, body: &Body, headers: &[(&str, &str)]) -> Result<(u16, Vec<u8>), Attempted<ApiError>> {
        let fail = |status: Option<u16>, code: Option<String>, message: String, retry_after: Option<Duration>| Attempted {
            transient: matches!(status, None | Some(408 | 429 | 502 | 503 | 504)),
            retry_after,
            error: ApiError { service: self.service, operation: operation.to_string(), status, code, message },
        };
        let mut request = self
            .agent
            .request(method, url)
            .set("Authorization", &format!("Bearer {}", self.key))
            .set("apikey", &self.key)
            .set("X-Supabase-Api-Version", "2024-01-01");
        for (k, v) in headers {
            request = request.set(k, v);
        }
        let json;
        let payload = match body {
            Body::None => None,
            Body::Json(v) => {
                json = serde_json::to_vec(v).expect("JSON values serialise");
                Some(("application/json", json.as_slice()))
            }
            Body::Bytes { content_type, bytes } => Some((*content_type, *bytes)),
        };
        match http::send(request, payload, "x-sb-error-code") {
            Ok(response) => {
                let status = response.status();
                match http::read_capped(response, ANSWER_BODY_CAP) {
                    Ok(bytes) => Ok((status, bytes)),
                    Err(BodyError::TooLarge) => Err(fail(Some(status), None, format!("the answer is larger than {ANSWER_BODY_CAP} bytes"), None)),
                    Err(BodyError::Io(kind)) => Err(fail(None, None, format!("reading the answer failed: {kind}"), None)),
                }
            }
            Err(Failure::Status { status: http_status, retry_after, error_code, body }) => {
                let (status, code, message) = decode_error(http_status, &body);
                Err(fail(Some(status), code.or(error_code), message, retry_after))
            }
            Err(Failure::Redirect { status }) => {
                let mut refused = fail(Some(status), None, Failure::REDIRECT_REFUSED.to_string(), None);
                refused.transient = false;
                Err(refused)
            }
            Err(Failure::Transport { message, .. }) => Err(fail(None, None, message, None)),
            Err(Failure::Tls { message }) => {
                let mut refused = fail(None, Some("tls".into()), message, None);
                refused.transient = false;
                Err(refused)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_shape_is_read() {
        // GoTrue with X-Supabase-Api-Version
        assert_eq!(decode_error(422, br#"{"code":"email_exists","message":"A user with this email address has already been registered"}"#),
            (422, Some("email_exists".into()), "A user with this email address has already been registered".into()));
        // GoTrue without it
        assert_eq!(decode_error(404, br#"{"code":404,"error_code":"user_not_found","msg":"User not found"}"#),
            (404, Some("user_not_found".into()), "User not found".into()));
        // Storage: 400 outside, the real status inside
        assert_eq!(decode_error(400, br#"{"statusCode":"409","error":"Duplicate","message":"The resource already exists"}"#),
            (409, Some("Duplicate".into()), "The resource already exists".into()));
        assert_eq!(decode_error(502, b"Bad Gateway"), (502, None, "Bad Gateway".into()));
    }
}
