//! Google service-account authentication for Vertex AI: an RS256-signed JWT assertion exchanged at the key
//! file's `token_uri` for an OAuth 2.0 access token (RFC 7523's JWT-bearer grant, as Google's `google-auth`
//! libraries do it), cached until shortly before it expires.
//!
//! - The assertion: header `{"alg":"RS256","typ":"JWT","kid":<private_key_id>}`, claims `iss` = the key's
//!   `client_email`, `scope` = [`CLOUD_PLATFORM_SCOPE`], `aud` = the key's `token_uri`, `iat` = now and `exp` =
//!   now + 1 h, signed with the key's RSA private key (PKCS#1 v1.5, SHA-256) through aws-lc-rs.
//! - The token is reused until [`refresh_margin`] before it expires (5 minutes, or half its lifetime when that
//!   is shorter); concurrent callers that find it stale wait for one refresh (single flight) instead of each
//!   fetching their own.
//! - A refused assertion is an [`ErrorKind::Auth`] error naming the `token_uri`; the private key, the
//!   assertion and the token never appear in an error, a log line or `Debug` output (each is registered with
//!   [`llm_core::register_secret`]).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llm_core::{ApiKey, Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// The OAuth scope of every Vertex AI call.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The `grant_type` of the token request (form-encoded).
const JWT_BEARER_GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

/// How long an assertion is valid (Google's maximum).
const ASSERTION_LIFETIME: u64 = 3600;

/// A service-account key file (the JSON the Cloud console downloads). `Debug` never prints the private key.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// `client_email`: the JWT's issuer.
    pub client_email: String,
    /// `private_key_id`: the JWT's `kid`.
    pub private_key_id: Option<String>,
    /// `token_uri`: where assertions are exchanged (and their audience).
    pub token_uri: String,
    /// `project_id`: the default Vertex project.
    pub project_id: Option<String>,
    private_key: ApiKey,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .field("private_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    project_id: Option<String>,
}

fn config(msg: impl Into<String>) -> Error {
    Error::config(msg).with_provider("vertex_ai")
}

impl ServiceAccountKey {
    /// Reads a key file's JSON text. Only `"type": "service_account"` keys are taken (user credentials and
    /// workload identity federation are not supported).
    pub fn from_json(text: &str) -> Result<Self> {
        let f: KeyFile = serde_json::from_str(text)
            .map_err(|e| config(format!("the vertex credentials are not a service-account json key: {e}")))?;
        if let Some(pem) = &f.private_key {
            // The key's lines too, should one ever be quoted on its own.
            for line in pem.lines().filter(|l| !l.starts_with("-----")) {
                llm_core::register_secret(line);
            }
        }
        match f.kind.as_deref() {
            Some("service_account") | None => {}
            Some(other) => {
                return Err(config(format!(
                    "vertex credentials of type {other:?} are not supported: use a service-account key file"
                )));
            }
        }
        let missing = |field: &str| config(format!("the service-account key has no {field}"));
        Ok(Self {
            client_email: f.client_email.ok_or_else(|| missing("client_email"))?,
            private_key_id: f.private_key_id,
            token_uri: f.token_uri.unwrap_or_else(|| "https://oauth2.googleapis.com/token".to_owned()),
            project_id: f.project_id,
            private_key: ApiKey::new(f.private_key.ok_or_else(|| missing("private_key"))?),
        })
    }

    /// Reads a key file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            config(format!("cannot read the vertex credentials file {}: {e}", path.display())).with_source(e)
        })?;
        Self::from_json(&text)
    }

    /// LiteLLM's `vertex_credentials`: the path of a key file when one exists there, else the key's JSON text.
    pub fn from_path_or_json(value: &str) -> Result<Self> {
        let trimmed = value.trim();
        if trimmed.starts_with('{') {
            return Self::from_json(trimmed);
        }
        Self::from_file(std::path::Path::new(trimmed))
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
}

/// Signs JWT assertions with a service account's key (RS256 through aws-lc-rs).
pub struct Signer {
    key: ServiceAccountKey,
    pair: aws_lc_rs::signature::RsaKeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("key", &self.key).finish_non_exhaustive()
    }
}

