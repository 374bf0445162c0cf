//! Where the container is and how to prove we may read it: a container SAS URL, or a
//! connection string (account key, endpoint, or `UseDevelopmentStorage=true`) plus a
//! container name.

use super::AzureError;
use crate::clock::{parse_sas_expiry, Timestamp};
use crate::http::encode::{build_query, parse_query, percent_decode, percent_encode};

pub const DEV_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's published development key (the same in every Azurite and in Microsoft's docs).
pub const DEV_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
pub const DEV_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

/// A SAS token's query parameters, decoded; re-encoded strictly when sent.
#[derive(Clone)]
pub struct SasToken {
    pairs: Vec<(String, String)>,
}

impl SasToken {
    pub fn parse(query: &str) -> Result<SasToken, AzureError> {
        let pairs = parse_query(query.trim_start_matches('?'));
        if !pairs.iter().any(|(k, _)| k == "sig") {
            return Err(AzureError::config("the SAS token has no sig parameter"));
        }
        Ok(SasToken { pairs })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `sp`: the permissions granted (`r` read, `l` list, ...).
    pub fn permissions(&self) -> Option<&str> {
        self.param("sp")
    }

    /// `se`: when the token stops working (a date, or a date and time, in UTC).
    pub fn expiry_text(&self) -> Option<&str> {
        self.param("se")
    }

    pub fn expiry(&self) -> Option<Timestamp> {
        parse_sas_expiry(self.expiry_text()?)
    }

    /// The query string to send: every value percent-encoded (`+` as `%2B`).
    pub fn query(&self) -> String {
        build_query(&self.pairs)
    }
}

impl std::fmt::Debug for SasToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SasToken(*****)")
    }
}

#[derive(Clone)]
/// How the sync proves it may read the container (not to be confused with Supabase Auth,
/// where the sync writes users).
pub enum Credential {
    Sas(SasToken),
    SharedKey { account: String, key: Vec<u8> },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Sas(_) => f.write_str("Credential::Sas(*****)"),
            Credential::SharedKey { account, .. } => write!(f, "Credential::SharedKey({account}, *****)"),
        }
    }
}

/// A container and the means to read it.
#[derive(Clone, Debug)]
pub struct Container {
    /// `scheme://host[:port][/account]`, no trailing slash: the account's blob endpoint.
    pub endpoint: String,
    pub name: String,
    pub credential: Credential,
}

impl Container {
    /// `https://{account}.blob.core.windows.net/{container}?sv=...&sig=...`
    pub fn from_sas_url(url: &str) -> Result<Container, AzureError> {
        let url = url.trim();
        let (base, query) = url.split_once('?').ok_or_else(|| AzureError::config("the container SAS URL has no query string (the SAS token)"))?;
        check_scheme(base)?;
        let base = base.trim_end_matches('/');
        let (endpoint, name) = base.rsplit_once('/').filter(|(e, _)| e.contains("://") && !e.ends_with('/')).ok_or_else(|| {
            AzureError::config("the SAS URL must name a container: https://{account}.blob.core.windows.net/{container}?{sas}")
        })?;
        if name.is_empty() {
            return Err(AzureError::config("the SAS URL names no container"));
        }
        Ok(Container { endpoint: endpoint.to_string(), name: percent_decode(name), credential: Credential::Sas(SasToken::parse(query)?) })
    }

    /// An Azure Storage connection string and a container name.
    pub fn from_connection_string(cs: &str, container: &str) -> Result<Container, AzureError> {
        if container.trim().is_empty() {
            return Err(AzureError::config("a connection string needs a container name (configure azure_container)"));
        }
        let mut fields = std::collections::HashMap::new();
        for part in cs.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| AzureError::config(format!("connection string part without '=' (key {:?})", part.chars().take(24).collect::<String>())))?;
            fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        let get = |k: &str| fields.get(k).map(String::as_str);
        let name = container.trim().to_string();
        if get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(Container {
                endpoint: DEV_ENDPOINT.to_string(),
                name,
                credential: Credential::SharedKey { account: DEV_ACCOUNT.to_string(), key: decode_key(DEV_KEY)? },
            });
        }
        let account = get("accountname");
        let endpoint = match (get("blobendpoint"), account) {
            (Some(e), _) => e.trim_end_matches('/').to_string(),
            (None, Some(a)) => {
                let proto = get("defaultendpointsprotocol").unwrap_or("https");
                let suffix = get("endpointsuffix").unwrap_or("core.windows.net");
                format!("{proto}://{a}.blob.{suffix}")
            }
            (None, None) => return Err(AzureError::config("the connection string has neither AccountName nor BlobEndpoint")),
        };
        check_scheme(&endpoint)?;
        let credential = match (get("sharedaccesssignature"), account, get("accountkey")) {
            (Some(sas), _, _) => Credential::Sas(SasToken::parse(sas)?),
            (None, Some(a), Some(k)) => Credential::SharedKey { account: a.to_string(), key: decode_key(k)? },
            _ => return Err(AzureError::config("the connection string needs AccountName with AccountKey, or SharedAccessSignature")),
        };
        Ok(Container { endpoint, name, credential })
    }

    /// `{endpoint}/{container}` (no query).
    pub fn url(&self) -> String {
        format!("{}/{}", self.endpoint, percent_encode(&self.name, false))
    }

    /// `{endpoint}/{container}/{encoded blob name}` (no query).
    pub fn blob_url(&self, blob: &str) -> String {
        format!("{}/{}", self.url(), percent_encode(blob, true))
    }

    /// Safe to print: the endpoint and container, and which kind of credential.
    pub fn describe(&self) -> String {
        let how = match &self.credential {
            Credential::Sas(s) => format!("SAS token (sp={}, se={})", s.permissions().unwrap_or("?"), s.expiry_text().unwrap_or("?")),
            Credential::SharedKey { account, .. } => format!("Shared Key of account {account}"),
        };
        format!("{} via {how}", self.url())
    }
}

