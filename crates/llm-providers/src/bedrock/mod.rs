//! AWS Bedrock Converse and ConverseStream (PROVIDERS.md §13): `POST /model/{modelId}/converse` and
//! `/converse-stream` (binary event stream), authenticated with SigV4 (signing name `bedrock`, feature
//! `bedrock`, through `aws-sigv4`) or a Bedrock API key (`Authorization: Bearer`, `AWS_BEARER_TOKEN_BEDROCK`).
//!
//! A `converse/` prefix on the model (LiteLLM's `bedrock/converse/<id>`) is removed; the model id is
//! percent-encoded in the path (`:` → `%3A`), and the signer encodes it a second time for the canonical
//! request, as SigV4 requires for non-S3 services.

pub mod decode;
pub mod embed;
pub mod encode;
#[cfg(feature = "bedrock")]
mod sigv4;
pub mod stream;
pub mod wire;

use llm_core::{ApiKey, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ProviderId, Result};

use crate::adapter::{Adapter, HttpCall, StreamDecoder};
use crate::embed::EmbedAnswer;
use crate::framing::Framing;

/// AWS credentials for SigV4. `Debug` never prints the secret or the session token.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key id (`AKIA…`/`ASIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: ApiKey,
    /// The session token of temporary credentials.
    pub session_token: Option<ApiKey>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials").field("access_key_id", &"<redacted>").finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// Credentials from values.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: ApiKey, session_token: Option<ApiKey>) -> Self {
        Self { access_key_id: access_key_id.into(), secret_access_key, session_token }
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Option<Self> {
        let id = std::env::var("AWS_ACCESS_KEY_ID").ok().filter(|v| !v.is_empty())?;
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok().filter(|v| !v.is_empty())?;
        let token = std::env::var("AWS_SESSION_TOKEN").ok().filter(|v| !v.is_empty()).map(ApiKey::new);
        Some(Self::new(id, ApiKey::new(secret), token))
    }
}

/// How Bedrock calls are authenticated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BedrockAuth {
    /// A Bedrock API key.
    Bearer(ApiKey),
    /// SigV4 with these credentials.
    SigV4(AwsCredentials),
}

/// The Bedrock adapter.
#[derive(Debug, Clone)]
pub struct BedrockAdapter {
    id: ProviderId,
    base: String,
    region: String,
    auth: BedrockAuth,
    headers: Vec<(String, String)>,
}

impl BedrockAdapter {
    /// An adapter at `base` (`https://bedrock-runtime.{region}.amazonaws.com`) for `region`.
    pub fn new(base: &str, region: &str, auth: BedrockAuth, headers: Vec<(String, String)>) -> Self {
        Self {
            id: ProviderId::new("bedrock"),
            base: base.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            auth,
            headers,
        }
    }

    /// The URL for a model id.
    pub fn url(&self, model: &str, stream: bool) -> String {
        let id = model.strip_prefix("converse/").unwrap_or(model);
        let op = if stream { "converse-stream" } else { "converse" };
        format!("{}/model/{}/{op}", self.base, crate::adapter::encode_path_segment(id))
    }
}

#[cfg(feature = "bedrock")]
fn sign(call: &mut HttpCall, region: &str, c: &AwsCredentials) -> Result<()> {
    sign_at(call, region, c, std::time::SystemTime::now())
}

/// Signs `call` as of `time` (a fixed time makes the signature a known answer in tests).
#[cfg(feature = "bedrock")]
fn sign_at(call: &mut HttpCall, region: &str, c: &AwsCredentials, time: std::time::SystemTime) -> Result<()> {
    let req = sigv4::Signable { method: "POST", url: call.url.as_str(), headers: &call.headers, body: &call.body };
    let scope = sigv4::Scope { region, service: "bedrock", time, sign_body: false };
    let added = sigv4::headers(req, scope, c)?;
    call.headers.extend(added);
    Ok(())
}

#[cfg(not(feature = "bedrock"))]
fn sign(_: &mut HttpCall, _: &str, _: &AwsCredentials) -> Result<()> {
    Err(llm_core::Error::config("sigv4 signing needs the `bedrock` feature of llm-providers; or use a bedrock api key"))
}

impl Adapter for BedrockAdapter {
    fn provider(&self) -> &ProviderId {
        &self.id
    }

    fn adjustments(&self, request: &ChatRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        crate::dialect::request_adjustments(request, Some(crate::dialect::anthropic), |t| {
            (t.strict == Some(true)).then_some(crate::dialect::anthropic as crate::dialect::NodeRewrite)
        })
    }

    fn build(&self, request: &ChatRequest, model: &str, stream: bool) -> Result<HttpCall> {
        #[cfg(not(feature = "bedrock"))]
        if stream {
            return Err(crate::framing::no_event_stream().with_provider("bedrock").with_model(model));
        }
        let body = encode::encode_request(request, model).map_err(|e| e.with_model(model))?;
        let mut call = HttpCall::new(self.url(model, stream), serde_json::to_vec(&body)?)
            .with_header("content-type", "application/json");
        if stream {
            call = call.with_header("accept", "application/vnd.amazon.eventstream");
        }
        call.headers.extend(self.headers.iter().cloned());
        match &self.auth {
            BedrockAuth::Bearer(k) => call = call.with_header("authorization", format!("Bearer {}", k.expose())),
            BedrockAuth::SigV4(c) => sign(&mut call, &self.region, c).map_err(|e| e.with_provider("bedrock"))?,
        }
        Ok(call)
    }

