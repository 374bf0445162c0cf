//! Secrets never leave the extension in text: SAS signatures, account keys, bearer tokens and
//! every configured secret value are replaced by `*****` (what the Azure SDKs log) in anything
//! we print: errors, NOTICEs, sync_jobs, pg_stat_activity. And nothing we print can carry a NUL,
//! which PostgreSQL's text cannot hold: it is spelled `\u0000` instead, so a report about
//! hostile input is always written.

use std::sync::Mutex;

pub const MASK: &str = "*****";

/// Secret values known to this backend (loaded from the configuration), scrubbed verbatim
/// wherever they turn up, whatever pattern they do or do not match.
static KNOWN_SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remember a secret so that `scrub` removes it from any text. Short values are ignored:
/// masking every "a" in a message would help nobody.
pub fn register_secret(value: &str) {
    if value.len() < 8 {
        return;
    }
    let mut known = KNOWN_SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_string());
        // Longest first, so a secret containing another is masked whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// Replace the value after each `key` (ASCII case-insensitive) up to a delimiter.
fn mask_after(text: &str, key: &str, delimiters: &[char]) -> String {
    let lower = text.to_ascii_lowercase();
    let key_lower = key.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = lower[i..].find(&key_lower) {
        let start = i + found + key.len();
        out.push_str(&text[i..start]);
        let rest = &text[start..];
        let end = rest.find(|c: char| c.is_whitespace() || delimiters.contains(&c)).unwrap_or(rest.len());
        if end > 0 {
            out.push_str(MASK);
        }
        i = start + end;
    }
    out.push_str(&text[i..]);
    out
}

/// Mask the credentials in any text: URLs with SAS tokens, connection strings, headers.
pub fn scrub(text: &str) -> String {
    let mut t = mask_after(text, "sig=", &['&', '"', '\'', ';', '<', '>', ')']);
    t = mask_after(&t, "AccountKey=", &[';', '"', '\'']);
    t = mask_after(&t, "SharedAccessSignature=", &[';', '"', '\'']);
    t = mask_after(&t, "Bearer ", &['"', '\'', ',', ';']);
    t = mask_after(&t, "apikey: ", &['"', '\'', ',', ';']);
    t = mask_after(&t, "SharedKey ", &['"', '\'', ',', ';']);
    let known = KNOWN_SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    for secret in known.iter() {
        if t.contains(secret.as_str()) {
            t = t.replace(secret.as_str(), MASK);
        }
    }
    if t.contains('\0') {
        t = t.replace('\0', "\\u0000");
    }
    t
}

/// `scrub` every string (and key) of a JSON value: a summary on its way into jsonb.
pub fn scrub_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => *s = scrub(s),
        Value::Array(items) => items.iter_mut().for_each(scrub_json),
        Value::Object(fields) => {
            let scrubbed: serde_json::Map<String, Value> = std::mem::take(fields)
                .into_iter()
                .map(|(k, mut v)| {
                    scrub_json(&mut v);
                    (scrub(&k), v)
                })
                .collect();
            *fields = scrubbed;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_signatures_are_masked_anywhere() {
        let url = "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=rl&se=2030-01-01&sig=abc%2Bdef%3D&sr=c";
        assert_eq!(scrub(url), "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=rl&se=2030-01-01&sig=*****&sr=c");
        assert_eq!(scrub("GET ...?SIG=xyz failed"), "GET ...?SIG=***** failed");
    }

    #[test]
    fn keys_and_tokens_are_masked() {
        let cs = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFy+/==;EndpointSuffix=core.windows.net";
        assert_eq!(scrub(cs), "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=*****;EndpointSuffix=core.windows.net");
        assert_eq!(scrub("Authorization: Bearer eyJhbGciOi.x.y"), "Authorization: Bearer *****");
        assert_eq!(scrub("Authorization: SharedKey acct:c2lnbmF0dXJl"), "Authorization: SharedKey *****");
    }

    #[test]
    fn nul_is_spelled_out_everywhere() {
        assert_eq!(scrub("Email \"a\0b\" refused"), "Email \"a\\u0000b\" refused");
        let mut v = serde_json::json!({"errors": [{"reason": "x\0y"}], "k\0": 1});
        scrub_json(&mut v);
        assert_eq!(v, serde_json::json!({"errors": [{"reason": "x\\u0000y"}], "k\\u0000": 1}));
    }

    #[test]
    fn registered_secrets_are_masked_verbatim() {
        register_secret("s3cr3t-service-role-key-value");
        register_secret("short");
        assert_eq!(scrub("token s3cr3t-service-role-key-value rejected"), "token ***** rejected");
        assert_eq!(scrub("short stays"), "short stays");
    }
}
