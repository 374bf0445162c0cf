//! The blocking Blob client. It holds no Postgres state, so worker threads share it freely.
//! HTTP itself (agent, retries, capped reads, redirects refused) is crate::http's; this file
//! signs requests and says what Azure's answers mean.

use super::credentials::{Container, Credential};
use super::error::{AzureError, AzureErrorKind};
use super::listing::{parse_page, BlobItem, ListPage};
use super::sign;
use crate::clock::{http_date, Timestamp};
use crate::http::{self, encode::percent_encode, Attempted, BodyError, Failure, RetryPolicy};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A service version Azurite 3.35 and Azure both accept.
pub const API_VERSION: &str = "2021-12-02";

/// A listing page is small XML (about 1 KB a blob): anything far larger is not a listing.
const LISTING_BODY_CAP: u64 = 64 * 1024 * 1024;

/// Every field comes from the settings (crate::config), which own the defaults.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// The whole request, body included.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Larger blobs are refused before their body is read.
    pub max_blob_bytes: u64,
    /// `maxresults` per listing page (Azure's own maximum is 5,000).
    pub page_size: u32,
    /// Roots to trust beyond the bundled ones (the `ca_bundle` setting).
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// A listing of more pages is refused: a server that loops must not hold a run forever.
    pub max_pages: u64,
}

/// What Get Blob gave.
#[derive(Debug)]
pub enum Fetched {
    /// `If-None-Match` matched: the blob is as we last saw it.
    NotModified,
    Blob { bytes: Vec<u8>, etag: String, sha256: String },
}

pub struct BlobClient {
    container: Container,
    agent: ureq::Agent,
    options: ClientOptions,
    list_requests: AtomicU64,
    get_requests: AtomicU64,
}

fn url_path(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    url[after_scheme..].find('/').map(|i| &url[after_scheme + i..]).unwrap_or("/")
}

/// First line only: Azure appends RequestId and Time lines that help nobody in an error.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

fn xml_element(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&"))
}

/// What one failed attempt means in Azure's terms: (kind, status, code, message, Retry-After).
type AttemptFailure = (AzureErrorKind, Option<u16>, Option<String>, String, Option<Duration>);

fn azure_failure(failure: Failure, request_timeout: Duration) -> AttemptFailure {
    match failure {
        Failure::Status { status, retry_after, error_code, body } => {
            let body = String::from_utf8_lossy(&body);
            let code = error_code.or_else(|| xml_element(&body, "Code"));
            let mut message = xml_element(&body, "Message").map(|m| first_line(&m)).unwrap_or_default();
            if let Some(detail) = xml_element(&body, "AuthenticationErrorDetail") {
                message = format!("{message} ({})", first_line(&detail));
            }
            let kind = match status {
                401 | 403 => AzureErrorKind::Auth,
                404 => AzureErrorKind::NotFound,
                _ => AzureErrorKind::Http,
            };
            (kind, Some(status), code, message, retry_after)
        }
        Failure::Redirect { status } => (AzureErrorKind::Protocol, Some(status), None, Failure::REDIRECT_REFUSED.to_string(), None),
        Failure::Transport { timed_out: true, .. } => (AzureErrorKind::Timeout, None, None, format!("no answer within {request_timeout:?}"), None),
        Failure::Transport { timed_out: false, message } => (AzureErrorKind::Transport, None, None, message, None),
        Failure::Tls { message } => (AzureErrorKind::Tls, None, None, message, None),
    }
}

impl BlobClient {
    pub fn new(container: Container, options: ClientOptions) -> BlobClient {
        let agent = http::agent(options.connect_timeout, options.request_timeout, options.tls.clone());
        BlobClient { container, agent, options, list_requests: AtomicU64::new(0), get_requests: AtomicU64::new(0) }
    }

