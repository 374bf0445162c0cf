//! The blocking Blob client. It holds no Postgres state, so worker threads share it freely.

use super::credentials::{Auth, Container};
use super::error::{AzureError, AzureErrorKind};
use super::listing::{parse_page, BlobItem, ListPage};
use super::retry::{Attempted, RetryPolicy};
use super::{sign, time};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A service version Azurite 3.35 and Azure both accept.
pub const API_VERSION: &str = "2021-12-02";

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// The whole request, body included.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Larger blobs are refused before their body is read.
    pub max_blob_bytes: u64,
    /// `maxresults` per listing page; None lets the service choose (5,000).
    pub page_size: Option<u32>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            max_blob_bytes: 256 * 1024 * 1024,
            page_size: None,
        }
    }
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

impl BlobClient {
    pub fn new(container: Container, options: ClientOptions) -> BlobClient {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(options.connect_timeout)
            .timeout(options.request_timeout)
            // A redirect would carry a Shared Key signature to another URL: never follow one.
            .redirects(0)
            .user_agent(concat!("azure_sync/", env!("CARGO_PKG_VERSION")))
            .build();
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
    fn attempt(&self, url: &str, query: &str, headers: &[(&str, String)]) -> Result<ureq::Response, (AzureErrorKind, Option<u16>, Option<String>, String, Option<Duration>)> {
        let mut full_query = query.to_string();
        let mut all_headers: Vec<(&str, String)> = headers.to_vec();
        all_headers.push(("x-ms-version", API_VERSION.to_string()));
        match &self.container.auth {
            Auth::Sas(token) => {
                if !full_query.is_empty() {
                    full_query.push('&');
                }
                full_query.push_str(&token.query());
            }
            Auth::SharedKey { account, key } => {
                all_headers.push(("x-ms-date", time::http_date(time::now_unix())));
                let borrowed: Vec<(&str, &str)> = all_headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let to_sign = sign::string_to_sign("GET", account, url_path(url), query, &borrowed);
                all_headers.push(("Authorization", sign::authorization(account, key, &to_sign)));
            }
        }
        let target = if full_query.is_empty() { url.to_string() } else { format!("{url}?{full_query}") };
        let mut req = self.agent.get(&target);
        for (k, v) in &all_headers {
            req = req.set(k, v);
        }
        match req.call() {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(status, resp)) => {
                let retry_after = resp.header("Retry-After").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
                let header_code = resp.header("x-ms-error-code").map(str::to_string);
                let mut body = String::new();
                let _ = resp.into_reader().take(64 * 1024).read_to_string(&mut body);
                let code = header_code.or_else(|| xml_element(&body, "Code"));
                let mut message = xml_element(&body, "Message").map(|m| first_line(&m)).unwrap_or_default();
                if let Some(detail) = xml_element(&body, "AuthenticationErrorDetail") {
                    message = format!("{message} ({})", first_line(&detail));
                }
                let kind = match status {
                    401 | 403 => AzureErrorKind::Auth,
                    404 => AzureErrorKind::NotFound,
                    _ => AzureErrorKind::Http,
                };
                Err((kind, Some(status), code, message, retry_after))
            }
            Err(ureq::Error::Transport(t)) => {
                let timed_out = {
                    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&t);
                    let mut found = false;
                    while let Some(e) = src {
                        if let Some(io) = e.downcast_ref::<std::io::Error>() {
                            found |= matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock);
                        }
                        src = e.source();
                    }
                    found || t.to_string().contains("timed out")
                };
                // The transport's own text names the URL (and so the SAS): say the kind only.
                let message = match t.message() {
                    Some(m) => format!("{}: {m}", t.kind()),
                    None => t.kind().to_string(),
                };
                let kind = if timed_out { AzureErrorKind::Timeout } else { AzureErrorKind::Transport };
                let message = if timed_out { format!("no answer within {:?}", self.options.request_timeout) } else { message };
                Err((kind, None, None, message, None))
            }
        }
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
        match &self.container.auth {
            Auth::Sas(token) => {
                let sp = token.permissions().unwrap_or("");
                let se = token.expiry_text().unwrap_or("?");
                let needed = if operation == "list blobs" { 'l' } else { 'r' };
                if token.expiry().is_some_and(|t| t.0 / 1_000_000 < time::now_unix()) {
                    format!("the SAS token was rejected: it expired at {se}; issue a new one (se in the future, sp with r and l)")
                } else if !sp.contains(needed) {
                    let what = if needed == 'l' { "list" } else { "read" };
                    format!("the SAS token was rejected: it lacks the {what} permission (sp={sp}; {operation} needs {needed}, the sync needs r and l)")
                } else {
                    format!("the SAS token was rejected: check its expiry (se={se}) and permissions (sp={sp}; sp needs r and l), and that it was made for this container")
                }
            }
            Auth::SharedKey { account, .. } => format!("the account key of {account} was rejected: check AccountName and AccountKey"),
        }
    }

    fn container_target(&self) -> String {
        format!("of container {:?}", self.container.name)
    }

    /// One page of List Blobs.
    pub fn list_page(&self, marker: Option<&str>) -> Result<ListPage, AzureError> {
        let mut query = "restype=container&comp=list".to_string();
        if let Some(n) = self.options.page_size {
            query.push_str(&format!("&maxresults={n}"));
        }
        if let Some(m) = marker {
            query.push_str(&format!("&marker={}", super::encode::percent_encode(m, false)));
        }
        let target = self.container_target();
        let resp = self.send("list blobs", &target, &self.container.url(), &query, &[], &self.list_requests)?;
        let mut body = vec![];
        resp.into_reader().read_to_end(&mut body).map_err(|e| AzureError {
            kind: AzureErrorKind::Transport,
            operation: "list blobs",
            target: target.clone(),
            status: None,
            code: None,
            message: format!("reading the answer failed: {}", e.kind()),
            hint: None,
            attempts: 1,
        })?;
        parse_page(&body).map_err(|message| AzureError { kind: AzureErrorKind::Protocol, operation: "list blobs", target, status: None, code: None, message, hint: None, attempts: 1 })
    }

    /// Every blob of the container, page after page until NextMarker is empty (never judged
    /// by a page's length). `between_pages` runs after each page with the count so far: the
    /// caller checks for cancellation and reports progress there.
    pub fn list_all(&self, mut between_pages: impl FnMut(usize)) -> Result<Vec<BlobItem>, AzureError> {
        let mut all = vec![];
        let mut marker: Option<String> = None;
        loop {
            let page = self.list_page(marker.as_deref())?;
            all.extend(page.blobs);
            between_pages(all.len());
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => return Ok(all),
            }
        }
    }

    /// Get Blob: the bytes with their ETag and sha256, or NotModified when `if_none_match`
    /// still matches. A blob over the size cap is refused on its Content-Length, before its
    /// body is read; a body that runs past the cap anyway stops at the cap.
    pub fn get(&self, name: &str, if_none_match: Option<&str>) -> Result<Fetched, AzureError> {
        let mut headers = vec![];
        if let Some(etag) = if_none_match {
            headers.push(("If-None-Match", format!("\"{}\"", super::super::plan::blobs::strip_quotes(etag))));
        }
        let target = format!("{name:?}");
        let resp = self.send("get blob", &target, &self.container.blob_url(name), "", &headers, &self.get_requests)?;
        if resp.status() == 304 {
            return Ok(Fetched::NotModified);
        }
        let cap = self.options.max_blob_bytes;
        let too_large = |size: String| AzureError {
            kind: AzureErrorKind::TooLarge,
            operation: "get blob",
            target: target.clone(),
            status: None,
            code: None,
            message: format!("the blob is {size}, over the size cap of {cap} bytes (max_blob_bytes)"),
            hint: None,
            attempts: 1,
        };
        if let Some(len) = resp.header("Content-Length").and_then(|v| v.trim().parse::<u64>().ok()) {
            if len > cap {
                return Err(too_large(format!("{len} bytes")));
            }
        }
        let etag = resp.header("ETag").map(|e| super::super::plan::blobs::strip_quotes(e).to_string()).unwrap_or_default();
        let mut bytes = vec![];
        resp.into_reader().take(cap + 1).read_to_end(&mut bytes).map_err(|e| AzureError {
            kind: if e.kind() == std::io::ErrorKind::TimedOut { AzureErrorKind::Timeout } else { AzureErrorKind::Transport },
            operation: "get blob",
            target: target.clone(),
            status: None,
            code: None,
            message: format!("reading the body failed: {}", e.kind()),
            hint: None,
            attempts: 1,
        })?;
        if bytes.len() as u64 > cap {
            return Err(too_large("larger than the cap".into()));
        }
        let sha256 = crate::sha256_hex(&bytes);
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
}