impl Signer {
    /// Parses the key's PEM private key (PKCS#8, `-----BEGIN PRIVATE KEY-----`).
    pub fn new(key: ServiceAccountKey) -> Result<Self> {
        use rustls_pki_types::PrivatePkcs8KeyDer;
        use rustls_pki_types::pem::PemObject as _;
        let der = PrivatePkcs8KeyDer::from_pem_slice(key.private_key.expose().as_bytes())
            .map_err(|_| config("the service-account private_key is not a PKCS#8 PEM key"))?;
        let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|_| config("the service-account private_key is not a usable RSA key"))?;
        Ok(Self { key, pair })
    }

    /// The key.
    pub fn key(&self) -> &ServiceAccountKey {
        &self.key
    }

    /// The signed assertion for a token request issued at `iat` (Unix seconds).
    pub fn assertion(&self, iat: u64) -> Result<String> {
        let header = Header { alg: "RS256", typ: "JWT", kid: self.key.private_key_id.as_deref() };
        let claims = Claims {
            iss: &self.key.client_email,
            scope: CLOUD_PLATFORM_SCOPE,
            aud: &self.key.token_uri,
            exp: iat + ASSERTION_LIFETIME,
            iat,
        };
        let mut out = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?));
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                out.as_bytes(),
                &mut sig,
            )
            .map_err(|_| Error::new(ErrorKind::Auth, "signing the service-account assertion failed"))?;
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(&sig));
        Ok(out)
    }
}

/// How long before its expiry a token is refreshed: 5 minutes, or half its lifetime when that is shorter.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    Duration::from_secs(300).min(lifetime / 2)
}

struct Cached {
    token: ApiKey,
    refresh_at: Instant,
    expires_at: Instant,
}

/// Access tokens for a service account: fetched at the key's `token_uri`, cached, refreshed before expiry,
/// one refresh at a time. Cheap to share (`Arc`).
pub struct TokenSource {
    signer: Signer,
    http: reqwest::Client,
    timeout: Duration,
    cached: std::sync::Mutex<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").field("key", self.signer.key()).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenSource {
    /// A source for this key, fetching over `http`, each token request within `timeout`.
    pub fn new(key: ServiceAccountKey, http: reqwest::Client, timeout: Duration) -> Result<Self> {
        Ok(Self {
            signer: Signer::new(key)?,
            http,
            timeout,
            cached: std::sync::Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        })
    }

    /// The key.
    pub fn key(&self) -> &ServiceAccountKey {
        self.signer.key()
    }

    fn fresh(&self) -> Option<ApiKey> {
        let cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cached.as_ref().filter(|c| Instant::now() < c.refresh_at).map(|c| c.token.clone())
    }

    /// Forgets the cached token (after the API refused it), so the next call fetches a new one.
    pub fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    pub async fn token(&self) -> Result<ApiKey> {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let _one_at_a_time = self.refresh.lock().await;
        // Another caller may have refreshed it while this one waited.
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        match self.fetch().await {
            Ok(c) => {
                let token = c.token.clone();
                *self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(c);
                Ok(token)
            }
            Err(e) => {
                // A token that has not expired yet still works: keep using it until it does.
                let cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match cached.as_ref().filter(|c| Instant::now() + Duration::from_secs(10) < c.expires_at) {
                    Some(c) => {
                        tracing::warn!(error = %e, "vertex_ai: refreshing the access token failed; the current one is still valid");
                        Ok(c.token.clone())
                    }
                    None => Err(e),
                }
            }
        }
    }

