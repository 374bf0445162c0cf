//! HTTP under every client here (Azure Blob, Supabase Auth, Supabase Storage): one agent
//! recipe (timeouts, redirects refused), one retry loop, percent-encoding, capped reads, and
//! one way to turn an answer into a failure: the status with the server's error code, its
//! Retry-After and its body read up to a cap, or the transport's kind without its text (which
//! names the URL, and with it a SAS). Each client only says what its service's answers mean.
//! Pure Rust: worker threads use all of it.

pub mod encode;
pub mod retry;

pub use retry::{Attempted, RetryPolicy};

use std::io::Read;
use std::time::Duration;

/// Error bodies are read up to this much: enough for any error document, never a flood.
pub const ERROR_BODY_CAP: u64 = 64 * 1024;

/// TLS that trusts the bundled public roots and the certificates of `ca_bundle` (PEM), as
/// behind a TLS-inspecting proxy or with a private CA.
pub fn tls_trusting(ca_bundle: &[u8]) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(ca_bundle) {
        let cert = cert.map_err(|e| format!("the CA bundle is not PEM: {e}"))?;
        roots.add(cert).map_err(|e| format!("the CA bundle holds a certificate that cannot be used: {e}"))?;
        added += 1;
    }
    if added == 0 {
        return Err("the CA bundle holds no certificate".into());
    }
    let config = rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// An agent that never follows a redirect: a redirect would carry the credentials (a Shared
/// Key signature, the service-role key) to another address, or hide a failed write. `tls`:
/// roots beyond the bundled ones (`tls_trusting`).
pub fn agent(connect_timeout: Duration, request_timeout: Duration, tls: Option<std::sync::Arc<rustls::ClientConfig>>) -> ureq::Agent {
    let builder = ureq::AgentBuilder::new()
        .timeout_connect(connect_timeout)
        .timeout(request_timeout)
        .redirects(0)
        .user_agent(concat!("azure_sync/", env!("CARGO_PKG_VERSION")));
    match tls {
        Some(config) => builder.tls_config(config),
        None => builder,
    }
    .build()
}

/// A request that brought no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An error status. `error_code` is the service's own code header, when it sent one.
    Status { status: u16, retry_after: Option<Duration>, error_code: Option<String>, body: Vec<u8> },
    /// A 3xx answer, never followed.
    Redirect { status: u16 },
    /// Connection refused or reset, DNS, or the time ran out.
    Transport { timed_out: bool, message: String },
    /// The server's certificate is not trusted (or TLS failed otherwise): no retry mends it.
    Tls { message: String },
}

impl Failure {
    /// What a redirect failure says, the same for every client.
    pub const REDIRECT_REFUSED: &'static str = "the server answered with a redirect, which is never followed (it would carry the credentials elsewhere)";
}

/// Send `request`, with `body` (content type, bytes) when given. `error_code_header` names the
/// header where the service puts its error code (`x-ms-error-code`, `x-sb-error-code`).
pub fn send(request: ureq::Request, body: Option<(&str, &[u8])>, error_code_header: &str) -> Result<ureq::Response, Failure> {
    let result = match body {
        None => request.call(),
        Some((content_type, bytes)) => request.set("Content-Type", content_type).send_bytes(bytes),
    };
    match result {
        // 304 answers a conditional request; every other 3xx is a redirect.
        Ok(response) if (300..400).contains(&response.status()) && response.status() != 304 => Err(Failure::Redirect { status: response.status() }),
        Ok(response) => Ok(response),
        Err(ureq::Error::Status(status, response)) => {
            let retry_after = response.header("Retry-After").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
            let error_code = response.header(error_code_header).map(str::to_string);
            let body = read_capped(response, ERROR_BODY_CAP).unwrap_or_default();
            Err(Failure::Status { status, retry_after, error_code, body })
        }
        Err(ureq::Error::Transport(t)) => Err(transport_failure(&t)),
    }
}

fn transport_failure(t: &ureq::Transport) -> Failure {
    let mut timed_out = t.to_string().contains("timed out");
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    let mut certificate = None;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            timed_out |= matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock);
            // rustls reports through an io::Error, whose source() skips the error it wraps.
            if let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                certificate = Some(tls.to_string());
            }
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            certificate = Some(tls.to_string());
        }
        source = e.source();
    }
    // The transport's Display names the URL: keep only its kind and detail.
    let mut message = match t.message() {
        Some(m) => format!("{}: {m}", t.kind()),
        None => t.kind().to_string(),
    };
    if let Some(tls) = certificate {
        message = format!(
            "{message}: {tls}; a certificate from a private CA or a TLS-inspecting proxy is trusted with configure(ca_bundle => '/path/to/ca.pem')"
        );
        return Failure::Tls { message };
    }
    Failure::Transport { timed_out, message }
}

/// Why a body could not be read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// More than the cap arrived (whatever Content-Length said, or without one).
    TooLarge,
    Io(std::io::ErrorKind),
}

/// The answer's Content-Length, when it sent a readable one.
pub fn content_length(response: &ureq::Response) -> Option<u64> {
    response.header("Content-Length").and_then(|v| v.trim().parse().ok())
}

/// Read a body of at most `cap` bytes. The cap holds while the body streams, so a body
/// without Content-Length (or with a false one) stops at the cap instead of filling memory.
pub fn read_capped(response: ureq::Response, cap: u64) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::with_capacity(content_length(&response).unwrap_or(0).min(cap) as usize);
    response.into_reader().take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| BodyError::Io(e.kind()))?;
    if bytes.len() as u64 > cap {
        return Err(BodyError::TooLarge);
    }
    Ok(bytes)
}

/// An ETag without quotes or a weak marker: listings send them bare, headers quoted.
pub fn bare_etag(etag: &str) -> &str {
    etag.trim().trim_start_matches("W/").trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_bare() {
        assert_eq!(bare_etag("\"0x8D1\""), "0x8D1");
        assert_eq!(bare_etag("W/\"0x8D1\""), "0x8D1");
        assert_eq!(bare_etag("0x8D1"), "0x8D1");
    }
}