    pub fn container(&self) -> &Container {
        &self.container
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// (listing requests, get requests) sent so far, retries included.
    pub fn request_counts(&self) -> (u64, u64) {
        (self.list_requests.load(Ordering::Relaxed), self.get_requests.load(Ordering::Relaxed))
    }

    /// One attempt. `url` has no query; `query` is ours (the SAS is added here).
    fn attempt(&self, url: &str, query: &str, headers: &[(&str, String)]) -> Result<ureq::Response, AttemptFailure> {
        let mut full_query = query.to_string();
        let mut all_headers: Vec<(&str, String)> = headers.to_vec();
        all_headers.push(("x-ms-version", API_VERSION.to_string()));
        match &self.container.credential {
            Credential::Sas(token) => {
                if !full_query.is_empty() {
                    full_query.push('&');
                }
                full_query.push_str(&token.query());
            }
            Credential::SharedKey { account, key } => {
                all_headers.push(("x-ms-date", http_date(Timestamp::now())));
                let borrowed: Vec<(&str, &str)> = all_headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let to_sign = sign::string_to_sign("GET", account, url_path(url), query, &borrowed);
                all_headers.push(("Authorization", sign::authorization(account, key, &to_sign)));
            }
        }
        let target = if full_query.is_empty() { url.to_string() } else { format!("{url}?{full_query}") };
        let mut request = self.agent.get(&target);
        for (k, v) in &all_headers {
            request = request.set(k, v);
        }
        http::send(request, None, "x-ms-error-code").map_err(|f| azure_failure(f, self.options.request_timeout))
    }

    /// Send with retries; transient failures wait and try again, the rest fail at once.
    fn send(&self, operation: &'static str, target: &str, url: &str, query: &str, headers: &[(&str, String)], counter: &AtomicU64) -> Result<ureq::Response, AzureError> {
        let result = self.options.retry.run(|attempt| {
            counter.fetch_add(1, Ordering::Relaxed);
            self.attempt(url, query, headers).map_err(|(kind, status, code, message, retry_after)| {
                let error = AzureError { kind, operation, target: target.to_string(), status, code, message, hint: None, attempts: attempt };
                Attempted { transient: error.is_transient(), retry_after, error }
            })
        });
        result.map_err(|(mut err, _)| {
            if err.kind == AzureErrorKind::Auth {
                err.hint = Some(self.auth_hint(operation));
            }
            err
        })
    }

    /// Why a 401/403 most likely happened, from what the credential itself says.
    fn auth_hint(&self, operation: &str) -> String {
        match &self.container.credential {
            Credential::Sas(token) => {
                let sp = token.permissions().unwrap_or("");
                let se = token.expiry_text().unwrap_or("?");
                let needed = if operation == "list blobs" { 'l' } else { 'r' };
                if token.expiry().is_some_and(|t| t < Timestamp::now()) {
                    format!("the SAS token was rejected: it expired at {se}; issue a new one (se in the future, sp with r and l)")
                } else if !sp.contains(needed) {
                    let what = if needed == 'l' { "list" } else { "read" };
                    format!("the SAS token was rejected: it lacks the {what} permission (sp={sp}; {operation} needs {needed}, the sync needs r and l)")
                } else {
                    format!("the SAS token was rejected: check its expiry (se={se}) and permissions (sp={sp}; sp needs r and l), and that it was made for this container")
                }
            }
            Credential::SharedKey { account, .. } => format!("the account key of {account} was rejected: check AccountName and AccountKey"),
        }
    }

    fn container_target(&self) -> String {
        format!("of container {:?}", self.container.name)
    }

    fn body_error(operation: &'static str, target: String, error: BodyError, cap: u64) -> AzureError {
        let (kind, message) = match error {
            BodyError::TooLarge => (AzureErrorKind::TooLarge, format!("the answer is larger than the cap of {cap} bytes")),
            BodyError::Io(std::io::ErrorKind::TimedOut) => (AzureErrorKind::Timeout, "reading the body timed out".to_string()),
            BodyError::Io(kind) => (AzureErrorKind::Transport, format!("reading the body failed: {kind}")),
        };
        AzureError { kind, operation, target, status: None, code: None, message, hint: None, attempts: 1 }
    }

    /// One page of List Blobs.
    pub fn list_page(&self, marker: Option<&str>) -> Result<ListPage, AzureError> {
        let mut query = format!("restype=container&comp=list&maxresults={}", self.options.page_size);
        if let Some(m) = marker {
            query.push_str(&format!("&marker={}", percent_encode(m, false)));
        }
        let target = self.container_target();
        let response = self.send("list blobs", &target, &self.container.url(), &query, &[], &self.list_requests)?;
        let body = http::read_capped(response, LISTING_BODY_CAP).map_err(|e| Self::body_error("list blobs", target.clone(), e, LISTING_BODY_CAP))?;
        parse_page(&body).map_err(|message| AzureError { kind: AzureErrorKind::Protocol, operation: "list blobs", target, status: None, code: None, message, hint: None, attempts: 1 })
    }

    /// Every blob of the container, page after page until NextMarker is empty (never judged
    /// by a page's length). Bounded: a NextMarker seen before (a looping server), more than
    /// `max_pages` pages, `stop` raised (the caller was cancelled) or `deadline` passed end it
    /// with an error between pages.
    pub fn list_all(&self, stop: &AtomicBool, deadline: Option<Instant>) -> Result<Vec<BlobItem>, AzureError> {
        let (mut all, mut marker, mut seen) = (vec![], None::<String>, HashSet::new());
        let mut pages = 0u64;
        let refuse = |message: String| AzureError {
            kind: AzureErrorKind::Protocol,
            operation: "list blobs",
            target: self.container_target(),
            status: None,
            code: None,
            message,
            hint: None,
            attempts: 1,
        };
        loop {
            let page = self.list_page(marker.as_deref())?;
            pages += 1;
            all.extend(page.blobs);
            let Some(next) = page.next_marker else { return Ok(all) };
            if !seen.insert(next.clone()) {
                return Err(refuse(format!("the server answered page {pages} with a NextMarker it had already given: it is looping, so the listing stopped")));
            }
            if pages >= self.options.max_pages {
                return Err(refuse(format!(
                    "the container lists more than {pages} pages of {} blobs (max_list_pages): refused as a looping server",
                    self.options.page_size
                )));
            }
            if stop.load(Ordering::SeqCst) {
                return Err(refuse("the listing was stopped (the statement ended)".into()));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(refuse(format!("still listing after {pages} pages when the run's time ran out (max_run_seconds)")));
            }
            marker = Some(next);
        }
    }

    /// Get Blob: the bytes with their ETag and sha256, or NotModified when `if_none_match`
    /// still matches. A blob over the size cap is refused on its Content-Length, before its
    /// body is read; a body that runs past the cap anyway stops at the cap.
    pub fn get(&self, name: &str, if_none_match: Option<&str>) -> Result<Fetched, AzureError> {
        let mut headers = vec![];
        if let Some(etag) = if_none_match {
            headers.push(("If-None-Match", format!("\"{}\"", http::bare_etag(etag))));
        }
        let target = format!("{name:?}");
        let response = self.send("get blob", &target, &self.container.blob_url(name), "", &headers, &self.get_requests)?;
        if response.status() == 304 {
            return Ok(Fetched::NotModified);
        }
        let cap = self.options.max_blob_bytes;
        if let Some(len) = http::content_length(&response).filter(|len| *len > cap) {
            let message = format!("the blob is {len} bytes, over the size cap of {cap} bytes (max_blob_bytes)");
            return Err(AzureError { kind: AzureErrorKind::TooLarge, operation: "get blob", target, status: None, code: None, message, hint: None, attempts: 1 });
        }
        let etag = response.header("ETag").map(|e| http::bare_etag(e).to_string()).unwrap_or_default();
        let bytes = http::read_capped(response, cap).map_err(|e| Self::body_error("get blob", target.clone(), e, cap))?;
        let sha256 = crate::digest::sha256_hex(&bytes);
        Ok(Fetched::Blob { bytes, etag, sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_and_error_bodies() {
        assert_eq!(url_path("http://127.0.0.1:10000/devstoreaccount1/data"), "/devstoreaccount1/data");
        assert_eq!(url_path("https://a.blob.core.windows.net/c/x%20y"), "/c/x%20y");
        let body = "<?xml version=\"1.0\"?><Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.\nRequestId:1\nTime:2</Message></Error>";
        assert_eq!(xml_element(body, "Code").as_deref(), Some("BlobNotFound"));
        assert_eq!(first_line(&xml_element(body, "Message").unwrap()), "The specified blob does not exist.");
    }

    #[test]
    fn a_redirect_is_a_failure_that_is_not_retried() {
        let (kind, status, _, message, _) = azure_failure(Failure::Redirect { status: 301 }, Duration::from_secs(1));
        assert_eq!((kind, status), (AzureErrorKind::Protocol, Some(301)));
        assert!(message.contains("redirect"));
        let error = AzureError { kind, operation: "get blob", target: "x".into(), status, code: None, message, hint: None, attempts: 1 };
        assert!(!error.is_transient());
    }
}