    async fn fetch(&self) -> Result<Cached> {
        let uri = self.signer.key().token_uri.as_str();
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let assertion = self.signer.assertion(iat)?;
        llm_core::register_secret(&assertion);
        let started = Instant::now();
        let failed = |kind: ErrorKind, what: String| {
            Error::new(kind, format!("vertex_ai: the token endpoint {uri} {what}")).with_provider("vertex_ai")
        };
        let resp = self
            .http
            .post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type={JWT_BEARER_GRANT}&assertion={assertion}"))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Network };
                failed(kind, format!("could not be reached: {}", e.without_url()))
            })?;
        let status = resp.status().as_u16();
        let body =
            resp.bytes().await.map_err(|e| failed(ErrorKind::Network, format!("failed: {}", e.without_url())))?;
        if !(200..300).contains(&status) {
            let (error, description) =
                serde_json::from_slice::<TokenError>(&body).map(|t| (t.error, t.error_description)).unwrap_or_default();
            let why = match (error, description) {
                (Some(e), Some(d)) => format!("{e}: {d}"),
                (Some(e), None) => e,
                (None, Some(d)) => d,
                (None, None) => format!("http status {status}"),
            };
            // A refused assertion (400/401/403) is an auth failure; the endpoint's own trouble keeps its kind.
            let kind = if matches!(status, 400 | 401 | 403) { ErrorKind::Auth } else { ErrorKind::from_status(status) };
            return Err(failed(kind, format!("refused the service account {}: {why}", self.signer.key().client_email))
                .with_status(status));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| failed(ErrorKind::Auth, "answered without an access_token".to_owned()))?;
        if answer.access_token.trim().is_empty() {
            return Err(failed(ErrorKind::Auth, "answered an empty access_token".to_owned()));
        }
        // Google's tokens live an hour; a longer claim is capped at a day (and never overflows the clock).
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(ASSERTION_LIFETIME).min(86_400));
        Ok(Cached {
            token: ApiKey::new(answer.access_token),
            refresh_at: started + lifetime - refresh_margin(lifetime),
            expires_at: started + lifetime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_fake_upstream::wire::google;

    fn key(token_uri: &str) -> ServiceAccountKey {
        ServiceAccountKey::from_json(&google::service_account_json(token_uri)).unwrap()
    }

    /// A known answer: RSASSA-PKCS1-v1_5 is deterministic, so the assertion for fixed claims is one exact
    /// string. It was computed independently of this crate, once, by Python (the JSON text and base64url) and
    /// `openssl dgst -sha256 -sign` over `header.claims` with the test-only key, and pasted here.
    #[test]
    fn the_assertion_matches_an_independent_openssl_signature() {
        let signer = Signer::new(key("https://oauth2.googleapis.com/token")).unwrap();
        let expected = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjAxMjM0NTY3ODlhYmNkZWYtdGVzdC1vbmx5In0.\
            eyJpc3MiOiJsbG0tcnMtdGVzdC1vbmx5QGxsbS1ycy10ZXN0LmlhbS5nc2VydmljZWFjY291bnQuY29tIiwic2NvcGUiOiJodHRwczov\
            L3d3dy5nb29nbGVhcGlzLmNvbS9hdXRoL2Nsb3VkLXBsYXRmb3JtIiwiYXVkIjoiaHR0cHM6Ly9vYXV0aDIuZ29vZ2xlYXBpcy5jb20v\
            dG9rZW4iLCJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMH0.\
            Ijstx9lfIeS8_r2JiBKQLsU8LMUa5gCINhfsz0bKoxpLNvdr6LYzWBiEJqwzsmue8BptgA4guR_FZSUy1B-QzNp4tDsE9Ay0qcLMvb0Py\
            UW9hz44GgbPb697GJwbEXXhmWgHD_zDasPQT7Y-dRQmzTNhhC7XwQ1NUFa3rSfF2rgI9OVCqWYZwWiBVxkxwjShr3S5nu_NYUqWe-H2Vo\
            a6mciSDJGVwquut2som6YqoWNsTRz9PxY0vuPwiYUsq2pCQW0iz4JBauSwWg1VLdlHImXvuAQZU7Z2I85JKMB0e38uFtDErgPgBgoi3v-\
            I3xYUbO1WqePRIX7ayFS6dTPu1A";
        assert_eq!(signer.assertion(1_700_000_000).unwrap(), expected);
    }

    #[test]
    fn the_private_key_never_shows() {
        let k = key("http://127.0.0.1:1/token");
        let pem_line = google::TEST_PRIVATE_KEY_PEM.lines().nth(1).unwrap();
        for shown in [format!("{k:?}"), format!("{:?}", Signer::new(k.clone()).unwrap())] {
            assert!(shown.contains("llm-rs-test-only@") && !shown.contains(pem_line), "{shown}");
        }
        assert_eq!(llm_core::redact_secrets(&format!("oops {pem_line}")), "oops <redacted>");
    }

    #[test]
    fn other_credential_types_and_broken_keys_are_config_errors() {
        let e = ServiceAccountKey::from_json(r#"{"type":"authorized_user","client_id":"x"}"#).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Config);
        assert!(e.message().contains("\"authorized_user\""), "{}", e.message());
        let e = ServiceAccountKey::from_json(r#"{"type":"service_account","private_key":"x"}"#).unwrap_err();
        assert_eq!(e.message(), "the service-account key has no client_email");
        let bad = r#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
        let e = Signer::new(ServiceAccountKey::from_json(bad).unwrap()).unwrap_err();
        assert_eq!(e.message(), "the service-account private_key is not a usable RSA key");
        let e = ServiceAccountKey::from_path_or_json("/nonexistent/key.json").unwrap_err();
        assert!(e.message().starts_with("cannot read the vertex credentials file /nonexistent/key.json"));
    }

    #[test]
    fn the_refresh_margin_is_five_minutes_or_half_the_lifetime() {
        assert_eq!(refresh_margin(Duration::from_secs(3600)), Duration::from_secs(300));
        assert_eq!(refresh_margin(Duration::from_secs(2)), Duration::from_secs(1));
    }
}