    fn build_embed(&self, request: &EmbeddingRequest, model: &str) -> Result<Vec<HttpCall>> {
        let id = model.strip_prefix("invoke/").unwrap_or(model);
        let family = embed::Family::of(id).ok_or_else(|| crate::embed::unsupported(&self.id, model))?;
        let url = format!("{}/model/{}/invoke", self.base, crate::adapter::encode_path_segment(id));
        let mut calls = Vec::new();
        for body in embed::encode_requests(request, id, family)? {
            let mut call = HttpCall::new(url.as_str(), body)
                .with_header("content-type", "application/json")
                .with_header("accept", "application/json");
            call.headers.extend(self.headers.iter().cloned());
            match &self.auth {
                BedrockAuth::Bearer(k) => call = call.with_header("authorization", format!("Bearer {}", k.expose())),
                BedrockAuth::SigV4(c) => sign(&mut call, &self.region, c).map_err(|e| e.with_provider("bedrock"))?,
            }
            calls.push(call);
        }
        Ok(calls)
    }

    fn embed_adjustments(&self, request: &EmbeddingRequest, _model: &str) -> Vec<llm_core::Adjustment> {
        crate::embed::dropped_user_and_base64(request, &self.id)
    }

    fn decode_embed(&self, answers: &[EmbedAnswer], req: &EmbeddingRequest, model: &str) -> Result<EmbeddingResponse> {
        let id = model.strip_prefix("invoke/").unwrap_or(model);
        let family = embed::Family::of(id).ok_or_else(|| crate::embed::unsupported(&self.id, model))?;
        embed::decode_responses(answers, req, id, family)
    }

    fn decode(&self, body: &[u8], model: &str) -> Result<ChatResponse> {
        decode::decode_response(body).map_err(|e| e.with_provider("bedrock").with_model(model))
    }

    fn framing(&self) -> Framing {
        Framing::AwsEventStream
    }

    fn stream_decoder(&self, model: &str) -> Box<dyn StreamDecoder> {
        Box::new(stream::BedrockStreamDecoder::new(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_encoded_in_the_path() {
        let a = BedrockAdapter::new(
            "https://bedrock-runtime.us-east-1.amazonaws.com",
            "us-east-1",
            BedrockAuth::Bearer(ApiKey::new("k")),
            vec![],
        );
        assert_eq!(
            a.url("converse/us.anthropic.claude-sonnet-4-5-20250929-v1:0", true),
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
        );
    }

    /// A known answer: the `Authorization` header for a fixed time, credentials and request, computed
    /// independently of this crate with Python's standard library (hashlib, hmac) from the SigV4 steps in AWS's
    /// documentation, by a script run once and pasted here. The same script reproduces AWS's published
    /// `get-vanilla` test-suite signature (5fa00fa3…fbf31), so it is not the code checking itself. The model
    /// id's `:` is `%3A` in the URL and `%253A` in the canonical request (non-S3 services encode twice).
    #[cfg(feature = "bedrock")]
    #[test]
    fn sigv4_signature_matches_an_independent_computation() {
        // 2015-08-30T12:36:00Z, the date of AWS's SigV4 test suite.
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let url =
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
        let cases = [
            (
                None,
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, \
                 Signature=b2d89376425920647b8197be6560da5f53c4d9cc5ac66b56efafa43ba66c9022",
            ),
            (
                Some("SESSIONTOKENEXAMPLE"),
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
                 Signature=476965635cb8635fcdec7ea4fe17bed9fd60c97afbad050544fc37df7e42ad39",
            ),
        ];
        for (token, expected) in cases {
            let creds = AwsCredentials::new("AKIDEXAMPLE", ApiKey::new(secret), token.map(ApiKey::new));
            let mut call = HttpCall::new(url, body.to_vec()).with_header("content-type", "application/json");
            sign_at(&mut call, "us-east-1", &creds, time).unwrap();
            assert_eq!(call.header("authorization"), Some(expected));
            assert_eq!(call.header("x-amz-date"), Some("20150830T123600Z"));
            assert_eq!(call.header("x-amz-security-token"), token);
        }
    }

    /// The adapter signs what it sends: the URL it builds, its body, and the current time.
    #[cfg(feature = "bedrock")]
    #[test]
    fn sigv4_headers_are_added() {
        let creds = AwsCredentials::new("AKIDEXAMPLE", ApiKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), None);
        let a = BedrockAdapter::new(
            "https://bedrock-runtime.us-east-1.amazonaws.com",
            "us-east-1",
            BedrockAuth::SigV4(creds),
            vec![],
        );
        let req = ChatRequest::new("anthropic.claude-3-haiku-20240307-v1:0", vec![llm_core::Message::user("hi")]);
        let call = a.build(&req, "anthropic.claude-3-haiku-20240307-v1:0", false).unwrap();
        assert_eq!(
            call.url,
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        let auth = call.header("authorization").unwrap();
        let date = call.header("x-amz-date").unwrap();
        assert_eq!(date.len(), 16, "{date}");
        let scope = format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/bedrock/aws4_request, ", &date[..8]);
        assert!(auth.starts_with(&scope), "{auth}");
        assert!(!format!("{call:?}").contains("AWS4-HMAC"));
    }
}