fn check_scheme(url: &str) -> Result<(), AzureError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(AzureError::config("the endpoint must start with https:// (or http:// for Azurite)"))
    }
}

fn decode_key(key: &str) -> Result<Vec<u8>, AzureError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(key.trim()).map_err(|_| AzureError::config("AccountKey is not valid base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_url_splits_into_endpoint_container_and_token() {
        let c = Container::from_sas_url("https://acct.blob.core.windows.net/mc-backup-data?sv=2022-11-02&sr=c&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=ab%2Bc").unwrap();
        assert_eq!(c.endpoint, "https://acct.blob.core.windows.net");
        assert_eq!(c.name, "mc-backup-data");
        let Credential::Sas(t) = &c.credential else { panic!() };
        assert_eq!(t.permissions(), Some("rl"));
        assert_eq!(t.expiry(), Timestamp::parse("2030-01-01T00:00:00Z"));
        assert_eq!(t.query(), "sv=2022-11-02&sr=c&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=ab%2Bc");
        assert!(!format!("{:?}", c).contains("ab+c"));
    }

    #[test]
    fn azurite_sas_url_keeps_the_account_in_the_endpoint() {
        let c = Container::from_sas_url("http://127.0.0.1:10000/devstoreaccount1/data?sv=x&sig=y").unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(c.blob_url("a b.json"), "http://127.0.0.1:10000/devstoreaccount1/data/a%20b.json");
    }

    #[test]
    fn raw_plus_in_a_pasted_sig_is_sent_encoded() {
        let c = Container::from_sas_url("https://a.blob.core.windows.net/c?sp=rl&sig=ab+c/d=").unwrap();
        let Credential::Sas(t) = &c.credential else { panic!() };
        assert_eq!(t.query(), "sp=rl&sig=ab%2Bc%2Fd%3D");
    }

    #[test]
    fn bad_sas_urls_say_what_is_wrong() {
        assert!(Container::from_sas_url("https://a.blob.core.windows.net/c").unwrap_err().message.contains("no query string"));
        assert!(Container::from_sas_url("https://a.blob.core.windows.net/c?sp=rl").unwrap_err().message.contains("no sig"));
        assert!(Container::from_sas_url("ftp://a/c?sig=x").is_err());
        assert!(Container::from_sas_url("https://a.blob.core.windows.net?sig=x").is_err());
    }

    #[test]
    fn connection_strings_of_every_documented_shape() {
        let dev = Container::from_connection_string("UseDevelopmentStorage=true", "data").unwrap();
        assert_eq!(dev.endpoint, DEV_ENDPOINT);
        assert!(matches!(&dev.credential, Credential::SharedKey { account, .. } if account == DEV_ACCOUNT));

        let azurite = format!("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;");
        assert_eq!(Container::from_connection_string(&azurite, "data").unwrap().endpoint, DEV_ENDPOINT);

        let cloud = Container::from_connection_string("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFy;EndpointSuffix=core.windows.net", "c").unwrap();
        assert_eq!(cloud.url(), "https://acct.blob.core.windows.net/c");

        let sas = Container::from_connection_string("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=1&sp=rl&sig=zz", "c").unwrap();
        assert!(matches!(sas.credential, Credential::Sas(_)));

        assert!(Container::from_connection_string("AccountName=a;AccountKey=!!notbase64", "c").unwrap_err().message.contains("base64"));
        assert!(Container::from_connection_string("UseDevelopmentStorage=true", " ").is_err());
        let err = Container::from_connection_string("AccountName=a;AccountKey", "c").unwrap_err();
        assert!(!err.message.contains("Zm9v"));
    }
}
