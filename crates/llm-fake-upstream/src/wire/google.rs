//! Google Cloud's OAuth 2.0 token endpoint for service accounts (the JWT-bearer grant of RFC 7523, as
//! `oauth2.googleapis.com/token` speaks it) and a bearer-token check in front of Vertex AI routes.
//!
//! [`TokenEndpoint`] verifies each assertion it is sent: the RS256 signature with the public key of the
//! **test-only** key pair in `test_data/google/` (never use it for anything real), the header (`alg`, `typ`,
//! `kid`) and the claims (`iss`, `scope`, `aud`, `iat`, `exp`); it answers `{"access_token", "expires_in",
//! "token_type": "Bearer"}` or Google's `invalid_grant` error. [`TokenEndpoint::protect`] answers 401 (Google's
//! `UNAUTHENTICATED` error) to a request under a path whose bearer token it did not issue or that has expired,
//! and lets the others through to the scripted replies. Vertex's Gemini answers are Gemini's
//! ([`super::gemini`]), its Claude answers Anthropic's ([`super::anthropic`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::{FakeUpstream, RecordedRequest, Reply};

/// The private key (PKCS#8 PEM) of the TEST-ONLY service account. Published on purpose; authenticates nothing
/// but this fake.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../../test_data/google/TEST_ONLY_service_account_key.pem");
/// Its public key, PKCS#1 `RSAPublicKey` DER.
pub const TEST_PUBLIC_KEY_DER: &[u8] =
    include_bytes!("../../test_data/google/TEST_ONLY_service_account_public_key.der");
/// The key id (`private_key_id` in the key file, `kid` in the JWT header).
pub const TEST_PRIVATE_KEY_ID: &str = "0123456789abcdef-test-only";
/// The service account's email (`client_email`, the JWT's `iss`).
pub const TEST_CLIENT_EMAIL: &str = "llm-rs-test-only@llm-rs-test.iam.gserviceaccount.com";
/// The key file's `project_id`.
pub const TEST_PROJECT_ID: &str = "llm-rs-test-project";
/// The scope every assertion must ask for.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The grant type of the token request.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A service-account key file (the JSON the Cloud console downloads) for the test-only key, whose `token_uri`
/// is `token_uri` (point it at a [`TokenEndpoint`]).
pub fn service_account_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": TEST_PROJECT_ID,
        "private_key_id": TEST_PRIVATE_KEY_ID,
        "private_key": TEST_PRIVATE_KEY_PEM,
        "client_email": TEST_CLIENT_EMAIL,
        "client_id": "100000000000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/llm-rs-test-only",
        "universe_domain": "googleapis.com"
    })
    .to_string()
}

/// A Google RPC error body (as Vertex AI sends it).
pub fn error(status: u16, rpc_status: &str, message: &str) -> Reply {
    super::gemini::error(status, rpc_status, message)
}

#[derive(Debug)]
struct Issued {
    token: String,
    at: Instant,
    lifetime: Duration,
}

#[derive(Debug)]
struct State {
    audience: String,
    expires_in: VecDeque<u64>,
    default_expires_in: u64,
    issued: Vec<Issued>,
    claims: Vec<Value>,
    rejected: Vec<String>,
    unauthorized: Vec<String>,
    delay: Duration,
}

/// A fake OAuth token endpoint that verifies JWT assertions signed with the test-only key. Cheap to clone
/// (shared state).
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TokenEndpoint {
    /// An endpoint that accepts assertions whose `aud` is `audience` (the key file's `token_uri`) and issues
    /// tokens valid for an hour.
    pub fn new(audience: &str) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                audience: audience.to_owned(),
                expires_in: VecDeque::new(),
                default_expires_in: 3600,
                issued: Vec::new(),
                claims: Vec::new(),
                rejected: Vec::new(),
                unauthorized: Vec::new(),
                delay: Duration::ZERO,
            })),
        }
    }

    /// Answers token requests under `path` on `server`.
    pub fn install(&self, server: &FakeUpstream, path: &str) {
        let me = self.clone();
        server.handle(path, move |r| Some(me.answer(r)));
    }

    /// Answers 401 to requests under `path_prefix` without a valid bearer token from this endpoint.
    pub fn protect(&self, server: &FakeUpstream, path_prefix: &str) {
        let me = self.clone();
        server.handle(path_prefix, move |r| me.check_bearer(r));
    }

    /// The lifetime (`expires_in`, seconds) of the next token issued; later ones get the default (3600) unless
    /// more are queued.
    pub fn push_expires_in(&self, seconds: u64) {
        lock(&self.state).expires_in.push_back(seconds);
    }

    /// Waits this long before each token answer (to make concurrent callers overlap).
    pub fn delay_answers(&self, wait: Duration) {
        lock(&self.state).delay = wait;
    }

    /// How many tokens were issued.
    pub fn tokens_issued(&self) -> usize {
        lock(&self.state).issued.len()
    }

    /// The tokens issued, in order.
    pub fn tokens(&self) -> Vec<String> {
        lock(&self.state).issued.iter().map(|i| i.token.clone()).collect()
    }

    /// The claims of every assertion that verified, in order.
    pub fn claims(&self) -> Vec<Value> {
        lock(&self.state).claims.clone()
    }

    /// Why assertions were rejected, in order.
    pub fn rejections(&self) -> Vec<String> {
        lock(&self.state).rejected.clone()
    }

    /// The paths answered 401 by [`TokenEndpoint::protect`], in order.
    pub fn unauthorized(&self) -> Vec<String> {
        lock(&self.state).unauthorized.clone()
    }

    fn answer(&self, r: &RecordedRequest) -> Reply {
        let (audience, delay) = {
            let s = lock(&self.state);
            (s.audience.clone(), s.delay)
        };
        self.verdict(r, &audience).delay(delay)
    }

    fn verdict(&self, r: &RecordedRequest, audience: &str) -> Reply {
        match verify_request(r, audience) {
            Ok(claims) => {
                let mut s = lock(&self.state);
                let lifetime = s.expires_in.pop_front().unwrap_or(s.default_expires_in);
                let token = format!("ya29.test-only-token-{}", s.issued.len() + 1);
                s.issued.push(Issued {
                    token: token.clone(),
                    at: Instant::now(),
                    lifetime: Duration::from_secs(lifetime),
                });
                s.claims.push(claims);
                Reply::json_value(200, &json!({"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}))
            }
            Err(why) => {
                lock(&self.state).rejected.push(why.clone());
                Reply::json_value(400, &json!({"error": "invalid_grant", "error_description": why}))
            }
        }
    }

    fn check_bearer(&self, r: &RecordedRequest) -> Option<Reply> {
        let token = r.header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        let mut s = lock(&self.state);
        let valid = token.is_some_and(|t| s.issued.iter().any(|i| i.token == t && i.at.elapsed() < i.lifetime));
        if valid {
            return None;
        }
        s.unauthorized.push(r.path.clone());
        Some(error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other \
             valid authentication credential.",
        ))
    }
}

fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_encoding::percent_decode_str(&v.replace('+', " ")).decode_utf8_lossy().into_owned())
    })
}

fn decode_json(part: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| format!("not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("not json: {e}"))
}

/// Verifies a token request; returns the assertion's claims.
fn verify_request(r: &RecordedRequest, audience: &str) -> Result<Value, String> {
    if r.method != "POST" {
        return Err(format!("method {} instead of POST", r.method));
    }
    let ct = r.header("content-type").unwrap_or_default();
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(format!("content-type {ct:?} instead of application/x-www-form-urlencoded"));
    }
    let body = r.body_text();
    if form_value(&body, "grant_type").as_deref() != Some(JWT_BEARER_GRANT) {
        return Err("grant_type is not the jwt-bearer grant".to_owned());
    }
    let assertion = form_value(&body, "assertion").ok_or("no assertion")?;
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(format!("the assertion has {} parts instead of 3", parts.len()));
    };
    let sig = URL_SAFE_NO_PAD.decode(signature).map_err(|e| format!("signature not base64url: {e}"))?;
    let key = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        TEST_PUBLIC_KEY_DER,
    );
    key.verify(format!("{header}.{claims}").as_bytes(), &sig).map_err(|_| "Invalid JWT Signature.".to_owned())?;
    let header = decode_json(header)?;
    let claims = decode_json(claims)?;
    let want_header = [("alg", "RS256"), ("typ", "JWT"), ("kid", TEST_PRIVATE_KEY_ID)];
    for (k, v) in want_header {
        if header[k] != v {
            return Err(format!("header {k} is {} instead of {v:?}", header[k]));
        }
    }
    let want_claims = [("iss", TEST_CLIENT_EMAIL), ("scope", CLOUD_PLATFORM_SCOPE), ("aud", audience)];
    for (k, v) in want_claims {
        if claims[k] != v {
            return Err(format!("claim {k} is {} instead of {v:?}", claims[k]));
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
        return Err("iat and exp must be integers".to_owned());
    };
    if iat > now + 60 || iat + 300 < now {
        return Err(format!("iat {iat} is too far from now ({now})"));
    }
    if exp <= now || exp <= iat || exp - iat > 3600 {
        return Err(format!("exp {exp} must be after now and at most an hour after iat {iat}"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c";
        assert_eq!(form_value(body, "grant_type").as_deref(), Some(JWT_BEARER_GRANT));
        assert_eq!(form_value(body, "assertion").as_deref(), Some("a.b.c"));
        assert_eq!(form_value(body, "nope"), None);
    }

    #[test]
    fn a_forged_signature_is_rejected() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"0123456789abcdef-test-only"}"#);
        let claims = URL_SAFE_NO_PAD.encode(br#"{"iss":"x"}"#);
        let body =
            format!("grant_type={JWT_BEARER_GRANT}&assertion={header}.{claims}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
        let r = RecordedRequest {
            method: "POST".into(),
            path: "/token".into(),
            query: String::new(),
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: body.into_bytes(),
        };
        assert_eq!(verify_request(&r, "http://x/token"), Err("Invalid JWT Signature.".to_owned()));
    }
}
